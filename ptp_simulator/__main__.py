"""Command line: ``python -m ptp_simulator serve|crawl|action|state``.

``serve`` prints its base URL as the first line of stdout (flushed) so a fixture that asked for
port 0 can read where it listens; logs go to stderr.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable
from datetime import timedelta
from types import FrameType

import httpx

from ptp_simulator.client import CRAWLABLE_MODULES, CpoClient, OcpiClientError
from ptp_simulator.control import is_loopback_host
from ptp_simulator.ocpi import format_datetime, new_token, now_utc
from ptp_simulator.process import ControlClient, SimulatorError
from ptp_simulator.server import SimServer
from ptp_simulator.state import Config, SimState, new_id


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ptp_simulator", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve OCPI as a PTP plus the /_sim/ control API")
    serve.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=9100, help="port; 0 picks a free one (default 9100)")
    serve.add_argument("--token-a", help="credentials token A a CPO may use to register with us")
    serve.add_argument(
        "--token", action="append", default=[], help="pre-shared full-access token (repeatable)"
    )
    serve.add_argument("--country-code", default="NL")
    serve.add_argument("--party-id", default="PTR")
    serve.add_argument("--page-limit", type=int, default=10, help="default page size of our lists")
    serve.add_argument("--seed-terminals", type=int, default=0, help="create this many terminals we own")
    serve.add_argument("--register-with", metavar="VERSIONS_URL", help="register with this CPO on start")
    serve.add_argument("--register-token", help="token A the CPO gave us, with --register-with")
    serve.add_argument("--version", choices=("2.2.1", "2.3.0"), help="version to register with")
    serve.add_argument(
        "--poll-interval", type=float, default=0.0, help="crawl locations and tariffs every N s (0: off)"
    )
    serve.add_argument("--verbose", action="store_true", help="log every request to stderr")
    serve.add_argument(
        "--network-url",
        metavar="URL",
        help="listen on every interface and give partners this base URL, such as http://simulator:9100 "
        "in a container network (the /_sim/ control API still answers loopback only)",
    )

    crawl = sub.add_parser("crawl", help="crawl a CPO's Sender endpoints and print a summary")
    crawl.add_argument("--versions-url", required=True)
    crawl.add_argument("--token", required=True, help="a token the CPO accepts (token C)")
    crawl.add_argument("--version", choices=("2.2.1", "2.3.0"))
    crawl.add_argument("--module", action="append", choices=CRAWLABLE_MODULES, help="repeatable; default all")
    crawl.add_argument("--date-from")
    crawl.add_argument("--date-to")
    crawl.add_argument("--limit", type=int)
    crawl.add_argument("--timeout", type=float, default=10.0, help="seconds per HTTP call")
    crawl.add_argument("--json", action="store_true", help="print the summary as JSON")

    action = sub.add_parser(
        "action",
        help="trigger an action on a running simulator (register, crawl, command, fac, transaction, ...)",
        description="POST /_sim/actions/NAME to a running simulator and print its JSON answer. "
        "Fields are key=value (a string) or key:=json (a number, list or object), e.g. "
        "command=START_SESSION location_id=LOC1 connector_id=1 wait:=10",
    )
    action.add_argument(
        "name",
        help="register, connect, update-credentials, unregister, crawl, get, "
        "command, fac, terminal, transaction",
    )
    action.add_argument("fields", nargs="*", metavar="key=value|key:=json")
    action.add_argument("--sim", default="http://127.0.0.1:9100", help="the simulator's base URL")

    state = sub.add_parser("state", help="print GET /_sim/state of a running simulator")
    state.add_argument("--sim", default="http://127.0.0.1:9100", help="the simulator's base URL")
    return parser


def _serve(args: argparse.Namespace) -> int:
    if not is_loopback_host(args.host):
        print(
            f"refusing to bind {args.host}: the simulator listens on loopback only "
            "(--network-url serves a container network)",
            file=sys.stderr,
        )
        return 2
    state = SimState(
        Config(
            country_code=args.country_code.upper(),
            party_id=args.party_id.upper(),
            # credentials.asciidoc, 'Registration': the Receiver creates token A; we make one up
            # unless told, and show it in /_sim/health and on stderr.
            token_a=args.token_a or new_token(),
            static_tokens=list(args.token),
            poll_interval=args.poll_interval,
            page_limit=args.page_limit,
            preferred_version=args.version,
        )
    )
    # A container network: the portal reaches us by service name, so listen on every interface.
    host = "0.0.0.0" if args.network_url else args.host  # noqa: S104
    server = SimServer(host, args.port, state, verbose=args.verbose)
    if args.network_url:
        state.base_url = args.network_url.rstrip("/")
    if args.seed_terminals:
        for index in range(args.seed_terminals):
            state.put_terminal(_seed_terminal(state, index))
    print(state.base_url, flush=True)
    print(
        f"PTP simulator at {state.base_url}/ocpi/versions, token A {state.config.token_a}",
        file=sys.stderr,
        flush=True,
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    if args.register_with:

        def register() -> None:
            try:
                peer = server.client.register(args.register_with, args.register_token or "", args.version)
                print(
                    f"registered with {args.register_with} using {peer.version}", file=sys.stderr, flush=True
                )
            except OcpiClientError as exc:
                print(f"registration failed: {exc}", file=sys.stderr, flush=True)

        threading.Thread(target=register, daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _seed_terminal(state: SimState, index: int) -> dict[str, object]:
    # Distinct, increasing last_updated so date filters and ordering are meaningful.
    stamp = now_utc() - timedelta(minutes=10_000 - index)
    return {
        "terminal_id": new_id(),
        "country_code": state.config.country_code,
        "party_id": state.config.party_id,
        "reference": f"SIM-{index:05d}",
        "invoice_creator": "PTP",
        "location_ids": [],
        "last_updated": format_datetime(stamp),
    }


def _crawl(args: argparse.Namespace) -> int:
    state = SimState(Config(http_timeout=args.timeout))
    client = CpoClient(state)
    try:
        return _crawl_with(client, args)
    finally:
        client.close()


def _crawl_with(client: CpoClient, args: argparse.Namespace) -> int:
    try:
        peer = client.connect(args.versions_url, args.token, args.version)
    except OcpiClientError as exc:
        print(f"cannot connect: {exc}", file=sys.stderr)
        return 1
    summaries = {}
    failed = False
    for module in args.module or CRAWLABLE_MODULES:
        try:
            result = client.crawl(module, date_from=args.date_from, date_to=args.date_to, limit=args.limit)
        except OcpiClientError as exc:
            failed = True
            summaries[module] = {"error": str(exc)}
            continue
        summaries[module] = result.summary()
        failed = failed or bool(result.warnings) or not result.complete
    if args.json:
        print(json.dumps({"version": peer.version, "modules": summaries}, indent=2))
    else:
        print(f"OCPI {peer.version} at {peer.version_url}")
        for module, summary in summaries.items():
            if "error" in summary:
                print(f"  {module}: ERROR {summary['error']}")
                continue
            print(
                f"  {module}: {summary['object_count']} objects in {summary['pages']} pages"
                f" (X-Total-Count {summary['total_count']})"
            )
            for warning in summary["warnings"]:
                print(f"    warning: {warning}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    # argparse leaves key=value fields after an option (`action NAME --sim URL k=v`) unparsed;
    # they belong to the action, anything left over elsewhere is an error.
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "action":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "action":
        args.fields = [*args.fields, *extra]
    if args.command == "serve":
        return _serve(args)
    if args.command == "action":
        return _action(args)
    if args.command == "state":
        return _print_control(args.sim, lambda control: control.state())
    return _crawl(args)


def _parse_fields(fields: list[str]) -> dict[str, object]:
    """key=value gives a string, key:=json a JSON value (so connector_id=1 stays the string "1")."""
    body: dict[str, object] = {}
    for field in fields:
        if ":=" in field:
            key, _, raw = field.partition(":=")
            body[key] = json.loads(raw)
        elif "=" in field:
            key, _, value = field.partition("=")
            body[key] = value
        else:
            raise SystemExit(f"expected key=value or key:=json, got {field!r}")
    return body


def _action(args: argparse.Namespace) -> int:
    body = _parse_fields(args.fields)
    return _print_control(args.sim, lambda control: control.action(args.name, **body))


def _print_control(base_url: str, call: Callable[[ControlClient], object]) -> int:
    control = ControlClient(base_url)
    try:
        result = call(control)
    except (SimulatorError, httpx.HTTPError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        control.close()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
