"""Pure parts of the OCPI layer: the JSON writer and the version profiles (no database)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocpi_api.formatting import dumps, format_datetime
from ocpi_api.versions import profile_for

amounts = st.decimals(min_value=Decimal("-1000000"), max_value=Decimal("1000000"), places=4, allow_nan=False)
vat_rates = st.decimals(min_value=Decimal("0"), max_value=Decimal("100"), places=2, allow_nan=False)


@given(amounts)
def test_a_decimal_is_written_as_the_exact_json_number(amount: Decimal) -> None:
    written = dumps({"amount": amount, "text": str(amount)})
    parsed = json.loads(written, parse_float=Decimal, parse_int=Decimal)
    assert parsed["amount"] == amount
    assert parsed["text"] == str(amount)  # a string that looks like a number stays a string
    assert "e" not in written.lower().split('"text"')[0]


@given(st.text())
def test_any_string_survives_the_writer(text: str) -> None:
    assert json.loads(dumps([text, Decimal("1.5")])) == [text, 1.5]


def test_datetimes_are_written_in_utc_with_z() -> None:
    moment = datetime(2024, 3, 1, 13, 5, 9, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert format_datetime(moment) == "2024-03-01T11:05:09Z"
    assert json.loads(dumps({"at": moment})) == {"at": "2024-03-01T11:05:09Z"}
    with pytest.raises(ValueError, match="aware"):
        format_datetime(datetime(2024, 3, 1))


@given(price=amounts.filter(lambda a: a >= 0), vat=vat_rates)
def test_221_component_prices_exclude_the_vat_that_a_230_price_includes(price: Decimal, vat: Decimal) -> None:
    excluded = profile_for("2.2.1").component_price(price, vat, "YES")
    # Adding the VAT back gives the stored price, to within the 4 decimals we keep.
    assert abs(excluded * (1 + vat / 100) - price) <= Decimal("0.0001") * (1 + vat / 100)
    assert profile_for("2.3.0").component_price(price, vat, "YES") == price
    assert profile_for("2.2.1").component_price(price, vat, "NO") == price


def test_prices_take_each_versions_shape() -> None:
    assert profile_for("2.2.1").price(Decimal("10"), Decimal("12.1")) == {
        "excl_vat": Decimal("10"),
        "incl_vat": Decimal("12.1"),
    }
    assert profile_for("2.2.1").price(Decimal("10")) == {"excl_vat": Decimal("10")}
    assert profile_for("2.3.0").price(Decimal("10"), Decimal("12.1")) == {
        "before_taxes": Decimal("10"),
        "taxes": [{"name": "VAT", "amount": Decimal("2.1")}],
    }
    lines = [{"name": "GST", "percentage": "5", "amount": "0.50", "account_number": "123"}]
    assert profile_for("2.3.0").price("10", "10.5", lines) == {
        "before_taxes": Decimal("10"),
        "taxes": [
            {"name": "GST", "account_number": "123", "percentage": Decimal("5"), "amount": Decimal("0.50")}
        ],
    }
    assert profile_for("2.3.0").price(None) is None


def test_price_limits_take_each_versions_shape() -> None:
    assert profile_for("2.2.1").price_limit(Decimal("1"), None) == {"excl_vat": Decimal("1")}
    assert profile_for("2.3.0").price_limit(Decimal("1"), Decimal("1.21")) == {
        "before_taxes": Decimal("1"),
        "after_taxes": Decimal("1.21"),
    }


def test_only_221_leaves_out_the_fields_it_lacks() -> None:
    location = {"id": "L", "help_phone": "+31", "parking_places": [{"id": "P"}]}
    assert profile_for("2.2.1").strip("location", dict(location)) == {"id": "L"}
    assert profile_for("2.3.0").strip("location", dict(location)) == location


def test_a_now_in_utc_round_trips_through_the_writer() -> None:
    now = datetime.now(tz=UTC).replace(microsecond=0)
    assert datetime.fromisoformat(json.loads(dumps(now)).replace("Z", "+00:00")) == now
