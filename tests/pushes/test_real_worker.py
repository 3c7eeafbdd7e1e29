"""End to end with real parts: Redis as broker, a Celery worker (with beat) as a separate process, the
PTP simulator on loopback, and the pytest database committed so the worker sees it.

Every wait is bounded; the worker's log is shown when a wait runs out.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from cpo_portal.celery import app as celery_app
from locations.models import EvseStatus
from partners.models import Partner
from ptp_simulator.process import SimulatorProcess
from pushes.models import DeliveryAttempt, OutboxMessage, PartnerPushStatus
from pushes.payloads import body_for
from sessions.models import SessionStatus
from tests.factories import CdrFactory, ChargingSessionFactory, ConnectorFactory, EvseFactory, LocationFactory
from tests.pushes.conftest import SIM_TOKEN, wire_partner

REPOSITORY = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL (a real Redis)"),
    # The worker is another process: it shares a database server with the suite, which the test
    # run's SQLite database cannot be (CI runs these on PostgreSQL).
    pytest.mark.skipif(connection.vendor != "postgresql", reason="a worker process needs PostgreSQL"),
]

WORKER_ENV = {
    "CELERY_TASK_ALWAYS_EAGER": "false",
    "PUSH_RETRY_BASE_SECONDS": "0.2",
    "PUSH_RETRY_CAP_SECONDS": "1",
    "PUSH_HTTP_TIMEOUT": "5",
    "PUSH_LEASE_SECONDS": "6",
    "PUSH_UNKNOWN_OUTCOME_SETTLE_SECONDS": "1",
    "PUSH_REQUEUE_INTERVAL_SECONDS": "0.5",
    "PUSH_FRESH_MESSAGE_GRACE_SECONDS": "3",
}


class Worker:
    """``celery -A cpo_portal worker -B`` in its own process group, against the test database."""

    def __init__(self, database_name: str, env: dict[str, str] | None = None) -> None:
        self.database_name = database_name
        self.env = {**WORKER_ENV, **(env or {})}
        self.log = tempfile.NamedTemporaryFile(prefix="push-worker-", suffix=".log", delete=False)  # noqa: SIM115
        self.schedule = Path(tempfile.mkdtemp(prefix="push-beat-")) / "schedule"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        env = dict(os.environ)
        env.update(self.env)
        env["DJANGO_SETTINGS_MODULE"] = "cpo_portal.settings_test"
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{self.database_name}"
        env["REDIS_URL"] = settings.REDIS_URL
        command = [sys.executable, "-m", "celery", "-A", "cpo_portal", "worker", "--beat"]
        command += ["--queues=push_fast,celery", "--concurrency=2", "--loglevel=INFO"]
        command += [f"--schedule={self.schedule}", "--without-gossip", "--without-mingle"]
        self.process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            command,
            cwd=REPOSITORY,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children): nothing gets to clean up."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None

    def log_text(self) -> str:
        return Path(self.log.name).read_text(encoding="utf-8", errors="replace")[-6000:]


def wait_for(condition: Callable[[], bool], what: str, worker: Worker, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s. Worker log:\n{worker.log_text()}")
        time.sleep(0.1)


def running_worker(env: dict[str, str] | None = None) -> Iterator[Worker]:
    redis.Redis.from_url(settings.REDIS_URL).flushdb()  # our own Redis database: no stale tasks
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    running = Worker(connection.settings_dict["NAME"], env).start()
    try:
        yield running
    finally:
        running.stop()
        celery_app.conf.task_always_eager = eager
        connection.close()


@pytest.fixture
def worker(transactional_db: None, django_db_setup: None) -> Iterator[Worker]:
    yield from running_worker()


# The production schedule scaled down 15 times: probes every second instead of every 15 s (the beat
# every 0.5 s instead of 10 s), retries growing from 2 s to the production cap of 30 minutes.
OUTAGE_ENV = {
    "PUSH_RETRY_BASE_SECONDS": "2",
    "PUSH_RETRY_CAP_SECONDS": "1800",
    "PUSH_FAILURE_WINDOW_SECONDS": "1",
    "PUSH_PROBE_INTERVAL_SECONDS": "1",
    "PUSH_REQUEUE_INTERVAL_SECONDS": "0.5",
}
PROBE_INTERVAL = 1.0


@pytest.fixture
def outage_worker(transactional_db: None, django_db_setup: None) -> Iterator[Worker]:
    yield from running_worker(OUTAGE_ENV)


@pytest.fixture
def live_payter(sim: SimulatorProcess, transactional_db: None) -> Partner:
    return wire_partner(sim, SIM_TOKEN, name="Payter")


def nothing_open() -> bool:
    return not OutboxMessage.objects.filter(state__in=("PENDING", "IN_FLIGHT")).exists()


def without_last_updated(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_last_updated(v) for k, v in value.items() if k != "last_updated"}
    if isinstance(value, list):
        return [without_last_updated(v) for v in value]
    return value


def test_after_an_outage_the_partner_holds_our_state_object_for_object_and_each_cdr_once(
    live_payter: Partner, sim: SimulatorProcess, worker: Worker
) -> None:
    locations = [LocationFactory() for _ in range(3)]
    evses = [EvseFactory(location=location) for location in locations for _ in range(2)]
    for evse in evses:
        ConnectorFactory(evse=evse)
    live_sessions = [
        ChargingSessionFactory(partner=live_payter, connector=evse.connectors.get()) for evse in evses[:3]
    ]
    wait_for(nothing_open, "initial pushes delivered", worker)

    sim.control.fault("/ocpi/2.2.1/", "down")  # every OCPI path of the partner
    for round_number in range(3):
        for evse in evses:
            evse.status = (EvseStatus.CHARGING, EvseStatus.AVAILABLE, EvseStatus.BLOCKED)[round_number]
            evse.save(update_fields=["status"])
    for location in locations:
        location.name = f"{location.name} (renamed)"
        location.save()
    cdrs = []
    for session in live_sessions:
        session.kwh = Decimal("21.5")
        session.status = SessionStatus.COMPLETED
        session.end_date_time = timezone.now()
        session.save()
        cdrs.append(CdrFactory(session=session))
    wait_for(
        lambda: DeliveryAttempt.objects.filter(outcome__in=("RETRY", "UNKNOWN")).count() >= 3,
        "failed attempts during the outage",
        worker,
    )
    sim.control.clear_faults()
    wait_for(nothing_open, "everything delivered after the outage", worker, timeout=90)

    for location in locations:
        location.refresh_from_db()
        key = f"{location.party.country_code}/{location.party.party_id}/{location.location_id}"
        held = sim.control.received("locations", key)["object"]
        assert without_last_updated(held) == without_last_updated(body_for("location", location, "2.2.1"))
    for session in live_sessions:
        session.refresh_from_db()
        key = f"{session.party.country_code}/{session.party.party_id}/{session.session_id}"
        held = sim.control.received("sessions", key)["object"]
        assert without_last_updated(held) == without_last_updated(body_for("session", session, "2.2.1"))
    received_cdrs = sim.control.received("cdrs")
    assert set(received_cdrs) == {f"{c.party.country_code}/{c.party.party_id}/{c.cdr_id}" for c in cdrs}
    for item in received_cdrs.values():
        assert [entry["method"] for entry in item["history"]] == ["POST"]  # once, no duplicate


def test_a_worker_killed_mid_delivery_loses_nothing_and_duplicates_nothing(
    live_payter: Partner, sim: SimulatorProcess, worker: Worker
) -> None:
    # The partner takes 3 s to store the CDR; the worker is killed while it waits for the answer.
    sim.control.fault("/ocpi/2.2.1/cdrs", "slow", seconds=3, count=1)
    cdr = CdrFactory(session__partner=live_payter)
    message = OutboxMessage.objects.get(action="POST_CDR")
    wait_for(
        lambda: OutboxMessage.objects.get(pk=message.pk).state == "IN_FLIGHT", "CDR POST in flight", worker
    )
    time.sleep(0.5)
    worker.kill()
    key = f"{cdr.party.country_code}/{cdr.party.party_id}/{cdr.cdr_id}"
    wait_for(
        lambda: bool(sim.control.received("cdrs", key)), "the partner stored the CDR", worker, timeout=10
    )

    worker.start()
    wait_for(lambda: OutboxMessage.objects.get(pk=message.pk).state == "DELIVERED", "CDR delivered", worker)

    assert [entry["method"] for entry in sim.control.received("cdrs", key)["history"]] == ["POST"]
    outcomes = list(DeliveryAttempt.objects.filter(message=message).values_list("outcome", flat=True))
    assert outcomes == ["PROBE"]  # the new worker asked first and found it; the dead one recorded nothing
    message.refresh_from_db()
    assert message.attempts == 2


def test_without_redis_the_embedded_set_up_delivers_in_process_after_commit(
    live_payter: Partner, sim: SimulatorProcess, transactional_db: None
) -> None:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "cpo_portal.settings",
            "DJANGO_DEBUG": "true",
            "REDIS_URL": "",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
        }
    )
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    script = "from tests.factories import LocationFactory; LocationFactory(location_id='EMBEDDED-1')"
    subprocess.run(  # noqa: S603 (our own interpreter and manage.py)
        [sys.executable, "manage.py", "shell", "-c", script], cwd=REPOSITORY, env=env, check=True, timeout=60
    )

    assert [key for key in sim.control.received("locations") if key.endswith("/EMBEDDED-1")]
    assert OutboxMessage.objects.get().state == OutboxMessage.State.DELIVERED


def test_one_fast_path_task_watches_a_stream_of_status_changes_and_lets_go_when_it_ends(
    live_payter: Partner, sim: SimulatorProcess, settings: Any
) -> None:
    """While a fast-path task runs, commits wake no other task (it looks again after each); once
    idle it lets go of the wake-up key, and the next commit wakes a new task."""
    from django.core.cache import cache

    from pushes import fast, wakeups

    broker = redis.Redis.from_url(settings.REDIS_URL)
    broker.flushdb()
    settings.PUSH_FAST_LINGER_SECONDS = 0.02
    settings.PUSH_FAST_IDLE_SECONDS = 0.5
    evses = [EvseFactory(location=LocationFactory()) for _ in range(4)]  # PUT in process (eager)

    def queued_fast_tasks() -> int:
        return sum(broker.llen(key) for key in broker.keys("push_fast*") if broker.type(key) == b"list")

    delivered: list[int] = []

    def run_task() -> None:
        try:
            delivered.append(fast.deliver_fast())
        finally:
            connection.close()

    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        task = threading.Thread(target=run_task)
        task.start()
        for evse in evses:
            time.sleep(0.1)
            evse.status = EvseStatus.CHARGING
            evse.save(update_fields=["status"])  # committed: autocommit
        assert cache.get(wakeups.FAST_WAKE_KEY), "the running task holds the wake-up key"
        task.join(timeout=15)
        assert not task.is_alive()
        assert delivered == [4]
        assert queued_fast_tasks() == 0  # four commits, no new task
        assert cache.get(wakeups.FAST_WAKE_KEY) is None

        evses[0].status = EvseStatus.AVAILABLE
        evses[0].save(update_fields=["status"])
        assert queued_fast_tasks() == 1  # nobody watches now: the commit woke a task
    finally:
        celery_app.conf.task_always_eager = eager
    statuses = [
        entry["body"]["status"]
        for item in sim.control.received("locations").values()
        for entry in item["history"]
        if entry["method"] == "PATCH"
    ]
    assert statuses == ["CHARGING"] * 4


def test_a_busy_fast_path_task_has_at_most_push_fast_helpers_helpers(
    settings: Any, transactional_db: None
) -> None:
    """More processes than cores would only contend for the same rows: a call for help while every
    helper slot is taken queues nothing, and a helper's leaving lets the next call through."""
    from pushes import wakeups

    broker = redis.Redis.from_url(settings.REDIS_URL)
    broker.flushdb()

    def queued_helpers() -> int:
        return sum(broker.llen(key) for key in broker.keys("push_fast*") if broker.type(key) == b"list")

    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        settings.PUSH_FAST_HELPERS = 2
        for _ in range(3):
            wakeups.fast_path_help()
        assert queued_helpers() == 2
        wakeups.fast_path_helped(0)  # as the first helper's run ends
        wakeups.fast_path_help()
        wakeups.fast_path_help()
        assert queued_helpers() == 3
    finally:
        celery_app.conf.task_always_eager = eager


