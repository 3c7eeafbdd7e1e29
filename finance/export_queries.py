"""The SQL an export runs: the screen's order, the planner settings, and on PostgreSQL the whole CSV.

The screen's order (newest chains first, a chain's CDRs in the order made) is one query that
PostgreSQL and SQLite both run (screen_order_sql). On PostgreSQL a CSV export goes further: the
database writes every line itself (``COPY (SELECT …) TO STDOUT WITH (FORMAT csv)``, copy_csv_rows),
with the rules of finance.exports.export_rows() written in SQL, so Python only hands bytes on.
Measured in benchmarks/export_cdrs.py: building each row in Python cost about 60 µs of CPU, which
held a CSV export near 12,000 rows/s. The Python rows stay the reference: on PostgreSQL the two are
held byte for byte equal (tests/finance/test_export_parity.py), and SQLite (the embedded set-up)
writes its CSV from them.

Public: SCREEN_ORDER, screen_order_sql(), planner_settings(), copy_csv_rows(), COPY_COLUMNS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection
from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber
from psycopg import ClientCursor

from finance.selectors import ChainRole, ReconciliationStatus
from locations.models import Location
from partners.models import Partner, Party
from payments.models import CaptureStatusCode, FinancialAdviceConfirmation, PaymentTerminal
from sessions.models import Cdr, ChargingSession

# The order of the reconciliation page: newest chains first, a chain's CDRs in the order made.
SCREEN_ORDER = ("-chain_end", "-chain_root", "pk")


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _references_sql(queryset: QuerySet[Cdr]) -> tuple[str, tuple[Any, ...]]:
    """The authorisation references of the queryset's CDRs that have a partner."""
    return (
        queryset.order_by()
        .filter(partner__isnull=False)
        .values("authorization_reference")
        .query.sql_with_params()
    )


def _chains_sql(queryset: QuerySet[Cdr], columns: str = "") -> tuple[str, tuple[Any, ...]]:
    """The chains of more than one CDR that the queryset touches, one row each: partner_id,
    authorization_reference, root_id (the chain's first CDR) and ``columns`` (aggregates of ``m``)."""
    references, params = _references_sql(queryset)
    sql = f"""
        SELECT m.partner_id, m.authorization_reference, MIN(m.id) AS root_id{columns}
        FROM {_table(Cdr)} m
        WHERE m.partner_id IS NOT NULL AND m.authorization_reference <> ''
          AND m.authorization_reference IN ({references})
        GROUP BY m.partner_id, m.authorization_reference
        HAVING COUNT(*) > 1
    """  # noqa: S608 - our own table name and the ORM's compiled query; values are parameters
    return sql, params


def _chosen_sql(queryset: QuerySet[Cdr], **extra: Any) -> tuple[str, tuple[Any, ...]]:
    return (
        queryset.order_by()
        .values(
            chosen_id=F("pk"),
            chosen_partner=F("partner_id"),
            chosen_reference=F("authorization_reference"),
            chosen_end=F("end_date_time"),
            **extra,
        )
        .query.sql_with_params()
    )


# The screen's order over the columns of the join in screen_order_sql() and copy_csv_rows().
_SCREEN_ORDER_BY = (
    "COALESCE(root.end_date_time, c.chosen_end) DESC, COALESCE(r.root_id, c.chosen_id) DESC, c.chosen_id"
)


def screen_order_sql(queryset: QuerySet[Cdr]) -> tuple[str, tuple[Any, ...]]:
    """The ids of ``queryset`` in the screen's order, each with its chain's root (None for a chain of
    one), as one query that PostgreSQL and SQLite both run.

    A chain's first CDR (its root, whose end orders the chain) comes from one grouped join over the
    chains of more than one CDR that the queryset touches (a chain of one is its own root), not from
    two correlated subqueries per row. Plain SQL-92 (LEFT JOIN, GROUP BY, COALESCE, IN (subquery));
    the filter is the ORM's own compiled query, its values stay parameters.
    """
    rows, params = _chosen_sql(queryset)
    chains, chain_params = _chains_sql(queryset)
    sql = f"""
        SELECT c.chosen_id, r.root_id FROM ({rows}) c
        LEFT JOIN ({chains}) r
          ON r.partner_id = c.chosen_partner AND r.authorization_reference = c.chosen_reference
        LEFT JOIN {_table(Cdr)} root ON root.id = r.root_id
        ORDER BY {_SCREEN_ORDER_BY}
    """  # noqa: S608 - see _chains_sql()
    return sql, (*params, *chain_params)


