"""BAN-format address files written by the tests and the benchmark.

The columns and their order are those of the published ``adresses-<département>.csv`` files
(semicolon-separated, UTF-8). The rows are made up for the tests: the street and commune names
are real names of the Bayonne area, the positions are placed near Bayonne and are not official.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np

#: The header of a published BAN address file (département CSV).
BAN_HEADER = (
    *("id", "id_fantoir", "numero", "rep", "nom_voie", "code_postal", "code_insee", "nom_commune"),
    *("code_insee_ancienne_commune", "nom_ancienne_commune", "x", "y", "lon", "lat", "type_position"),
    *("alias", "nom_ld", "libelle_acheminement", "nom_afnor", "source_position", "source_nom_voie"),
    *("certification_commune", "cad_parcelles"),
)

#: (citycode, postcode, name) of communes of the Bayonne area.
COMMUNES = (
    ("64102", "64100", "Bayonne"),
    ("64024", "64600", "Anglet"),
    ("64122", "64200", "Biarritz"),
    ("64140", "64340", "Boucau"),
    ("64496", "64990", "Saint-Pierre-d'Irube"),
)

#: (street, citycode, numbers as (numero, rep), lon, lat of the first number).
SMALL_SET: tuple[tuple[str, str, tuple[tuple[int, str], ...], float, float], ...] = (
    ("Avenue de Lattre de Tassigny", "64102", ((10, ""), (12, ""), (14, ""), (16, "")), -1.4741, 43.4995),
    ("Rue des Tonneliers", "64102", ((1, ""), (3, ""), (3, "bis"), (5, ""), (7, "")), -1.4722, 43.4916),
    ("Place des Gascons", "64102", ((1, ""), (2, "")), -1.4571, 43.5049),
    ("Chemin de Loustaounaou", "64102", ((34, ""), (36, ""), (38, "")), -1.4592, 43.4742),
    ("Avenue du Maréchal Juin", "64102", ((2, ""), (4, ""), (6, "")), -1.4655, 43.4950),
    ("Allées Paulmy", "64102", ((1, ""), (3, "")), -1.4760, 43.4930),
    ("Avenue de l'Aviation", "64102", ((5, ""),), -1.4900, 43.4880),
    ("Route de Bayonne", "64024", ((1, ""), (3, ""), (5, "")), -1.5000, 43.4900),
    ("Boulevard du BAB", "64024", ((20, ""), (22, "")), -1.5100, 43.4950),
    ("Avenue de la Marne", "64122", ((8, ""), (10, "")), -1.5500, 43.4800),
    ("Rue du 8 Mai 1945", "64140", ((4, ""), (6, "")), -1.4850, 43.5300),
    ("Rue de l'Église", "64496", ((1, ""), (2, "")), -1.4550, 43.4770),
    ("Rue Saint-Esprit", "64496", ((2, ""), (4, "")), -1.4560, 43.4780),
    ("Rue Saint-Esprit Prolongée", "64496", ((2, ""), (4, ""), (6, ""), (8, "")), -1.4570, 43.4790),
)


def ban_rows(
    streets: Iterable[tuple[str, str, Sequence[tuple[int, str]], float, float]],
) -> list[dict[str, str]]:
    """BAN rows for streets given as (name, citycode, numbers, lon, lat); numbers step 10 m east."""
    communes = {code: (postcode, name) for code, postcode, name in COMMUNES}
    rows = []
    for s, (street, citycode, numbers, lon, lat) in enumerate(streets):
        postcode, city = communes[citycode]
        for k, (numero, rep) in enumerate(numbers):
            suffix = f"_{rep}" if rep else ""
            rows.append(
                {
                    "id": f"{citycode}_{s:04d}_{numero:05d}{suffix}",
                    "id_fantoir": f"{citycode}_{s:04d}",
                    "numero": str(numero),
                    "rep": rep,
                    "nom_voie": street,
                    "code_postal": postcode,
                    "code_insee": citycode,
                    "nom_commune": city,
                    "lon": f"{lon + 0.000125 * k:.6f}",
                    "lat": f"{lat:.6f}",
                    "type_position": "entrée",
                    "libelle_acheminement": city.upper(),
                    "source_position": "commune",
                    "source_nom_voie": "commune",
                    "certification_commune": "1",
                }
            )
    return rows


def ban_text(rows: Iterable[dict[str, str]], *, header: Sequence[str] = BAN_HEADER) -> str:
    """BAN rows as the published CSV text (semicolons, every column of the header)."""
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=list(header), delimiter=";", lineterminator="\n", extrasaction="ignore"
    )
    writer.writeheader()
    for row in rows:
        writer.writerow({column: row.get(column, "") for column in header})
    return out.getvalue()


def write_ban(path: Path, rows: Iterable[dict[str, str]], *, header: Sequence[str] = BAN_HEADER) -> Path:
    path.write_text(ban_text(rows, header=header), encoding="utf-8")
    return path


_TYPES = ("Rue", "Avenue", "Boulevard", "Chemin", "Impasse", "Allée", "Place", "Route", "Quai", "Square")
_NAMES = (
    "Jean Jaurès",
    "Victor Hugo",
    "du Général de Gaulle",
    "du Maréchal Foch",
    "de la Paix",
    "des Tonneliers",
    "Pannecau",
    "des Arènes",
    "de l'Adour",
    "de la Nive",
    "Saint-Esprit",
    "Sainte-Croix",
    "des Écoles",
    "du Moulin",
    "de la Gare",
    "des Lilas",
    "des Pins",
    "du Stade",
    "de Mounédé",
    "Maubec",
    "des Arrousets",
    "du Séqué",
    "Léon Bonnat",
    "Jules Ferry",
    "Pasteur",
    "de la République",
    "Émile Zola",
    "des Basques",
    "du Port",
    "des Cordeliers",
    "d'Espagne",
    "Thiers",
    "Marengo",
    "de la Citadelle",
    "Lormand",
    "Bourgneuf",
    "des Faures",
    "Poissonnerie",
    "d'Arcangues",
    "de Pyrénées",
)


def synthetic_rows(count: int, *, seed: int = 0) -> list[dict[str, str]]:
    """``count`` realistic BAN rows: streets of the communes above with 1 to 39 numbers each."""
    rng = np.random.default_rng(seed)
    streets: list[tuple[str, str, Sequence[tuple[int, str]], float, float]] = []
    total = 0
    n = 0
    while total < count:
        citycode = COMMUNES[n % len(COMMUNES)][0]
        kind = _TYPES[(n // len(COMMUNES)) % len(_TYPES)]
        name = _NAMES[(n // (len(COMMUNES) * len(_TYPES))) % len(_NAMES)]
        block = n // (len(COMMUNES) * len(_TYPES) * len(_NAMES))
        street = f"{kind} {name}" + (f" {block + 1}" if block else "")
        size = min(int(rng.integers(1, 40)), count - total)
        reps = rng.choice(["", "", "", "", "", "", "", "", "bis", "ter"], size=size)
        numbers = [(2 * k + 1 if k % 2 == 0 else 2 * k, str(reps[k])) for k in range(size)]
        lon = -1.60 + 0.25 * float(rng.random())
        lat = 43.42 + 0.15 * float(rng.random())
        streets.append((street, citycode, numbers, lon, lat))
        total += size
        n += 1
    return ban_rows(streets)


# --- the national address web service, served on 127.0.0.1 ------------------------------------

#: An answer in the national service's format, as it publishes it (extra properties included).
SERVICE_ANSWER = {
    "type": "FeatureCollection",
    "version": "draft",
    "features": [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [-1.473975, 43.4995]},
            "properties": {
                "label": "12 Avenue de Lattre de Tassigny 64100 Bayonne",
                "score": 0.9712,
                "housenumber": "12",
                "id": "64102_0000_00012",
                "name": "12 Avenue de Lattre de Tassigny",
                "postcode": "64100",
                "citycode": "64102",
                "x": 343000.0,
                "y": 6279000.0,
                "city": "Bayonne",
                "context": "64, Pyrénées-Atlantiques, Nouvelle-Aquitaine",
                "type": "housenumber",
                "importance": 0.68,
                "street": "Avenue de Lattre de Tassigny",
            },
        },
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [-1.4745, 43.4993]},
            "properties": {
                "label": "Avenue de Lattre de Tassigny 64100 Bayonne",
                "score": 0.71,
                "id": "64102_0000",
                "name": "Avenue de Lattre de Tassigny",
                "postcode": "64100",
                "citycode": "64102",
                "city": "Bayonne",
                "type": "street",
            },
        },
    ],
    "attribution": "BAN",
    "licence": "ETALAB-2.0",
    "query": "12 av de lattre",
    "limit": 5,
}


class AddressService(BaseHTTPRequestHandler):
    """Answers ``/search/`` like the national service; special queries fail on purpose."""

    requests: list[dict[str, list[str]]] = []  # noqa: RUF012  (shared by the handler instances)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        params = parse_qs(url.query)
        type(self).requests.append(params)
        query = params.get("q", [""])[0]
        if url.path != "/search/":
            self._send(404, b"{}")
        elif query == "lent":
            time.sleep(1.0)
            self._send(200, json.dumps(SERVICE_ANSWER).encode())
        elif query == "panne":
            self._send(500, b"Internal Server Error", "text/plain")
        elif query == "charabia":
            self._send(200, b"<html>maintenance</html>", "text/html")
        elif query == "vide":
            self._send(200, json.dumps({**SERVICE_ANSWER, "features": []}).encode())
        else:
            self._send(200, json.dumps(SERVICE_ANSWER).encode())

    def _send(self, status: int, body: bytes, media_type: str = "application/json") -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (the timeout test)

    def log_message(self, format: str, *args: object) -> None:
        del format, args


@contextlib.contextmanager
def address_service() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 answering like the national address service; its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), AddressService)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
