"""The pure helpers: tokens, dates, prices and Link parsing."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ptp_simulator.ocpi import (
    decode_authorization,
    dumps,
    encode_token,
    loads,
    next_link,
    parse_datetime,
    price_for_version,
    price_in_version,
    price_incl_vat,
)
from ptp_simulator.state import Fault, SimState


def test_a_token_round_trips_through_the_header() -> None:
    assert decode_authorization(encode_token("example-token"))[0] == "example-token"


def test_the_specs_example_header_decodes_without_its_trailing_newline() -> None:
    # transport_and_format.asciidoc's example decodes to the token plus "\n".
    assert decode_authorization("Token ZXhhbXBsZS10b2tlbgo=")[0] == "example-token"


def test_a_raw_token_is_a_candidate_too() -> None:
    assert "raw-token" in decode_authorization("Token raw-token")
    assert decode_authorization("Bearer x") == ()
    assert decode_authorization(None) == ()


def test_a_datetime_without_zone_is_utc() -> None:
    assert parse_datetime("2019-01-28T12:00:00") == datetime(2019, 1, 28, 12, tzinfo=UTC)
    assert parse_datetime("2019-01-28T12:00:00Z") == datetime(2019, 1, 28, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("2.2.1", {"excl_vat": Decimal("4.00"), "incl_vat": Decimal("4.84")}),
        (
            "2.3.0",
            {
                "before_taxes": Decimal("4.00"),
                "taxes": [{"name": "VAT", "amount": Decimal("0.84"), "percentage": Decimal("21")}],
            },
        ),
    ],
)
def test_a_price_takes_the_shape_of_the_version(version: str, expected: dict[str, object]) -> None:
    price = price_for_version(
        version, excl_vat=Decimal("4.00"), incl_vat=Decimal("4.84"), vat_percentage=Decimal("21")
    )

    assert price == expected
    assert price_incl_vat(price) == Decimal("4.84")


def test_money_survives_json_without_becoming_inexact() -> None:
    parsed = loads(dumps({"amount": Decimal("12.375")}))

    assert parsed["amount"] == Decimal("12.375")


def test_next_link_is_resolved_and_absent_links_are_none() -> None:
    header = '<https://cpo.example/ocpi/2.2.1/cdrs/?offset=50&limit=50>; rel="next"'

    assert (
        next_link(header, "https://cpo.example/x")
        == "https://cpo.example/ocpi/2.2.1/cdrs/?offset=50&limit=50"
    )
    assert (
        next_link('</cdrs?offset=5>; rel="next"', "https://cpo.example/cdrs")
        == "https://cpo.example/cdrs?offset=5"
    )
    assert next_link('<https://cpo.example/a>; rel="prev"', "https://cpo.example/") is None
    assert next_link(None, "https://cpo.example/") is None


def test_a_fault_with_a_count_clears_itself() -> None:
    state = SimState()
    state.set_fault(Fault(prefix="/ocpi", mode="http_500", remaining=2))

    decisions = [state.decide_fault("/ocpi/versions") for _ in range(3)]

    assert [d.mode if d else None for d in decisions] == ["http_500", "http_500", None]


def test_config_values_from_json_take_the_settings_type() -> None:
    state = SimState()

    config = state.update_config({"http_timeout": Decimal("2.5"), "page_limit": Decimal("5"), "token_a": "A"})

    assert (config.http_timeout, config.page_limit, config.token_a) == (2.5, 5, "A")
    assert isinstance(config.http_timeout, float)
    assert isinstance(config.page_limit, int)


def test_a_price_converts_between_the_shapes() -> None:
    old = {"excl_vat": Decimal("4.00"), "incl_vat": Decimal("4.84")}

    new = price_in_version(old, "2.3.0")

    assert new == {"before_taxes": Decimal("4.00"), "taxes": [{"name": "VAT", "amount": Decimal("0.84")}]}
    assert price_in_version(new, "2.2.1") == old
    assert price_in_version(old, "2.2.1") is old
