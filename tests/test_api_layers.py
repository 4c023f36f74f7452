"""What the API prepares per store revision (api.layers): each feature's GeoJSON is written when
first asked for, exactly as writing them all at once would, and the actors are read from the store
once per revision for both their collection and the spatial index (issue 10, item 2: a rebuild
after an import must cost little)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import shapely

from api import create_app
from api.geojson import feature_json, geometries_json, records
from api.layers import COLLECTIONS, CollectionSource, actor_properties
from essmap.model import ACTOR_COLUMNS, actor_frame
from essmap.store import open_store
from tests.api_support import background_server, populate


def test_features_written_on_first_use_are_those_written_all_at_once(tmp_path: Path) -> None:
    settings = populate(tmp_path / "data")
    store = open_store(settings)
    try:
        for spec in COLLECTIONS.values():
            source = CollectionSource.load(spec, store)
            table = source.table
            # every feature written at once, the way the API did before
            geometries = geometries_json(table.geometry.to_numpy())
            rows = records(table, ACTOR_COLUMNS if spec.id == "actors" else None)
            props = [actor_properties(r) for r in rows] if spec.id == "actors" else rows
            expected = [feature_json(i, g, p) for i, g, p in zip(source.ids, geometries, props, strict=True)]
            n = len(expected)
            assert n == len(source.texts) > 3
            # asked for in a scattered order, some twice, one at a time and in groups
            order = [n - 1, 0, n // 2, 0, *range(n)]
            got = [source.texts[r] for r in order[:4]] + source.texts.many(order[4:])
            assert got == [expected[r] for r in order]
            for text in got:
                assert json.loads(text)["type"] == "Feature"
    finally:
        store.close()


def test_an_unlocated_actor_is_written_with_a_null_geometry(tmp_path: Path) -> None:
    settings = populate(tmp_path / "data")
    store = open_store(settings)
    try:
        source = CollectionSource.load(COLLECTIONS["actors"], store)
    finally:
        store.close()
    feature = json.loads(source.texts[source.row_of["unlocated-extra"]])
    assert feature["geometry"] is None
    assert feature["properties"]["name"] == "Association sans adresse"
    located = json.loads(source.texts[source.row_of["fiji-east"]])
    assert located["geometry"] == {"type": "Point", "coordinates": [179.9, -16.8]}


def test_the_actors_are_read_once_per_revision_for_the_index_and_their_collection(tmp_path: Path) -> None:
    settings = populate(tmp_path / "data")
    app = create_app(settings)
    point = (-1.4611, 43.4961)
    with background_server(app) as url:
        cache = app.state.cache
        assert cache.builds[("source", "actors")] == 1  # at start-up, for both
        store = open_store(settings)
        frame = pd.DataFrame({"id": ["nouvelle-amap"], "name": ["Nouvelle AMAP"], "category": ["amap"]})
        store.upsert_actors(actor_frame(frame, [shapely.Point(*point)]))
        store.close()
        box = f"{point[0] - 0.001},{point[1] - 0.001},{point[0] + 0.001},{point[1] + 0.001}"
        deadline = time.monotonic() + 60
        while True:  # each answered from the previous revision until its rebuild is done
            near = httpx.get(f"{url}/nearest?lon={point[0]}&lat={point[1]}&k=1", timeout=30).json()
            items = httpx.get(f"{url}/collections/actors/items?bbox={box}", timeout=30).json()
            ids = [f["id"] for f in items["features"]]
            if near["features"][0]["id"] == "nouvelle-amap" and "nouvelle-amap" in ids:
                break
            assert time.monotonic() < deadline, "the new actor was never answered"
            time.sleep(0.05)
        assert cache.builds[("proximity",)] == 2
        assert cache.builds[("collection", "actors")] == 2
        assert cache.builds[("source", "actors")] == 2  # once more for the new revision, shared
        # both answers carry the same Feature for the actor, with the members each adds
        hit = near["features"][0]
        item = items["features"][ids.index("nouvelle-amap")]
        assert hit["geometry"] == item["geometry"] == {"type": "Point", "coordinates": list(point)}
        assert hit["properties"]["name"] == item["properties"]["name"] == "Nouvelle AMAP"
        assert np.isclose(hit["properties"]["distance_m"], 0.0)
        assert "distance_m" not in item["properties"]
