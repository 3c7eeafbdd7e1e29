"""What the simulator's OCPI handlers receive and return: the parsed request and the answer.

Also the answers every module shares (the OCPI envelope, 404, 2001, 405), the paginated list and
the history entry kept with each stored object. No HTTP here: ``server`` reads and writes the wire.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode

from ptp_simulator.ocpi import (
    CLIENT_ERROR,
    INVALID_PARAMETERS,
    SUCCESS,
    envelope,
    format_datetime,
    now_utc,
    parse_datetime,
)

if TYPE_CHECKING:
    from ptp_simulator.client import CpoClient
    from ptp_simulator.state import SimState


class Sim(Protocol):
    """What a handler may use: the simulator's state and its client of the CPO (the server has both)."""

    state: SimState
    client: CpoClient


@dataclass
class Answer:
    """What a route returns: HTTP status, JSON body, extra headers."""

    status: int
    body: Any
    headers: dict[str, str] | None = None


def ocpi_answer(
    status: int,
    data: Any = None,
    *,
    code: int = SUCCESS,
    message: str | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """An answer in the OCPI envelope; ``data`` is left out when None (status_codes.asciidoc)."""
    return Answer(
        status,
        envelope(data, status_code=code, status_message=message, include_data=data is not None),
        headers,
    )


def not_found(message: str = "Unknown object") -> Answer:
    """HTTP 404 for an unknown object or path (status_codes.asciidoc: GET of a missing resource)."""
    return ocpi_answer(404, code=CLIENT_ERROR, message=message)


def invalid(message: str) -> Answer:
    """Status 2001 for a request that reached the OCPI layer with bad content."""
    # A request that reached the OCPI layer gets HTTP 200 with a 2xxx code (status_codes.asciidoc).
    return ocpi_answer(200, code=INVALID_PARAMETERS, message=message)


def method_not_allowed(message: str = "Method not allowed") -> Answer:
    """HTTP 405, also what credentials.asciidoc asks for a POST/PUT/DELETE in the wrong state."""
    return ocpi_answer(405, code=CLIENT_ERROR, message=message)


@dataclass
class Request:
    method: str
    path: str
    version: str
    rest: list[str]
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    token: str | None
    access: str | None


def history_entry(request: Request, target: str | None = None) -> dict[str, Any]:
    """The record of one received call, kept with the object it changed (``/_sim/received``)."""
    entry = {
        "time": format_datetime(now_utc()),
        "method": request.method,
        "path": request.path,
        "body": request.body,
        "headers": request.headers,
    }
    if target:
        entry["target"] = target
    return entry


def paginated(state: SimState, request: Request, objects: list[dict[str, Any]], id_field: str) -> Answer:
    """A paginated list (transport_and_format.asciidoc, 'Pagination'), oldest first."""
    query = request.query
    try:
        date_from = parse_datetime(query["date_from"]) if query.get("date_from") else None
        date_to = parse_datetime(query["date_to"]) if query.get("date_to") else None
        offset = int(query.get("offset") or 0)
        limit = int(query["limit"]) if query.get("limit") else state.config.page_limit
    except ValueError as exc:
        return ocpi_answer(400, code=INVALID_PARAMETERS, message=f"Bad query parameter: {exc}")
    if offset < 0 or limit < 0:
        return ocpi_answer(400, code=INVALID_PARAMETERS, message="offset and limit must not be negative")
    limit = min(limit, state.config.max_page_limit)
    selected = []
    for obj in objects:
        stamp = stamp_of(obj)
        if date_from is not None and stamp < date_from:
            continue
        if date_to is not None and stamp >= date_to:
            continue
        selected.append((stamp, str(obj.get(id_field)), obj))
    selected.sort(key=lambda item: (item[0], item[1]))
    page = [obj for _, _, obj in selected[offset : offset + limit]]
    headers = {"X-Total-Count": str(len(selected)), "X-Limit": str(limit)}
    if offset + limit < len(selected) and limit > 0:
        params = {k: v for k, v in query.items() if k in ("date_from", "date_to")}
        params.update(offset=str(offset + limit), limit=str(limit))
        headers["Link"] = f'<{state.base_url}{request.path}?{urlencode(params)}>; rel="next"'
    return ocpi_answer(200, page, headers=headers)


def stamp_of(obj: dict[str, Any]) -> datetime:
    # Objects a test created by hand may lack or garble last_updated; sort those first.
    try:
        return parse_datetime(str(obj.get("last_updated")))
    except ValueError:
        return datetime(1970, 1, 1, tzinfo=UTC)
