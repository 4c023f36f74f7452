from essmap.store import GeoPackageStore


def test_demo_store_has_the_bayonne_set(demo_store: GeoPackageStore) -> None:
    actors = demo_store.load_actors()
    assert len(demo_store.load_neighbourhoods()) == 2
    assert len(actors) == 15
    assert int(actors.geometry.notna().sum()) == 11
