"""The local geocoder: an in-memory index of imported addresses (BAN files).

The index keeps compact arrays, not one Python object per address or per word occurrence:

- addresses sorted by (street, number, repetition): street index, number, repetition code,
  lon/lat, and the ids as one fixed-width byte array;
- streets (a street name in one municipality and postcode) and places (a municipality and
  postcode), with the slice of their addresses and their point;
- one sorted vocabulary of words (numpy unicode array: exact words and prefixes are found by
  binary search), and postings from words to streets and to places in CSR form (offsets and
  targets sorted by word, so that every word of a prefix is one contiguous slice).

A département (100,000 addresses, a few thousand streets) builds in under a second and answers in
well under a millisecond; the layout holds for the tens of millions of addresses of France, where
the arrays grow linearly and a search costs a few passes over the streets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from essmap.geocoding.base import MAX_LIMIT, GeocodeResult
from essmap.geocoding.text import Query, fold, parse_query, words
from essmap.store import Store

_NUMBER_KEY: Final = 1_000_000  # street * _NUMBER_KEY + number orders addresses within streets
_PREFIX_END: Final = "\x7f"  # after every character of a folded word
_CANDIDATES: Final = 64  # best streets whose house numbers are looked up


#: A result and its sort key (smaller first).
_Ranked = tuple[tuple[float, ...], GeocodeResult]


@dataclass(frozen=True)
class _Postings:
    """Targets (streets or places) of each word, as CSR: ``targets[offsets[w]:offsets[w + 1]]``."""

    offsets: np.ndarray
    targets: np.ndarray

    @classmethod
    def build(cls, word_ids: np.ndarray, targets: np.ndarray, vocabulary_size: int) -> _Postings:
        order = np.lexsort((targets, word_ids))
        sorted_words = word_ids[order]
        offsets = np.searchsorted(sorted_words, np.arange(vocabulary_size + 1), side="left")
        return cls(offsets.astype(np.int64), targets[order].astype(np.int32))

    def mark(self, ranges: list[tuple[int, int]], size: int) -> np.ndarray:
        """A boolean mask of the targets of the words in the ranges of word ids."""
        mask = np.zeros(size, dtype=bool)
        for lo, hi in ranges:
            mask[self.targets[self.offsets[lo] : self.offsets[hi]]] = True
        return mask


def _token_pairs(names: pd.Series, vocabulary: dict[str, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(owner, word id) pairs of the words of each name, and each name's word count."""
    owners: list[int] = []
    ids: list[int] = []
    counts = np.zeros(len(names), dtype=np.int32)
    for n, name in enumerate(names.tolist()):
        distinct = sorted({vocabulary[w] for w in words(name)})
        owners += [n] * len(distinct)
        ids += distinct
        counts[n] = len(distinct)
    return np.asarray(owners, dtype=np.int64), np.asarray(ids, dtype=np.int64), counts