def test_after_an_outage_of_many_probe_intervals_every_push_arrives_within_a_few_once_the_partner_is_back(
    live_payter: Partner, sim: SimulatorProcess, outage_worker: Worker
) -> None:
    """The target: after an outage of up to 5 minutes, every pending push is delivered within 60 s
    of the partner coming back (4 probe intervals of 15 s). Here the outage lasts 12 probe intervals
    and the partner gets 20 intervals (20 s, room for a loaded machine) to have everything, far
    below the partner back-off of up to 30 minutes that a failed batch used to cause: the release
    after the first answered probe delivers it, not the messages' own retries."""
    worker = outage_worker
    locations = [LocationFactory() for _ in range(3)]
    evses = [EvseFactory(location=location) for location in locations for _ in range(3)]
    sessions = [
        ChargingSessionFactory(partner=live_payter, connector=ConnectorFactory(evse=e)) for e in evses[:3]
    ]
    wait_for(nothing_open, "initial pushes delivered", worker)

    sim.control.fault("/ocpi/2.2.1/", "down")
    outage_started = time.monotonic()
    for evse in evses:  # one batch of status PATCHes on the fast path
        evse.status = EvseStatus.CHARGING
        evse.save(update_fields=["status"])
    for location in locations:
        location.name = f"{location.name} (renamed)"
        location.save()
    cdrs = []
    for session in sessions:
        session.status = SessionStatus.COMPLETED
        session.end_date_time = timezone.now()
        session.save()
        cdrs.append(CdrFactory(session=session))
    status = PartnerPushStatus.objects.filter(partner=live_payter)
    wait_for(lambda: status.filter(retry_after__isnull=False).exists(), "the partner found down", worker)
    time.sleep(2 * PROBE_INTERVAL)  # attempts in flight when it was found down finish

    def tried() -> int:
        return sum(1 for entry in sim.control.requests() if entry["fault"] == "down")

    tried_before, probing_since = tried(), time.monotonic()
    while time.monotonic() - outage_started < 12 * PROBE_INTERVAL:
        for evse in evses:  # changes keep coming during the outage
            evse.status = EvseStatus.AVAILABLE if evse.status == EvseStatus.CHARGING else EvseStatus.CHARGING
            evse.save(update_fields=["status"])
        time.sleep(PROBE_INTERVAL)
    assert status.get().retry_after is not None  # still down when it comes back
    probes = tried() - tried_before
    probe_intervals = (time.monotonic() - probing_since) / PROBE_INTERVAL

    sim.control.clear_faults()
    wait_for(nothing_open, "every push delivered after the outage", worker, timeout=20 * PROBE_INTERVAL)

    # While down, the partner got one message per probe interval, not every message again and again.
    assert 1 <= probes <= probe_intervals + 1
    assert status.get().retry_after is None
    for evse in evses:
        evse.refresh_from_db()
        key = f"{evse.location.party.country_code}/{evse.location.party.party_id}/{evse.location.location_id}"
        held = sim.control.received("locations", key)["object"]
        assert next(item for item in held["evses"] if item["uid"] == evse.uid)["status"] == evse.status
    received_cdrs = sim.control.received("cdrs")
    assert set(received_cdrs) == {f"{c.party.country_code}/{c.party.party_id}/{c.cdr_id}" for c in cdrs}
