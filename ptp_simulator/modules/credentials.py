"""Credentials module, our Sender interface: the registration a CPO starts with us (credentials.asciidoc)."""

from __future__ import annotations

from typing import Any

from ptp_simulator.answers import Answer, Request, Sim, invalid, method_not_allowed, not_found, ocpi_answer
from ptp_simulator.client import MissingEndpointsError, OcpiClientError, UnsupportedVersionError
from ptp_simulator.ocpi import (
    NO_MATCHING_ENDPOINTS,
    SUCCESS,
    UNABLE_TO_USE_CLIENT_API,
    UNSUPPORTED_VERSION,
    format_datetime,
    new_token,
    now_utc,
)
from ptp_simulator.state import Peer


def own_credentials(sim: Sim, token: str) -> dict[str, Any]:
    return {
        "token": token,
        "url": f"{sim.state.base_url}/ocpi/versions",
        "roles": sim.state.own_roles(),
    }


def handle(sim: Sim, request: Request) -> Answer:
    if request.rest:
        return not_found()
    peer = sim.state.get_peer()
    registered = peer is not None and peer.registered_by != "connect"
    if request.method == "GET":
        return ocpi_answer(200, own_credentials(sim, request.token or ""))
    if request.method == "DELETE":
        if not registered or request.access != "full":
            return method_not_allowed("Not registered")
        sim.state.set_peer(None)
        sim.state.revoke_token(peer.our_token if peer else None)
        return ocpi_answer(200, code=SUCCESS)
    if request.method not in ("POST", "PUT"):
        return method_not_allowed()
    # 'POST Method': 405 once registered; 'PUT Method': 405 before registration.
    if request.method == "POST" and registered:
        return method_not_allowed("Already registered; use PUT to update")
    if request.method == "PUT" and (not registered or request.access != "full"):
        return method_not_allowed("Not registered; use POST to register")
    body = request.body
    if not isinstance(body, dict) or not body.get("token") or not body.get("url"):
        return invalid("Credentials need token and url")
    roles = body.get("roles")
    if roles is not None and not isinstance(roles, list):
        return invalid("roles must be a list")
    try:
        chosen, version_url, endpoints = sim.client.discover(
            str(body["url"]), str(body["token"]), request.version
        )
    except UnsupportedVersionError as exc:
        return ocpi_answer(200, code=UNSUPPORTED_VERSION, message=str(exc))
    except MissingEndpointsError as exc:
        return ocpi_answer(200, code=NO_MATCHING_ENDPOINTS, message=str(exc))
    except OcpiClientError as exc:
        # credentials.asciidoc, 'Errors during registration': 3001 when we cannot use their API.
        return ocpi_answer(200, code=UNABLE_TO_USE_CLIENT_API, message=str(exc))
    token_c = new_token()
    sim.state.issue_token(token_c)
    if peer is not None and peer.our_token:
        sim.state.revoke_token(peer.our_token)
    sim.state.set_peer(
        Peer(
            versions_url=str(body["url"]),
            token=str(body["token"]),
            our_token=token_c,
            version=chosen,
            version_url=version_url,
            endpoints=endpoints,
            roles=list(roles or []),
            registered_by="them",
            registered_at=format_datetime(now_utc()),
        )
    )
    return ocpi_answer(200, own_credentials(sim, token_c))