# PostgreSQL planner settings for the length of an export (measured in benchmarks/export_cdrs.py):
# JIT would compile the ordering query for seconds to save milliseconds; parallel workers each built
# the chains' aggregate again (three times the work on two cores); 64 MB sorts 200,000 keys without
# spilling to disk; and the per-chunk lookups of chains and captures by reference (2,000 index probes)
# are costed as if each probe read the disk, which made the planner scan 180,000 captures per chunk
# instead (80 ms against 18 ms): the tables an export reads are in memory.
_PLANNER_SETTINGS = {
    "DateStyle": "ISO",  # the text of a timestamp, which the CSV's times are written from (_iso())
    "jit": "off",
    "max_parallel_workers_per_gather": "0",
    "work_mem": "64MB",
    "random_page_cost": "1.1",
}


@contextmanager
def planner_settings() -> Iterator[None]:
    """The export's planner settings on this connection (PostgreSQL), reset afterwards."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        for name, value in _PLANNER_SETTINGS.items():
            cursor.execute(f"SET {name} = '{value}'")  # our own constants
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for name in _PLANNER_SETTINGS:
                cursor.execute(f"RESET {name}")


# -- the CSV, written by PostgreSQL ------------------------------------------------------------------
# Each helper below is the SQL twin of a step of export_rows() and its CSV writer (finance.exports),
# applied to a column of the inner query ``x``. Every text cell that is empty becomes NULL: COPY writes
# NULL as an empty field and an empty string as "", where the csv module writes nothing.

# Text a spreadsheet would run as a formula (CSV injection) gets a leading quote, as _csv_cells() does:
# by the code point of its first character (= + - @ tab, carriage return), which ascii() reads without
# copying the text (0 for an empty one).
_FORMULA_STARTS = ", ".join(str(ord(character)) for character in "=+-@\t\r")


def _text(value: str) -> str:
    guarded = f"CASE WHEN ascii({value}) IN ({_FORMULA_STARTS}) THEN '''' || {value} ELSE {value} END"
    return f"NULLIF({guarded}, '')"


def _cents(value: str) -> str:
    """An amount to the cent, half to even as Decimal.quantize() rounds (PostgreSQL's round() rounds
    half away from zero, so an exact half cent above an even cent is cut instead): 12.345 -> 12.34,
    4.455 -> 4.46, -12.345 -> -12.34."""
    half_above_even = f"mod({value} * 100, 2) IN (0.5, -0.5)"
    return f"round(CASE WHEN {half_above_even} THEN trunc({value}, 2) ELSE {value} END, 2)::text"


def _iso(wall_clock: str, offset: str) -> str:
    """datetime.isoformat() of a time: its wall clock in a zone (a timestamp as text, DateStyle ISO:
    "2026-03-31 23:30:00", its fraction of a second without trailing zeros) and the zone's offset in
    seconds; microseconds in six digits when there are any, and a zero offset written ``Z``."""
    seconds = f"abs({offset})"

    def two_digits(number: str) -> str:
        return f"lpad(({number})::text, 2, '0')"

    whole = f"CASE WHEN length({wall_clock}) = 19 THEN {wall_clock} ELSE rpad({wall_clock}, 26, '0') END"
    return f"""(
        overlay({whole} PLACING 'T' FROM 11 FOR 1)
        || CASE WHEN {offset} = 0 THEN 'Z' ELSE
             CASE WHEN {offset} < 0 THEN '-' ELSE '+' END
             || {two_digits(f"{seconds} / 3600")} || ':' || {two_digits(f"mod({seconds}, 3600) / 60")}
             || CASE WHEN mod({seconds}, 60) = 0 THEN '' ELSE ':' || {two_digits(f"mod({seconds}, 60)")} END
           END
    )"""


def _json_list(value: str) -> str:
    """A JSON array's elements with their position; nothing for anything that is not an array."""
    array = f"CASE WHEN jsonb_typeof({value}) = 'array' THEN {value} ELSE '[]' END"
    return f"jsonb_array_elements({array}) WITH ORDINALITY"


