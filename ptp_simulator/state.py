"""In-memory, thread-safe state of one simulator: configuration, credentials, received and owned data.

Every public method takes the one lock, so the threaded HTTP server and the client side (which
may run in a handler thread of a control action) never see a half-applied change. No method
holds the lock while doing I/O.
"""

from __future__ import annotations

import copy
import threading
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from ptp_simulator.ocpi import PTP_ROLE, format_datetime, now_utc

# Request logs are bounded so a long `make simulate` run cannot grow without limit.
MAX_LOG_ENTRIES = 2000

FAULT_MODES = ("down", "http_500", "http_401", "slow", "accept_then_fail")
FAIL_MODES = ("down", "http_500", "http_401")


@dataclass
class Config:
    """Settings a test or a human may change at runtime (``POST /_sim/config``)."""

    country_code: str = "NL"
    party_id: str = "PTR"
    business_name: str = "PTP Simulator"
    token_a: str | None = None
    # Pre-shared tokens with full access, for pushing to the simulator without a handshake.
    static_tokens: list[str] = field(default_factory=list)
    # Version to register with when a test wants one; None picks the highest mutual version.
    preferred_version: str | None = None
    page_limit: int = 10
    max_page_limit: int = 50
    # Whether an activation (POST terminals/activate) is followed by a POST of the terminal to the CPO.
    push_activated_terminals: bool = True
    http_timeout: float = 10.0
    # Seconds between background crawls of poll_modules while a CPO is connected; 0 is off.
    poll_interval: float = 0.0
    poll_modules: list[str] = field(default_factory=lambda: ["locations", "tariffs"])
    # Endpoints the CPO must list ("commands" or "commands:RECEIVER"); missing ones fail the
    # handshake with 3003 (credentials.asciidoc, 'Required endpoints not available').
    required_cpo_endpoints: list[str] = field(default_factory=list)


@dataclass
class Peer:
    """The CPO we are connected to: how we call it and which token it uses to call us."""

    versions_url: str
    token: str  # the token we send to the CPO
    our_token: str | None  # the token the CPO sends to us (B or C), None for a bare "connect"
    version: str
    version_url: str
    endpoints: list[dict[str, Any]]
    roles: list[dict[str, Any]]
    registered_by: str  # "us" (we POSTed credentials), "them" (they POSTed), "connect" (no handshake)
    registered_at: str

    def endpoint(self, identifier: str, role: str | None = None) -> str | None:
        """The URL of an endpoint in the CPO's version details, matching role when given."""
        for item in self.endpoints:
            if item.get("identifier") != identifier:
                continue
            if role is None or str(item.get("role", "")).upper() == role:
                return str(item.get("url"))
        return None


@dataclass
class Fault:
    """A fault injected on requests whose path starts with ``prefix`` ("" matches every path)."""

    prefix: str
    mode: str
    remaining: int | None = None  # how many more times it fires; None fires until cleared
    seconds: float = 0.0  # for "slow"
    ok_count: int = 0  # for "accept_then_fail": answers that succeed before failing starts
    fail_mode: str = "http_500"  # what "accept_then_fail" does once it fails
    seen: int = 0
    fired: int = 0


@dataclass
class FaultDecision:
    mode: str
    seconds: float = 0.0


@dataclass
class CommandRecord:
    id: str
    command: str
    request: dict[str, Any]
    sent_at: str
    http_status: int | None = None
    response: Any = None  # the CommandResponse envelope as answered synchronously
    error: str | None = None
    result: dict[str, Any] | None = None  # the CommandResult POSTed later to response_url
    result_at: str | None = None
    result_history: list[dict[str, Any]] = field(default_factory=list)


