"""The street network: reading OpenStreetMap extracts, the graph, snapping, and its place in the store."""

from __future__ import annotations

import sqlite3
import zipfile
from pathlib import Path

import numpy as np
import osmium
import pytest
import shapely

from essmap.errors import InvalidInputError, StoreError
from essmap.importing import import_network
from essmap.model import LAMBERT93
from essmap.network import network_from_store, network_from_ways, network_info, save_network
from essmap.network.graph import SEGMENT_MAX_M, StreetNetwork
from essmap.sources.osm import is_walkable, walkable_ways_from_osm
from essmap.store import GeoPackageStore
from essmap.store.base import Store
from tests.network_support import X0, Y0, lonlat, river_osm, write_osm


@pytest.fixture
def river(tmp_path: Path) -> Path:
    return river_osm(tmp_path / "river.osm")


def river_network(path: Path) -> StreetNetwork:
    return network_from_ways(walkable_ways_from_osm(path))


@pytest.mark.parametrize(
    ("tags", "walkable"),
    [
        ({"highway": "footway"}, True),
        ({"highway": "residential"}, True),
        ({"highway": "steps"}, True),
        ({"highway": "motorway"}, False),
        ({"highway": "construction"}, False),
        ({"highway": "cycleway"}, False),  # French law keeps pedestrians off unless signed
        ({"highway": "cycleway", "foot": "yes"}, True),
        ({"highway": "trunk"}, False),
        ({"highway": "trunk", "sidewalk": "both"}, True),
        ({"highway": "residential", "foot": "no"}, False),
        ({"highway": "primary", "foot": "use_sidepath"}, False),
        ({"highway": "service", "access": "private"}, False),
        ({"highway": "service", "access": "private", "foot": "permissive"}, True),
        ({"waterway": "river"}, False),
        ({"route": "ferry"}, False),
    ],
)
def test_which_ways_a_pedestrian_may_use(tags: dict[str, str], walkable: bool) -> None:
    assert is_walkable(tags) is walkable


def test_the_river_extract_keeps_the_banks_and_the_bridge(river: Path) -> None:
    ways = walkable_ways_from_osm(river)
    assert ways.highway_ways == 4  # the motorway is read and left out, the river has no highway tag
    assert ways.walkable_ways == 3
    assert ways.warnings == []
    net = network_from_ways(ways)
    assert net.crs == LAMBERT93  # the one metric-CRS rule: Bayonne is in mainland France
    # two quays of 1000 m and a bridge of 200 m (coordinates are rounded to 1e-7 degree, about 1 cm)
    assert net.info.length_m == pytest.approx(2200, abs=0.2)
    assert net.segment_length_m.max() <= SEGMENT_MAX_M + 1e-6
    assert net.info.source == "river.osm"
    corners = np.array([lonlat(x, y) for x in (0, 1000) for y in (-100, 100)])
    expected = (*corners.min(axis=0), *corners.max(axis=0))
    assert net.info.bbox == pytest.approx(expected, abs=2e-7)


def test_snapping_finds_the_nearest_segment_exactly(river: Path) -> None:
    net = river_network(river)
    rng = np.random.default_rng(7)
    pts = np.column_stack([rng.uniform(-300, 1300, 400) + X0, rng.uniform(-400, 400, 400) + Y0])
    snap = net.snap(pts)
    lines = shapely.linestrings(net.node_xy[net.segment_nodes])
    brute = shapely.distance(shapely.points(pts)[:, None], lines[None, :])
    assert np.allclose(snap.distance_m, brute.min(axis=1), atol=1e-9)
    where = net.point_at(snap.segment, snap.offset_m)
    assert np.allclose(np.hypot(*(where - pts).T), snap.distance_m, atol=1e-9)


def test_a_way_cut_at_the_border_of_the_extract_is_split_there(tmp_path: Path) -> None:
    nodes = {1: (0.0, 0.0), 2: (100.0, 0.0), 4: (300.0, 0.0), 5: (400.0, 0.0)}
    path = write_osm(tmp_path / "cut.osm", nodes, [([1, 2, 3, 4, 5], {"highway": "footway"})])
    ways = walkable_ways_from_osm(path)
    assert ways.ways == 2  # 1-2 and 4-5: node 3 is missing, nothing joins 2 to 4
    assert ways.missing_nodes == 1
    assert "absents de l'extrait" in str(ways.warnings[0])
    net = network_from_ways(ways)
    assert net.info.length_m == pytest.approx(200, abs=0.05)
    assert net.info.components_dropped == 0  # each part holds half of the length: neither is dropped