_LOCATION_KEYS = ("id", "evse_uid", "evse_id", "connector_id", "address", "postal_code", "city", "country")
_LOCATION_COLUMNS = (
    "location_id", "evse_uid", "evse_id", "connector_id", "address", "postal_code", "city", "country"
)  # fmt: skip

# The CDR's own columns that the cells read.
_CDR_COLUMNS = (
    "cdr_id", "total_energy", "total_time", "total_parking_time",
    "total_energy_cost_excl_vat", "total_time_cost_excl_vat", "total_parking_cost_excl_vat",
    "total_fixed_cost_excl_vat", "total_reservation_cost_excl_vat", "total_cost_excl_vat",
    "total_cost_incl_vat", "currency", "token_type", "authorization_reference", "invoice_reference_id",
    "credit", "credit_reference_id",
)  # fmt: skip

# (column, cell) in the order of finance.exports.COLUMNS; ``x`` is the inner query of copy_csv_rows().
# A percent sign is written %% (the query goes through psycopg's parameter formatting).
COPY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("cdr_id", _text("x.cdr_id")),
    ("party", _text("x.country_code || '*' || x.party_code")),
    ("partner", _text("x.partner_name")),
    ("session_id", _text("x.ocpi_session_id")),
    ("start_utc", _iso("x.start_utc", "0")),
    ("end_utc", _iso("x.end_utc", "0")),
    ("start_local", _iso("x.start_local", "x.start_offset")),
    ("end_local", _iso("x.end_local", "x.end_offset")),
    ("time_zone", _text("x.zone")),
    *((column, _text(f"x.{column}")) for column in _LOCATION_COLUMNS),
    ("energy_kwh", "x.total_energy::text"),
    ("charging_time_h", "x.total_time::text"),
    ("parking_time_h", "x.total_parking_time::text"),
    ("tariff_ids", _text("x.tariff_ids")),
    ("energy_cost_excl_vat", _cents("x.total_energy_cost_excl_vat")),
    ("time_cost_excl_vat", _cents("x.total_time_cost_excl_vat")),
    ("parking_cost_excl_vat", _cents("x.total_parking_cost_excl_vat")),
    ("fixed_cost_excl_vat", _cents("x.total_fixed_cost_excl_vat")),
    ("reservation_cost_excl_vat", _cents("x.total_reservation_cost_excl_vat")),
    ("total_excl_vat", _cents("x.total_cost_excl_vat")),
    ("tax_rates", _text("x.tax_rates")),
    ("tax_amounts", _text("x.tax_amounts")),
    ("total_taxes", _cents("x.total_taxes")),
    ("total_incl_vat", _cents("x.total_cost_incl_vat")),
    ("currency", _text("x.currency")),
    ("token_type", _text("x.token_type")),
    ("token_uid", _text("x.token_cell")),
    ("authorization_reference", _text("x.authorization_reference")),
    ("terminal_id", _text("x.terminal_id")),
    ("invoice_reference_id", _text("x.invoice_reference_id")),
    ("credit", "CASE WHEN x.credit THEN 'yes' ELSE 'no' END"),
    ("credited_cdr_id", _text("x.credit_reference_id")),
    ("chain_role", "x.chain_role"),
    ("capture_status", _text("x.capture_status")),
    ("captured_incl_vat", _cents("x.captured")),
    ("chain_net_incl_vat", _cents("x.billed")),
    ("difference", _cents("x.captured - x.billed")),
    ("reconciliation_status", "x.reconciliation_status"),
    ("eft_data", _text("x.eft_data")),
)

# What the captured amount and the chain's status are, per row of the inner query (the rules of
# finance.selectors: _facts() and chain_status()). ``card``: a card payment (an authorisation of a
# partner); ``billed``: the net of the chain, or the CDR's own total when it is not a card payment.
_CAPTURED = f"""CASE WHEN cap.capture_status_code IS NULL THEN NULL
        WHEN cap.capture_status_code = '{CaptureStatusCode.FAILED}' THEN 0
        ELSE COALESCE(cap.total_costs_incl_vat, 0) END"""