class LocalGeocoder:
    """Geocoder over an address table (:data:`essmap.store.addresses.ADDRESS_COLUMNS`).

    Accents, case, punctuation and abbreviations (``av.``, ``bd``, ``st``, ``pl.``…) are ignored;
    the last word may be a prefix (autocompletion); a postcode alone gives that postcode's
    municipalities. Results are ranked: an address with the exact house number first, then by how
    much of the street or municipality name the text covers, streets before municipalities, larger
    streets first.
    """

    def __init__(self, addresses: pd.DataFrame) -> None:
        frame = addresses.reset_index(drop=True)
        street = frame["street"].astype("string").fillna("")
        postcode = frame["postcode"].astype("string").fillna("")
        citycode = frame["citycode"].astype("string").fillna("")
        city = frame["city"].astype("string").fillna("")
        place_of_address, _ = pd.factorize(postcode + "|" + citycode + "|" + city)
        street_of_address, _ = pd.factorize(street + "|" + pd.Series(place_of_address).astype(str))
        parts = frame["housenumber"].astype("string").fillna("").str.extract(r"^\s*(\d+)\s*(.*?)\s*$")
        number = pd.to_numeric(parts[0], errors="coerce").fillna(-1).astype(np.int64).to_numpy()
        repetition_text = parts[1].fillna("").str.lower()
        repetition, self._repetitions = pd.factorize(repetition_text)
        order = np.lexsort((repetition, number, street_of_address))
        self._street = street_of_address[order].astype(np.int32)
        self._number = number[order].astype(np.int32)
        self._repetition = repetition[order].astype(np.int16)
        self._lon = frame["lon"].to_numpy(dtype=np.float64)[order]
        self._lat = frame["lat"].to_numpy(dtype=np.float64)[order]
        ids = frame["id"].astype("string").fillna("").to_numpy(dtype=str)
        self._ids = np.char.encode(ids, "utf-8")[order]  # fixed-width bytes: no object per address
        self._key = self._street.astype(np.int64) * _NUMBER_KEY + np.maximum(self._number, 0)

        n_streets = int(street_of_address.max()) + 1 if len(frame) else 0
        n_places = int(place_of_address.max()) + 1 if len(frame) else 0
        first_of_street = np.unique(street_of_address, return_index=True)[1]
        first_of_place = np.unique(place_of_address, return_index=True)[1]
        self._street_name = street.to_numpy(dtype=object)[first_of_street]
        self._street_place = place_of_address[first_of_street].astype(np.int32)
        self._place_postcode = postcode.to_numpy(dtype=str)[first_of_place]
        self._place_citycode = citycode.to_numpy(dtype=object)[first_of_place]
        self._place_city = city.to_numpy(dtype=object)[first_of_place]
        self._street_start = np.searchsorted(self._street, np.arange(n_streets), side="left")
        self._street_end = np.searchsorted(self._street, np.arange(n_streets), side="right")
        self._street_size = (self._street_end - self._street_start).astype(np.int32)
        middle = self._street_start + self._street_size // 2
        self._street_lon, self._street_lat = self._lon[middle], self._lat[middle]
        per_place = np.bincount(place_of_address, minlength=n_places)
        self._place_size = per_place.astype(np.int32)
        with np.errstate(invalid="ignore"):
            lon, lat = frame["lon"].to_numpy(float), frame["lat"].to_numpy(float)
            self._place_lon = np.bincount(place_of_address, lon, n_places) / per_place
            self._place_lat = np.bincount(place_of_address, lat, n_places) / per_place

        street_names = pd.Series(self._street_name, dtype=object)
        city_names = pd.Series(self._place_city, dtype=object)
        names = (*street_names.unique(), *city_names.unique())
        unique_words = sorted({w for name in names for w in words(name)})
        self._vocabulary = np.asarray(unique_words, dtype=str)
        lookup = {w: i for i, w in enumerate(unique_words)}
        owners, ids, self._street_words = _token_pairs(street_names, lookup)
        self._streets_of = _Postings.build(ids, owners, len(unique_words))
        owners, ids, self._place_words = _token_pairs(city_names, lookup)
        self._places_of = _Postings.build(ids, owners, len(unique_words))
        postcode_order = np.argsort(self._place_postcode, kind="stable")
        self._postcodes = self._place_postcode[postcode_order]
        self._postcode_places = postcode_order.astype(np.int32)

    @classmethod
    def from_store(cls, store: Store) -> LocalGeocoder:
        """The index of the addresses a store holds (``store.load_addresses()``)."""
        return cls(store.load_addresses())

    def __len__(self) -> int:
        """How many addresses the index holds."""
        return len(self._street)

    @property
    def street_count(self) -> int:
        """How many streets (a street name in one municipality and postcode) the index holds."""
        return len(self._street_size)

    @property
    def nbytes(self) -> int:
        """Memory held by the index's arrays, in bytes (street and city names not counted)."""
        arrays = [v for v in vars(self).values() if isinstance(v, np.ndarray) and v.dtype != object]
        postings = [self._streets_of, self._places_of]
        return sum(a.nbytes for a in arrays) + sum(p.offsets.nbytes + p.targets.nbytes for p in postings)

    # --- lookups -------------------------------------------------------------------------------

    def _exact(self, word: str) -> list[tuple[int, int]]:
        i = int(np.searchsorted(self._vocabulary, word))
        return [(i, i + 1)] if i < len(self._vocabulary) and self._vocabulary[i] == word else []

    def _prefix(self, word: str) -> list[tuple[int, int]]:
        lo = int(np.searchsorted(self._vocabulary, word, side="left"))
        hi = int(np.searchsorted(self._vocabulary, word + _PREFIX_END, side="left"))
        return [(lo, hi)] if hi > lo else []

    def _postcode_places_mask(self, query: Query) -> np.ndarray | None:
        code = query.postcode or query.postcode_prefix
        if code is None:
            return None
        lo = int(np.searchsorted(self._postcodes, code, side="left"))
        end = code if query.postcode else code + _PREFIX_END
        hi = int(np.searchsorted(self._postcodes, end, side="right" if query.postcode else "left"))
        mask = np.zeros(len(self._place_size), dtype=bool)
        mask[self._postcode_places[lo:hi]] = True
        return mask

    def search(self, text: str, *, limit: int = 5, autocomplete: bool = True) -> list[GeocodeResult]:
        """The best places for ``text``, best first; see :meth:`essmap.geocoding.Geocoder.search`."""
        limit = max(1, min(int(limit), MAX_LIMIT))
        query = parse_query(text, autocomplete=autocomplete)
        if query.empty or not len(self):
            return []
        n_streets, n_places = len(self._street_size), len(self._place_size)
        word_ranges = [self._exact(w) for w in query.words]
        if query.prefix is not None:
            word_ranges.append(
                self._prefix(query.prefix) + (self._exact(query.prefix_word) if query.prefix_word else [])
            )
        if any(not ranges for ranges in word_ranges):
            return []  # a word that no street or municipality holds: nothing matches every word
        place_ok = self._postcode_places_mask(query)
        place_all = np.ones(n_places, dtype=bool) if place_ok is None else place_ok.copy()
        street_all = np.ones(n_streets, dtype=bool)
        name_hits = np.zeros(n_streets, dtype=np.int32)
        city_hits = np.zeros(n_places, dtype=np.int32)
        for ranges in word_ranges:
            in_name = self._streets_of.mark(ranges, n_streets)
            in_city = self._places_of.mark(ranges, n_places)
            name_hits += in_name
            city_hits += in_city
            street_all &= in_name | in_city[self._street_place]
            place_all &= in_city
        if place_ok is not None:
            street_all &= place_ok[self._street_place]
        prefix_exact = np.zeros(n_streets, dtype=bool)
        if query.prefix is not None:
            exact = self._exact(query.prefix) + (self._exact(query.prefix_word) if query.prefix_word else [])
            prefix_exact = self._streets_of.mark(exact, n_streets)
        streets = np.flatnonzero(street_all & (name_hits > 0))
        results: list[_Ranked] = []
        if len(streets):
            coverage = name_hits[streets] / np.maximum(self._street_words[streets], 1)
            coverage = np.minimum(coverage, 1)
            # best coverage of the street name first, then the typed word in full, then larger streets
            ranking = np.lexsort((-self._street_size[streets], ~prefix_exact[streets], -coverage))
            best = streets[ranking[:_CANDIDATES]]
            results += self._street_results(best, coverage[ranking[:_CANDIDATES]], query)
        if word_ranges or place_ok is not None:
            places = np.flatnonzero(place_all) if word_ranges else np.flatnonzero(place_ok)  # type: ignore[arg-type]
            results += self._place_results(places, city_hits, bool(word_ranges))
        results.sort(key=lambda pair: pair[0])
        return [result for _, result in results[:limit]]

    # --- results -------------------------------------------------------------------------------

    def _street_results(self, streets: np.ndarray, coverage: np.ndarray, query: Query) -> list[_Ranked]:
        out: list[_Ranked] = []
        for rank, (s, cover) in enumerate(zip(streets.tolist(), coverage.tolist(), strict=True)):
            place = int(self._street_place[s])
            name, postcode = str(self._street_name[s]), str(self._place_postcode[place])
            city = str(self._place_city[place])
            citycode = str(self._place_citycode[place])
            common = {"street": name, "postcode": postcode, "citycode": citycode, "city": city}
            address = self._address_of(s, query) if query.housenumber is not None else None
            if address is not None:
                row, exact_repetition = address
                number = self._housenumber(row)
                score = round(0.6 + 0.4 * cover - (0 if exact_repetition else 0.05), 3)
                result = GeocodeResult(
                    f"{number} {name} {postcode} {city}",
                    score,
                    "housenumber",
                    float(self._lon[row]),
                    float(self._lat[row]),
                    housenumber=number,
                    id=self._ids[row].decode("utf-8"),
                    **common,
                )
                out.append(((0, 0 if exact_repetition else 1, -cover, 0, rank), result))
                continue
            result = GeocodeResult(
                f"{name} {postcode} {city}",
                round(0.3 + 0.5 * cover, 3),
                "street",
                float(self._street_lon[s]),
                float(self._street_lat[s]),
                **common,
            )
            out.append(((1, 0, -cover, 0, rank), result))
        return out

    def _place_results(self, places: np.ndarray, city_hits: np.ndarray, by_words: bool) -> list[_Ranked]:
        if not len(places):
            return []
        coverage = np.ones(len(places))
        if by_words:
            coverage = np.minimum(city_hits[places] / np.maximum(self._place_words[places], 1), 1)
        order = np.lexsort((-self._place_size[places], -coverage))[:MAX_LIMIT]
        out: list[_Ranked] = []
        for rank, i in enumerate(order.tolist()):
            p, cover = int(places[i]), float(coverage[i])
            if math.isnan(self._place_lon[p]):
                continue
            postcode, city = str(self._place_postcode[p]), str(self._place_city[p])
            result = GeocodeResult(
                f"{postcode} {city}",
                round(0.3 + 0.5 * cover, 3),
                "municipality",
                float(self._place_lon[p]),
                float(self._place_lat[p]),
                postcode=postcode,
                citycode=str(self._place_citycode[p]),
                city=city,
            )
            # ranked with the streets by how much of the name the text covers; streets first on a tie
            out.append(((1, 0, -cover, 1, rank), result))
        return out

    def _address_of(self, street: int, query: Query) -> tuple[int, bool] | None:
        """The address of a street with the query's house number (and repetition, if any)."""
        key = street * _NUMBER_KEY + int(query.housenumber or 0)
        lo = int(np.searchsorted(self._key, key, side="left"))
        hi = int(np.searchsorted(self._key, key, side="right"))
        if hi <= lo:
            return None
        wanted = fold(query.repetition)
        for row in range(lo, hi):
            if str(self._repetitions[self._repetition[row]]) == wanted:
                return row, True
        return lo, False

    def _housenumber(self, row: int) -> str:
        repetition = str(self._repetitions[self._repetition[row]])
        return f"{self._number[row]} {repetition}".strip()