class SimState:
    """All mutable state of one simulator process."""

    def __init__(self, config: Config | None = None) -> None:
        self._lock = threading.RLock()
        self.config = config or Config()
        self.base_url = ""
        self._reset_locked(keep_credentials=False)

    @property
    def lock(self) -> threading.RLock:
        """The state lock, for a read-modify-write that spans several calls (it is reentrant)."""
        return self._lock

    # -- lifecycle ---------------------------------------------------------------------------

    def _reset_locked(self, *, keep_credentials: bool) -> None:
        if not keep_credentials:
            self.peer: Peer | None = None
            self.issued_tokens: set[str] = set()
        self.received: dict[str, dict[str, dict[str, Any]]] = {}
        self.commands: dict[str, CommandRecord] = {}
        self.terminals: dict[str, dict[str, Any]] = {}
        self.terminal_meta: dict[str, dict[str, Any]] = {}
        self.facs: dict[str, dict[str, Any]] = {}
        self.faults: dict[str, Fault] = {}
        self.requests: list[dict[str, Any]] = []
        self.outbound: list[dict[str, Any]] = []
        self.last_crawls: dict[str, dict[str, Any]] = {}

    def reset(self, *, keep_credentials: bool = False) -> None:
        """Forget received data, commands, owned data, faults and logs (config stays)."""
        with self._lock:
            self._reset_locked(keep_credentials=keep_credentials)

    def update_config(self, changes: dict[str, Any]) -> Config:
        with self._lock:
            for key, value in changes.items():
                if not hasattr(self.config, key):
                    raise KeyError(key)
                setattr(self.config, key, _coerce(getattr(self.config, key), value))
            return copy.deepcopy(self.config)

    # -- credentials ---------------------------------------------------------------------------

    def token_access(self, candidates: tuple[str, ...]) -> str | None:
        """'full' for a token issued by us, 'token_a' for the registration token, else None."""
        with self._lock:
            for token in candidates:
                if token in self.issued_tokens or token in self.config.static_tokens:
                    return "full"
            for token in candidates:
                if self.config.token_a is not None and token == self.config.token_a:
                    return "token_a"
            return None

    def issue_token(self, token: str) -> None:
        with self._lock:
            self.issued_tokens.add(token)

    def revoke_token(self, token: str | None) -> None:
        with self._lock:
            if token is not None:
                self.issued_tokens.discard(token)

    def set_peer(self, peer: Peer | None) -> None:
        with self._lock:
            self.peer = peer

    def get_peer(self) -> Peer | None:
        with self._lock:
            return copy.deepcopy(self.peer)

    def own_roles(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {
                    "role": PTP_ROLE,
                    "party_id": self.config.party_id,
                    "country_code": self.config.country_code,
                    "business_details": {"name": self.config.business_name},
                }
            ]

    # -- received objects ----------------------------------------------------------------------

    def record_received(
        self,
        module: str,
        key: str,
        obj: dict[str, Any] | None,
        entry: dict[str, Any],
        *,
        deleted: bool = False,
    ) -> None:
        """Store the new state of a received object and append the request to its history."""
        with self._lock:
            bucket = self.received.setdefault(module, {})
            item = bucket.setdefault(key, {"object": None, "deleted": False, "history": []})
            if obj is not None:
                item["object"] = copy.deepcopy(obj)
            item["deleted"] = deleted
            item["history"].append(copy.deepcopy(entry))

    def get_received(self, module: str, key: str) -> dict[str, Any] | None:
        with self._lock:
            item = self.received.get(module, {}).get(key)
            return copy.deepcopy(item) if item is not None else None

    def received_snapshot(self, module: str | None = None) -> dict[str, Any]:
        with self._lock:
            if module is not None:
                return copy.deepcopy(self.received.get(module, {}))
            return copy.deepcopy(self.received)

    def find_received(self, module: str, **fields: str) -> dict[str, Any] | None:
        """The first stored object of a module whose fields equal the given values."""
        with self._lock:
            for item in self.received.get(module, {}).values():
                obj = item["object"]
                if (
                    obj is not None
                    and not item["deleted"]
                    and all(str(obj.get(name)) == value for name, value in fields.items())
                ):
                    return copy.deepcopy(obj)
            return None

    def log_request(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(copy.deepcopy(entry))
            del self.requests[:-MAX_LOG_ENTRIES]

    def log_outbound(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.outbound.append(copy.deepcopy(entry))
            del self.outbound[:-MAX_LOG_ENTRIES]

    # -- commands ------------------------------------------------------------------------------

    def new_command(self, command: str, request: dict[str, Any], command_id: str) -> None:
        with self._lock:
            self.commands[command_id] = CommandRecord(
                id=command_id,
                command=command,
                request=copy.deepcopy(request),
                sent_at=format_datetime(now_utc()),
            )

    def update_command(self, command_id: str, **changes: Any) -> None:
        with self._lock:
            record = self.commands[command_id]
            for key, value in changes.items():
                setattr(record, key, copy.deepcopy(value))

    def record_command_result(self, command_id: str, result: dict[str, Any]) -> bool:
        """Attach a CommandResult; False when the id is not one we generated."""
        with self._lock:
            record = self.commands.get(command_id)
            if record is None:
                return False
            stamp = format_datetime(now_utc())
            record.result = copy.deepcopy(result)
            record.result_at = stamp
            record.result_history.append({"result": copy.deepcopy(result), "time": stamp})
            return True

    def get_command(self, command_id: str) -> dict[str, Any] | None:
        with self._lock:
            record = self.commands.get(command_id)
            return asdict(record) if record is not None else None

    def commands_snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(record) for record in self.commands.values()]

    # -- owned payments data ---------------------------------------------------------------------

    def put_terminal(self, terminal: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            stored = copy.deepcopy(terminal)
            self.terminals[str(stored["terminal_id"])] = stored
            self.terminal_meta.setdefault(str(stored["terminal_id"]), {"deactivated_at": None})
            return copy.deepcopy(stored)

    def get_terminal(self, terminal_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._find_ci(self.terminals, terminal_id)
            return copy.deepcopy(found) if found is not None else None

    def deactivate_terminal(self, terminal_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._find_ci(self.terminals, terminal_id)
            if found is None:
                return None
            stamp = now_utc()
            found["last_updated"] = format_datetime(stamp)
            self.terminal_meta[str(found["terminal_id"])] = {"deactivated_at": format_datetime(stamp)}
            return copy.deepcopy(found)

    def list_terminals(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self.terminals.values()))

    def put_fac(self, fac: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            stored = copy.deepcopy(fac)
            self.facs[str(stored["id"])] = stored
            return copy.deepcopy(stored)

    def get_fac(self, fac_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._find_ci(self.facs, fac_id)
            return copy.deepcopy(found) if found is not None else None

    def list_facs(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self.facs.values()))

    @staticmethod
    def _find_ci(table: dict[str, dict[str, Any]], key: str) -> dict[str, Any] | None:
        # Ids are CiString (types.asciidoc): compare case-insensitively.
        if key in table:
            return table[key]
        lowered = key.lower()
        for candidate, value in table.items():
            if candidate.lower() == lowered:
                return value
        return None

    # -- faults ----------------------------------------------------------------------------------

    def set_fault(self, fault: Fault) -> None:
        if fault.mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {fault.mode!r}; one of {', '.join(FAULT_MODES)}")
        if fault.remaining is not None and fault.remaining < 1:
            raise ValueError("count must be at least 1 (leave it out for a fault until cleared)")
        if fault.fail_mode not in FAIL_MODES:
            raise ValueError(f"unknown fail_mode {fault.fail_mode!r}; one of {', '.join(FAIL_MODES)}")
        with self._lock:
            self.faults[fault.prefix] = fault

    def clear_faults(self, prefix: str | None = None) -> None:
        with self._lock:
            if prefix is None:
                self.faults.clear()
            else:
                self.faults.pop(prefix, None)

    def faults_snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self.faults.values()]

    def decide_fault(self, path: str) -> FaultDecision | None:
        """The fault to apply to a request on ``path``, counting it; the longest prefix wins."""
        with self._lock:
            matching = [f for f in self.faults.values() if path.startswith(f.prefix)]
            if not matching:
                return None
            fault = max(matching, key=lambda f: len(f.prefix))
            fault.seen += 1
            if fault.mode == "accept_then_fail":
                if fault.seen <= fault.ok_count:
                    return None
                mode = fault.fail_mode
            else:
                mode = fault.mode
            fault.fired += 1
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    del self.faults[fault.prefix]
            return FaultDecision(mode=mode, seconds=fault.seconds)

    # -- snapshots -------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything, as JSON-ready data, for ``GET /_sim/state``."""
        with self._lock:
            return {
                "base_url": self.base_url,
                "config": asdict(self.config),
                "credentials": {
                    "peer": asdict(self.peer) if self.peer is not None else None,
                    "issued_tokens": sorted(self.issued_tokens),
                    "roles": self.own_roles(),
                },
                "received": copy.deepcopy(self.received),
                "commands": [asdict(record) for record in self.commands.values()],
                "terminals": copy.deepcopy(list(self.terminals.values())),
                "terminal_meta": copy.deepcopy(self.terminal_meta),
                "financial_advice_confirmations": copy.deepcopy(list(self.facs.values())),
                "faults": [asdict(f) for f in self.faults.values()],
                "last_crawls": copy.deepcopy(self.last_crawls),
                "request_count": len(self.requests),
                "outbound_count": len(self.outbound),
            }

    def requests_snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self.requests)

    def outbound_snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self.outbound)

    def record_crawl(self, module: str, summary: dict[str, Any]) -> None:
        with self._lock:
            self.last_crawls[module] = copy.deepcopy(summary)


def _coerce(current: Any, value: Any) -> Any:
    """Give a JSON value the type of the setting it replaces (JSON numbers arrive as Decimal)."""
    if value is None or current is None:
        return value
    if isinstance(current, bool):
        return bool(value)
    if isinstance(current, int):
        return int(value)
    if isinstance(current, float):
        return float(value)
    if isinstance(current, list):
        return [str(item) for item in value]
    return str(value)


def new_id() -> str:
    """A fresh object id (CiString(36) fits a UUID)."""
    return str(uuid.uuid4())