_STATUS = f"""CASE WHEN NOT y.card THEN '{ReconciliationStatus.NOT_CARD_PAYMENT}'
        WHEN y.capture_status IS NULL THEN '{ReconciliationStatus.AWAITING_CAPTURE}'
        WHEN y.capture_status = '{CaptureStatusCode.FAILED}' THEN '{ReconciliationStatus.CAPTURE_FAILED}'
        WHEN y.captured > y.billed THEN '{ReconciliationStatus.REFUND_DUE}'
        WHEN y.capture_status = '{CaptureStatusCode.PARTIAL_SUCCESS}'
          THEN '{ReconciliationStatus.PARTIAL_CAPTURE}'
        WHEN y.captured = y.billed THEN '{ReconciliationStatus.MATCHED}'
        ELSE '{ReconciliationStatus.AMOUNT_MISMATCH}' END"""


def _taxes(value: str) -> tuple[str, str, str]:
    """Each tax line's name and rate, its amount ("; " separated) and their sum, as _taxes() in
    finance.exports reads the TaxAmount lines (sessions.models.taxes_field); one line, the usual
    case, is read without unnesting the list."""
    lines = f"FROM {_json_list(value)} AS line(tax, position) WHERE jsonb_typeof(tax) = 'object'"
    rate = "COALESCE({tax} ->> 'name', 'tax') || ' ' || COALESCE({tax} ->> 'percentage', '?') || '%%'"
    amount = "COALESCE({tax} ->> 'amount', 'None')"
    first = f"({value} -> 0)"
    single = (
        f"jsonb_typeof({value}) = 'array' AND jsonb_array_length({value}) = 1"
        f" AND jsonb_typeof({first}) = 'object'"
    )

    def either(one: str, many: str) -> str:
        return f"CASE WHEN {single} THEN {one} ELSE (SELECT {many} {lines}) END"

    return (
        either(rate.format(tax=first), f"string_agg({rate.format(tax='tax')}, '; ' ORDER BY position)"),
        either(amount.format(tax=first), f"string_agg({amount.format(tax='tax')}, '; ' ORDER BY position)"),
        either(
            f"COALESCE(({first} ->> 'amount')::numeric, 0)", "COALESCE(SUM((tax ->> 'amount')::numeric), 0)"
        ),
    )


def _tariff_ids(value: str) -> str:
    """The ids of the tariffs applied, space separated (finance.exports._tariff_ids())."""
    first = f"({value} -> 0)"
    return f"""CASE WHEN jsonb_typeof({value}) = 'array' AND jsonb_array_length({value}) = 1
                    AND jsonb_typeof({first}) = 'object' THEN COALESCE({first} ->> 'id', '')
               ELSE (SELECT string_agg(COALESCE(tariff ->> 'id', ''), ' ' ORDER BY position)
                     FROM {_json_list(value)} AS listed(tariff, position)
                     WHERE jsonb_typeof(tariff) = 'object') END"""  # noqa: S608 - SQL of our own


def _eft_lines(value: str) -> str:
    """The receipt lines, " | " separated (finance.selectors: ChainFacts.eft_data)."""
    return f"""CASE WHEN jsonb_typeof({value}) <> 'array' THEN NULL
               WHEN jsonb_array_length({value}) = 1 THEN {value} ->> 0
               WHEN jsonb_array_length({value}) = 2 THEN ({value} ->> 0) || ' | ' || ({value} ->> 1)
               ELSE array_to_string(ARRAY(SELECT jsonb_array_elements_text({value})), ' | ') END"""


def _first_terminal(link: Any, column: str) -> str:
    """Per EVSE or location (``column`` of the ``link`` table), the first of its terminals by id, as
    finance.exports._terminals() picks it."""
    return f"""
        SELECT link.{column}, MIN(terminal.terminal_id) AS terminal_id
        FROM {_table(link)} link
        JOIN {_table(PaymentTerminal)} terminal ON terminal.id = link.paymentterminal_id
        GROUP BY link.{column}
    """  # noqa: S608 - our own table and column names


