"""The one metric-CRS rule, and which query points essmap serves."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from essmap.analysis.zones import NEAR_TERRITORY_DEG, answering_zones, outside_territory_error, served_mask
from essmap.errors import InvalidParameterError, OutsideTerritoryError
from essmap.geo import TERRITORIES, metric_crs, metric_crs_of
from essmap.model import LAMBERT93, WGS84
from tests.engine_support import ZONES


@pytest.mark.parametrize(
    ("lon", "lat", "expected"),
    [
        (-1.4748, 43.4929, LAMBERT93),  # Bayonne
        (8.7369, 41.9192, LAMBERT93),  # Ajaccio, Corsica
        (2.3522, 48.8566, LAMBERT93),  # Paris
        *[(lon, lat, crs) for (lon, lat), crs in ZONES.values()],
        (180.0, 10.0, "EPSG:32660"),  # longitude 180 is in zone 60, not 61
        (180.0, -10.0, "EPSG:32760"),
        (-180.0, 10.0, "EPSG:32601"),
        (179.999, -89.0, "EPSG:32760"),
        (-174.0, 0.0, "EPSG:32602"),  # latitude 0 counts as north; -174 starts zone 2
        (-174.000001, -0.000001, "EPSG:32701"),
        (-6.0, 47.0, "EPSG:32630"),  # at sea off Brittany: outside every territory
        (43.49, -1.47, "EPSG:32738"),  # Bayonne with longitude and latitude swapped
    ],
)
def test_metric_crs_of_a_point(lon: float, lat: float, expected: str) -> None:
    assert metric_crs(lon, lat) == expected
    assert metric_crs(np.array([lon]), np.array([lat])).tolist() == [expected]


@settings(max_examples=200, deadline=None)
@given(
    lon=st.floats(min_value=-180, max_value=180) | st.sampled_from([-61.9, -5.8, 10.0, 55.9, 180.0]),
    lat=st.floats(min_value=-90, max_value=90) | st.sampled_from([-21.5, 0.0, 41.2, 51.3]),
)
def test_one_point_and_arrays_follow_the_same_rule(lon: float, lat: float) -> None:
    scalar = metric_crs(lon, lat)
    assert metric_crs(np.array([lon, 0.0]), np.array([lat, 0.0]))[0] == scalar
    territory = [t for t in TERRITORIES if t.bbox[0] <= lon <= t.bbox[2] and t.bbox[1] <= lat <= t.bbox[3]]
    if territory:
        assert scalar == territory[0].metric_crs
    else:
        zone = int(scalar[-2:])
        assert 1 <= zone <= 60
        assert scalar[:-2] == ("EPSG:326" if lat >= 0 else "EPSG:327")
        # (lon + 180) is rounded: a longitude of -1e-146 is 0 there, in zone 31
        assert -180 + 6 * (zone - 1) - 1e-9 <= lon <= -180 + 6 * zone + 1e-9


def test_metric_crs_of_a_table() -> None:
    points = gpd.GeoDataFrame(geometry=[shapely.Point(55.3, -21.0), shapely.Point(55.6, -21.2)], crs=WGS84)
    assert metric_crs_of(points) == "EPSG:2975"
    assert metric_crs_of(points.to_crs("EPSG:2975")) == "EPSG:2975"  # read in WGS 84 whatever the CRS
    assert metric_crs_of(gpd.GeoDataFrame(geometry=[shapely.Point(180.0, 5.0)], crs=WGS84)) == "EPSG:32660"


def test_answering_zones_prefer_the_point_zone_then_a_near_territory() -> None:
    lon = np.array([-1.47, 55.45, -6.0, -6.0, -73.57, -74.0, -20.0, 45.23])
    lat = np.array([43.49, -20.88, 47.0, 47.0, 45.5, 40.7, 40.0, -12.78])
    available = {LAMBERT93, "EPSG:2975", "EPSG:32618"}
    got = answering_zones(lon, lat, available).tolist()
    assert got == [
        LAMBERT93,
        "EPSG:2975",
        LAMBERT93,  # at sea, 0.2° off mainland France: answered there
        LAMBERT93,
        "EPSG:32618",  # data imported in Montréal's zone
        "EPSG:32618",  # New York shares it
        "",  # mid-Atlantic
        "",  # Mayotte holds no data: not answered from another territory
    ]
    # with data in its own UTM zone, the point off Brittany is answered there
    assert answering_zones(np.array([-6.0]), np.array([47.0]), {LAMBERT93, "EPSG:32630"}).tolist() == [
        "EPSG:32630"
    ]


def test_served_points_are_in_or_near_a_territory_or_in_a_zone_with_data() -> None:
    margin = NEAR_TERRITORY_DEG
    lon = np.array([-1.47, -5.8 - margin + 0.01, -5.8 - margin - 0.01, 45.23, 43.49, -73.57, 180.0])
    lat = np.array([43.49, 47.0, 47.0, -12.78, -1.47, 45.5, -16.5])
    assert served_mask(lon, lat, set()).tolist() == [True, True, False, True, False, False, False]
    assert served_mask(lon, lat, {"EPSG:32618", "EPSG:32760"}).tolist() == [
        True,
        True,
        False,
        True,
        False,
        True,
        True,
    ]
    assert served_mask(np.empty(0), np.empty(0), set()).shape == (0,)


def test_outside_territory_error_lists_the_territories_and_suggests_a_swap() -> None:
    error = outside_territory_error(43.49, -1.47)
    assert isinstance(error, OutsideTerritoryError)
    assert isinstance(error, InvalidParameterError)
    assert error.parameter == "lon"
    assert str(error) == (
        "champ « lon » : le point (lon 43.49, lat -1.47) est hors des territoires servis par essmap "
        "(France métropolitaine, Guadeloupe, Martinique, Guyane, La Réunion, Mayotte) ; "
        "longitude et latitude inversées ? (-1.47, 43.49) est en France métropolitaine"
    )
    assert "inversées" not in str(outside_territory_error(-30.0, 40.0))  # (40, -30): at sea
    assert "inversées" not in str(outside_territory_error(120.0, 10.0))  # a latitude of 120 is no point
