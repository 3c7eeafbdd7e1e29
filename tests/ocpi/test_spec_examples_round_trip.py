"""The specification's example Locations and Tariffs load into our models and serialise back
with the same meaning, in the version they were written for.

"Same meaning": equal after dropping empty optional values, comparing numbers as Decimals and
timestamps as instants, and ignoring the order of EVSEs, connectors and price components
(our output orders them by id and by dimension).
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from ocpi_api.importers import location_import, tariff_import
from ocpi_api.modules.locations import serialize_location
from ocpi_api.modules.tariffs import serialize_tariff
from tests.factories import PartyFactory
from tests.ocpi.conftest import SPEC

pytestmark = pytest.mark.django_db

_SORT_KEYS = {"evses": "uid", "connectors": "id", "price_components": "type"}


def normalise(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: normalise(v, k) for k, v in value.items() if v not in (None, [], {}, "")}
    if isinstance(value, list):
        items = [normalise(item) for item in value]
        if key in _SORT_KEYS:
            items.sort(key=lambda item: item[_SORT_KEYS[key]])
        return items
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value)).normalize()
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    if key in ("latitude", "longitude"):
        return Decimal(value).normalize()
    return value


def _examples(version: str, prefix: str, required: str) -> list[str]:
    names = []
    for path in sorted((SPEC / version / "examples").glob(f"{prefix}*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and required in data and "country_code" in data:
            names.append(path.name)
    return names


def _load(version: str, name: str) -> dict[str, Any]:
    return json.loads((SPEC / version / "examples" / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("version", "name"),
    [(v, n) for v in ("2.2.1", "2.3.0") for n in _examples(v, "tariff", "elements")],
)
def test_a_spec_tariff_example_round_trips(version: str, name: str) -> None:
    example = _load(version, name)
    party = PartyFactory(country_code=example["country_code"], party_id=example["party_id"])
    tariff = tariff_import(example, party=party, version=version)
    written = serialize_tariff(tariff, version)
    expected = normalise(example)
    if "last_updated" not in example:
        written.pop("last_updated")  # the PUT example has none; we stamp the import time
    if version == "2.3.0" and "tax_included" not in example:
        expected["tax_included"] = "NO"
    assert normalise(written) == expected


@pytest.mark.parametrize(
    ("version", "name"),
    [(v, n) for v in ("2.2.1", "2.3.0") for n in _examples(v, "location_example", "evses")],
)
def test_a_spec_location_example_round_trips(version: str, name: str) -> None:
    example = _load(version, name)
    party = PartyFactory(country_code=example["country_code"], party_id=example["party_id"], name="Example")
    tariff_ids = {
        tariff_id
        for evse in example.get("evses", [])
        for connector in evse["connectors"]
        for tariff_id in connector.get("tariff_ids", [])
    }
    for tariff_id in tariff_ids:
        tariff_import(
            {
                "id": tariff_id,
                "currency": "EUR",
                "elements": [{"price_components": [{"type": "FLAT", "price": 1, "step_size": 1}]}],
                "tax_included": "NO",
            },
            party=party,
            version="2.3.0",
        )
    location = location_import(example, party=party)
    written = serialize_location(location, version)
    if "operator" not in example:
        # We always name the operator (the party) because one handshake may cover several parties.
        assert written.pop("operator") == {"name": "Example"}
    assert normalise(written) == normalise(example)


def test_the_examples_are_found() -> None:
    assert len(_examples("2.2.1", "tariff", "elements")) >= 18
    assert len(_examples("2.3.0", "tariff", "elements")) >= 20
    assert len(_examples("2.2.1", "location_example", "evses")) >= 5
