"""The simulator's OCPI routing: authorisation, the versions and version details, and which module
handles a request (``ptp_simulator.modules``). The HTTP side is ``ptp_simulator.server``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from ptp_simulator import SUPPORTED_VERSIONS
from ptp_simulator.answers import Answer, Request, Sim, method_not_allowed, not_found, ocpi_answer
from ptp_simulator.modules import cdrs, commands, credentials, locations, payments, sessions, tariffs
from ptp_simulator.ocpi import (
    CLIENT_ERROR,
    INVALID_PARAMETERS,
    UNSUPPORTED_VERSION,
    decode_authorization,
    loads,
)

# Our endpoints per version (version_information_endpoint.asciidoc, 'Endpoint class').
# The PTP receives the CPO's pushes, sends commands (so it serves the commands Sender interface,
# where CommandResults arrive) and owns Payments data (mod_payments.asciidoc: data owner PTP).
ENDPOINTS: tuple[tuple[str, str], ...] = (
    ("credentials", "SENDER"),
    ("locations", "RECEIVER"),
    ("tariffs", "RECEIVER"),
    ("sessions", "RECEIVER"),
    ("cdrs", "RECEIVER"),
    ("commands", "SENDER"),
    ("payments", "SENDER"),
)

MODULES: dict[str, Callable[[Sim, Request], Answer]] = {
    "credentials": credentials.handle,
    "locations": locations.handle,
    "tariffs": tariffs.handle,
    "sessions": sessions.handle,
    "cdrs": cdrs.handle,
    "commands": commands.handle,
    "payments": payments.handle,
}


def version_details(base_url: str, version: str) -> dict[str, Any]:
    """Our endpoints for one version (version_information_endpoint.asciidoc, 'Version details')."""
    base = f"{base_url}/ocpi/{version}"
    return {
        "version": version,
        "endpoints": [
            {"identifier": identifier, "role": role, "url": f"{base}/{identifier}"}
            for identifier, role in ENDPOINTS
        ],
    }


def route_ocpi(
    sim: Sim,
    *,
    method: str,
    path: str,
    query: dict[str, str],
    raw: bytes,
    headers: dict[str, str],
    authorization: str | None,
) -> Answer:
    """Answer one request under ``/ocpi/``: ``raw`` is its body, ``headers`` all its headers and
    ``authorization`` its Authorization header."""
    segments = [unquote(s) for s in path.strip("/").split("/") if s]
    if len(segments) < 2 or segments[0] != "ocpi":
        return not_found("Unknown path")
    candidates = decode_authorization(authorization)
    access = sim.state.token_access(candidates)
    token = next((c for c in candidates if sim.state.token_access((c,))), None)
    if access is None:
        # transport_and_format.asciidoc, 'Authorization header': missing or unknown token is 401.
        return ocpi_answer(401, code=CLIENT_ERROR, message="Unauthorized: missing or unknown token")
    if segments[1] == "versions" and len(segments) == 2:
        if method != "GET":
            return method_not_allowed()
        return ocpi_answer(
            200, [{"version": v, "url": f"{sim.state.base_url}/ocpi/{v}"} for v in SUPPORTED_VERSIONS]
        )
    version = segments[1]
    if version not in SUPPORTED_VERSIONS:
        return ocpi_answer(404, code=UNSUPPORTED_VERSION, message=f"Unsupported version {version}")
    if len(segments) == 2:
        if method != "GET":
            return method_not_allowed()
        return ocpi_answer(200, version_details(sim.state.base_url, version))
    module = segments[2]
    # A token A is only good for versions and credentials (transport_and_format, 'Authorization header').
    if access == "token_a" and module != "credentials":
        return ocpi_answer(401, code=CLIENT_ERROR, message="Unauthorized: token A only opens credentials")
    body: Any = None
    if raw.strip():
        try:
            body = loads(raw)
        except ValueError:
            return ocpi_answer(400, code=INVALID_PARAMETERS, message="Body is not valid JSON")
    request = Request(
        method=method,
        path=path,
        version=version,
        rest=segments[3:],
        query=query,
        body=body,
        headers=headers,
        token=token,
        access=access,
    )
    handler = MODULES.get(module)
    if handler is None:
        return not_found(f"Unknown module {module}")
    return handler(sim, request)