def _copy_sql(queryset: QuerySet[Cdr], *, unmask: bool) -> tuple[str, tuple[Any, ...]]:
    """The COPY statement: the rows of ``queryset`` in the screen's order (or the list's own order),
    one CSV line each."""
    order = tuple(queryset.query.order_by)
    own_order = bool(order) and order != SCREEN_ORDER
    if own_order:
        rows, params = _chosen_sql(queryset, position=Window(RowNumber(), order_by=list(order)))
        order_by = "c.position"
    else:
        rows, params = _chosen_sql(queryset)
        order_by = _SCREEN_ORDER_BY
    chains, chain_params = _chains_sql(
        queryset,
        ", COALESCE(SUM(m.total_cost_incl_vat), 0) AS net, bool_or(m.credit IS TRUE) AS has_credit,"
        " array_agg(m.credit_reference_id) FILTER (WHERE m.credit) AS credited",
    )
    references, reference_params = _references_sql(queryset)
    rates, amounts, tax_sum = _taxes("cdr.total_cost_taxes")
    # mask_uid(): all but the last four characters hidden.
    masked = "repeat('*', greatest(length(cdr.token_uid) - 4, 0)) || right(cdr.token_uid, 4)"
    token_uid = "cdr.token_uid" if unmask else masked
    card = "(cdr.authorization_reference <> '' AND cdr.partner_id IS NOT NULL)"
    zone = "COALESCE(NULLIF(location.time_zone, ''), 'UTC')"
    cdr_columns = ", ".join(f"cdr.{column}" for column in _CDR_COLUMNS)
    location_cells = ", ".join(
        f"cdr.cdr_location ->> '{key}' AS {column}"
        for column, key in zip(_LOCATION_COLUMNS, _LOCATION_KEYS, strict=True)
    )
    # One statement in levels: ``chosen`` orders the ids (narrow rows); ``y`` reads each CDR with its
    # chain, capture and terminal (hash joins, then one sort by position); ``x`` adds the chain's
    # status; the outer SELECT writes the cells. OFFSET 0 keeps each level a level of its own (the
    # planner would otherwise fold them together and work a value out again for every cell that
    # uses it), and each level keeps the order of the one below.
    sql = f"""
        SELECT {", ".join(cell for _, cell in COPY_COLUMNS)}
        FROM (
          SELECT y.*,
            y.start_utc_at::text AS start_utc, y.end_utc_at::text AS end_utc,
            y.start_local_at::text AS start_local, y.end_local_at::text AS end_local,
            extract(epoch FROM y.start_local_at - y.start_utc_at)::integer AS start_offset,
            extract(epoch FROM y.end_local_at - y.end_utc_at)::integer AS end_offset,
            {_STATUS} AS reconciliation_status
          FROM (
            SELECT chosen.position, {cdr_columns}, {location_cells},
              party.country_code, party.party_id AS party_code, partner.name AS partner_name,
              session.session_id AS ocpi_session_id, {zone} AS zone,
              cdr.start_date_time AT TIME ZONE 'UTC' AS start_utc_at,
              cdr.end_date_time AT TIME ZONE 'UTC' AS end_utc_at,
              cdr.start_date_time AT TIME ZONE {zone} AS start_local_at,
              cdr.end_date_time AT TIME ZONE {zone} AS end_local_at,
              {_tariff_ids("cdr.tariffs")} AS tariff_ids,
              {rates} AS tax_rates, {amounts} AS tax_amounts,
              CASE WHEN jsonb_typeof(cdr.total_cost_taxes) = 'array'
                        AND jsonb_array_length(cdr.total_cost_taxes) > 0 THEN {tax_sum}
                   WHEN (cdr.total_cost_taxes IS NULL
                         OR cdr.total_cost_taxes IN ('null', '[]', '{{}}', '""', '0', 'false'))
                        AND cdr.total_cost_incl_vat IS NOT NULL
                     THEN cdr.total_cost_incl_vat - cdr.total_cost_excl_vat
                   ELSE 0 END AS total_taxes,
              {token_uid} AS token_cell,
              COALESCE(NULLIF(evse_terminal.terminal_id, ''), location_terminal.terminal_id) AS terminal_id,
              {card} AS card,
              CASE WHEN cdr.credit THEN '{ChainRole.CREDIT}'
                   WHEN {card} AND cdr.cdr_id = ANY(chosen.credited) THEN '{ChainRole.CREDITED}'
                   WHEN NOT {card} AND (cdr.party_id, cdr.cdr_id) IN (
                     SELECT k.party_id, k.credit_reference_id FROM {_table(Cdr)} k WHERE k.credit
                   ) THEN '{ChainRole.CREDITED}'
                   WHEN {card} AND chosen.has_credit THEN '{ChainRole.REPLACEMENT}'
                   ELSE '{ChainRole.SINGLE}' END AS chain_role,
              CASE WHEN {card} THEN COALESCE(chosen.net, cdr.total_cost_incl_vat, 0)
                   ELSE cdr.total_cost_incl_vat END AS billed,
              cap.capture_status_code AS capture_status,
              {_CAPTURED} AS captured,
              {_eft_lines("cap.eft_data")} AS eft_data
            FROM (
              SELECT c.chosen_id, r.net, r.has_credit, r.credited,
                     row_number() OVER (ORDER BY {order_by}) AS position
              FROM ({rows}) c
              LEFT JOIN ({chains}) r
                ON r.partner_id = c.chosen_partner AND r.authorization_reference = c.chosen_reference
              LEFT JOIN {_table(Cdr)} root ON root.id = r.root_id
              ORDER BY position
              OFFSET 0
            ) chosen
            JOIN {_table(Cdr)} cdr ON cdr.id = chosen.chosen_id
            JOIN {_table(Party)} party ON party.id = cdr.party_id
            LEFT JOIN {_table(Partner)} partner ON partner.id = cdr.partner_id
            LEFT JOIN {_table(ChargingSession)} session ON session.id = cdr.session_id
            LEFT JOIN {_table(Location)} location ON location.id = session.location_id
            LEFT JOIN ({_first_terminal(PaymentTerminal.evses.through, "evse_id")}) evse_terminal
              ON evse_terminal.evse_id = session.evse_id
            LEFT JOIN ({_first_terminal(PaymentTerminal.locations.through, "location_id")}) location_terminal
              ON location_terminal.location_id = session.location_id
            LEFT JOIN (
              -- The newest confirmation of each authorisation wins (finance.selectors._latest_capture()).
              SELECT DISTINCT ON (f.partner_id, f.authorization_reference) f.partner_id,
                f.authorization_reference, f.capture_status_code, f.total_costs_incl_vat, f.eft_data
              FROM {_table(FinancialAdviceConfirmation)} f
              WHERE f.authorization_reference IN ({references})
              ORDER BY f.partner_id, f.authorization_reference, f.last_updated DESC, f.id DESC
            ) cap ON {card} AND cap.partner_id = cdr.partner_id
                 AND cap.authorization_reference = cdr.authorization_reference
            ORDER BY chosen.position
            OFFSET 0
          ) y
          ORDER BY y.position
          OFFSET 0
        ) x
        ORDER BY x.position
    """  # noqa: S608 - our own table names and the ORM's compiled queries; values are parameters
    return f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", (*params, *chain_params, *reference_params)