def test_a_small_unconnected_part_is_left_out(tmp_path: Path) -> None:
    nodes = {i: (100.0 * i, 0.0) for i in range(21)} | {100: (0.0, 500.0), 101: (5.0, 500.0)}
    ways = [(list(range(21)), {"highway": "residential"}), ([100, 101], {"highway": "footway"})]
    net = network_from_ways(walkable_ways_from_osm(write_osm(tmp_path / "islands.osm", nodes, ways)))
    assert net.info.components_dropped == 1
    assert net.info.length_m == pytest.approx(2000, abs=0.2)


def test_pbf_and_zip_extracts_give_the_same_network(river: Path, tmp_path: Path) -> None:
    pbf = tmp_path / "river.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(river)):
            writer.add(obj)
    archive = tmp_path / "river.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(pbf, "extrait/river.osm.pbf")
    xml, binary, zipped = (river_network(p) for p in (river, pbf, archive))
    for other in (binary, zipped):
        assert np.array_equal(other.node_xy, xml.node_xy)
        assert np.array_equal(other.segment_nodes, xml.segment_nodes)
    assert zipped.info.source == "river.osm.pbf"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.osm", None, "fichier introuvable"),
        ("empty.osm", b"", "le fichier est vide"),
        ("roads.txt", b"hello", "format non pris en charge"),
        ("broken.osm", b'<?xml version="1.0"?><osm version="0.6"><node id="1" lat="x"', "illisible"),
        ("notes.zip", None, "un seul fichier de données"),
        ("water.osm", None, "aucune voie praticable à pied"),
    ],
)
def test_a_bad_extract_is_refused_naming_the_file(
    tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    if name == "notes.zip":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("readme.txt", "pas de données")
    if name == "water.osm":
        write_osm(path, {1: (0, 0), 2: (10, 0)}, [([1, 2], {"waterway": "river"})])
    with pytest.raises(InvalidInputError, match=message) as err:
        walkable_ways_from_osm(path)
    assert err.value.problems[0].file is not None
    assert name in err.value.problems[0].file


def test_the_network_is_kept_in_the_store_and_changes_the_revision(river: Path, any_store: Store) -> None:
    assert network_from_store(any_store) is None
    assert network_info(any_store) is None
    before = any_store.revision()
    report = import_network(any_store, river)
    assert report.kind == "network"
    assert report.read == 3
    assert any_store.revision() != before  # caches refresh
    loaded = network_from_store(any_store)
    fresh = river_network(river)
    assert loaded is not None
    assert np.array_equal(loaded.node_xy, fresh.node_xy)
    assert np.array_equal(loaded.segment_nodes, fresh.segment_nodes)
    assert np.array_equal(loaded.segment_length_m, fresh.segment_length_m)
    assert report.created == loaded.info.segments == len(fresh)
    info = network_info(any_store)
    assert info == loaded.info
    # a second import replaces the first whole, in one transaction
    first_id = info.network_id
    import_network(any_store, river)
    again = network_info(any_store)
    assert again is not None
    assert again.network_id != first_id
    again_net = network_from_store(any_store)
    assert again_net is not None
    assert len(again_net) == len(fresh)


def test_arrays_larger_than_one_part_are_cut_and_joined(
    any_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import essmap.store.network as stored

    monkeypatch.setattr(stored, "PART_BYTES", 1000)
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 1000, (600, 2))  # 9,600 bytes: ten parts
    pairs = np.column_stack([np.arange(599), np.arange(1, 600)]).astype(np.int32)
    lengths = np.hypot(*(xy[1:] - xy[:-1]).T)
    any_store.replace_street_network(
        {"node_xy": xy, "segment_nodes": pairs, "segment_length_m": lengths}, {"note": "essai"}
    )
    loaded = any_store.load_street_network()
    assert loaded is not None
    arrays, meta = loaded
    assert np.array_equal(arrays["node_xy"], xy)
    assert np.array_equal(arrays["segment_nodes"], pairs)
    assert meta["note"] == "essai"
    assert meta["arrays"]["node_xy"] == {"dtype": "<f8", "shape": [600, 2]}


def test_a_damaged_network_is_a_clear_store_error(river: Path, demo_store: GeoPackageStore) -> None:
    import_network(demo_store, river)
    with sqlite3.connect(demo_store.path) as conn:
        conn.execute("DELETE FROM street_network WHERE name = 'node_xy' AND part = 0")
    with pytest.raises(StoreError, match="réseau de rues endommagé"):
        network_from_store(demo_store)


def test_save_network_round_trip(river: Path, demo_store: Store) -> None:
    net = river_network(river)
    save_network(demo_store, net)
    loaded = network_from_store(demo_store)
    assert loaded is not None
    assert loaded.info == net.info
    assert loaded.snap(np.array([[X0 + 100, Y0 + 110]])).distance_m[0] == pytest.approx(10, abs=0.05)