def copy_csv_rows(
    queryset: QuerySet[Cdr],
    *,
    unmask: bool,
    rows_per_block: int,
    on_rows: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """The CSV lines of export_rows() for ``queryset`` (no header), written by PostgreSQL and handed
    on ``rows_per_block`` at a time; ``on_rows`` is told how many each block holds."""
    sql, params = _copy_sql(queryset, unmask=unmask)
    with planner_settings(), connection.cursor() as cursor:
        # The values bound here, by psycopg's own quoting: COPY takes no parameters on the server,
        # and Django's cursor (logged in tests and with DEBUG) passes a COPY statement on as it is.
        statement = ClientCursor(connection.connection).mogrify(sql, params)
        # COPY sends one message per row (PostgreSQL protocol, "COPY Operations"), and psycopg hands
        # on one row per read: its line ends in "\n", the csv module's in "\r\n".
        with cursor.copy(statement) as copy:
            block: list[bytes] = []
            for line in copy:
                block.append(bytes(line[:-1]))
                if len(block) == rows_per_block:
                    yield b"\r\n".join(block) + b"\r\n"
                    if on_rows is not None:
                        on_rows(len(block))
                    block = []
            if block:
                yield b"\r\n".join(block) + b"\r\n"
                if on_rows is not None:
                    on_rows(len(block))
