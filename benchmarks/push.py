"""Benchmark EVSE status pushes: outbox -> Redis -> Celery worker -> the PTP simulator on loopback.

Seeds locations with EVSEs in their own database, wires a partner to a simulator process, starts a
real worker (``celery -A cpo_portal worker``, prefork) and then:

0. drain: with the worker stopped, commits one status change per EVSE, starts the worker and prints
   the status PATCHes delivered per second (delivery alone, without producers competing for CPU);
1. throughput: commits status changes as fast as the producer processes can, spread over all EVSEs,
   and prints the status PATCHes the partner received per second, first commit to last answer;
2. latency: commits 100 changes per second for a while and prints percentiles of the time from
   each change's outbox write (just before its commit) to the partner's answer to its PATCH.

    REDIS_URL=redis://127.0.0.1:6379/3 .venv/bin/python benchmarks/push.py

Targets on a 2-core machine: >= 200 status pushes per second sustained, p95 <= 1 s at 100 changes/s.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))

from benchmarks.postgres import ensure_database  # noqa: E402 (needs the repository on the path)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpo_portal.settings_test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cpo_push_bench")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
os.environ.setdefault("LOG_LEVEL", "WARNING")
POOL = "prefork"  # set from --pool
ROUNDS_DONE = 2  # the seeded EVSEs are AVAILABLE (cycle[1]): the first round moves them on
TOKEN = "push-benchmark-token"  # noqa: S105 (a token for a local simulator)


class CpuMeter:
    """CPU seconds spent by each part of the set-up between two readings of /proc (Linux).

    Throughput on a shared 2-core machine varies from run to run with what else runs; the CPU
    time one push costs each part is steadier, and says where the time goes.
    """

    def __init__(self, worker_session: int, simulator_pid: int | None) -> None:
        self.parts = {
            "producers": lambda pid, comm, session: pid == os.getpid(),
            "worker": lambda pid, comm, session: session == worker_session,
            "simulator": lambda pid, comm, session: pid == simulator_pid,
            "PostgreSQL": lambda pid, comm, session: comm == "postgres",
            "Redis": lambda pid, comm, session: comm.startswith("redis-server"),
        }
        self.started = self.reading()

    def reading(self) -> dict[str, float]:
        ticks = os.sysconf("SC_CLK_TCK")
        seconds = dict.fromkeys(self.parts, 0.0)
        seconds["machine"] = self.machine_busy_seconds()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # the process ended meanwhile
            comm = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2 :].split()
            # Fields after the name, from 3: state, ppid, pgrp, session, ..., utime (14), stime (15).
            session, used = int(fields[3]), (int(fields[11]) + int(fields[12])) / ticks
            if int(entry.name) == os.getpid() or comm == "postgres":
                # Add the time of children that ended (16, 17): our producers once joined, and
                # a PostgreSQL backend, whose time moves to the postmaster when it exits (as the
                # producers' connections do when they end).
                used += (int(fields[13]) + int(fields[14])) / ticks
            for part, matches in self.parts.items():
                if matches(int(entry.name), comm, session):
                    seconds[part] += used
        return seconds

    @staticmethod
    def machine_busy_seconds() -> float:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = values[3] + values[4]  # idle and iowait
        return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")

    def summary(self, pushes: int, wall_seconds: float) -> str:
        now = self.reading()
        spent = {part: now[part] - self.started[part] for part in now}
        parts = ", ".join(
            f"{part} {spent[part] / pushes * 1000:.1f}" for part in self.parts if spent[part] > 0
        )
        busy = spent["machine"] / (wall_seconds * (os.cpu_count() or 1)) * 100
        return f"CPU ms per push: {parts} (machine {busy:.0f} % busy)"


def reset_and_seed(base_url: str, locations: int, evses_per_location: int) -> list[int]:
    """Empty the tables, wire a partner to the simulator, create locations with EVSEs and connectors."""
    from django.db import connection, transaction

    from locations.models import (
        Connector,
        ConnectorFormat,
        ConnectorType,
        Evse,
        EvseStatus,
        Location,
        PowerType,
    )
    from partners.models import Partner, PartnerEndpoint, Party
    from pushes.services import object_changed

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE pushes_deliveryattempt, pushes_outboxmessage, pushes_partnercopy, "
            "pushes_partnerpushstatus, pushes_pullcursor, ocpi_api_outboundrequestlog, "
            "locations_connector_tariffs, locations_connector, locations_evse, locations_regularhours, "
            "payments_paymentterminal_evses, payments_paymentterminal_locations, "
            "locations_location CASCADE"
        )
    Partner.objects.filter(name="Benchmark PTP").delete()
    party, _ = Party.objects.get_or_create(country_code="NL", party_id="BEN", defaults={"name": "Bench CPO"})
    by_position: list[list[int]] = [[] for _ in range(evses_per_location)]
    for n in range(locations):
        location = Location.objects.create(
            party=party,
            location_id=f"BENCH{n:04d}",
            address="Benchmarkstraat 1",
            city="Utrecht",
            country="NLD",
            latitude="52.0893190",
            longitude="5.1101700",
            time_zone="Europe/Amsterdam",
        )
        for m in range(evses_per_location):
            evse = Evse.objects.create(location=location, uid=f"B{n:04d}-{m}", status=EvseStatus.AVAILABLE)
            Connector.objects.create(
                evse=evse,
                connector_id="1",
                standard=ConnectorType.IEC_62196_T2,
                format=ConnectorFormat.SOCKET,
                power_type=PowerType.AC_3_PHASE,
                max_voltage=230,
                max_amperage=32,
            )
            by_position[m].append(evse.pk)
    partner = Partner.objects.create(
        name="Benchmark PTP", status=Partner.Status.REGISTERED, version="2.2.1", token_b=TOKEN
    )
    PartnerEndpoint.objects.create(
        partner=partner,
        module="locations",
        interface_role=PartnerEndpoint.InterfaceRole.RECEIVER,
        url=f"{base_url}/ocpi/2.2.1/locations",
    )
    # The partner comes last, so the seeding queued nothing; one PUT per location gives it
    # everything (the PUT carries the EVSEs and connectors).
    with transaction.atomic():
        for location in Location.objects.all():
            object_changed(location)
    # Consecutive changes go to different locations: an EVSE change also bumps its location's
    # last_updated, and changes at one location would queue behind each other's row lock.
    return [pk for position in by_position for pk in position]


def start_worker(concurrency: int, log_path: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update({"CELERY_TASK_ALWAYS_EAGER": "false", "LOG_LEVEL": "WARNING"})
    env.update({"PUSH_REQUEUE_INTERVAL_SECONDS": "1"})
    schedule = tempfile.mkstemp(prefix="push-bench-beat-")[1]
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "cpo_portal",
        "worker",
        "--beat",
        f"--schedule={schedule}",
    ]
    command += ["--queues=push_fast,celery"]
    command += [f"--concurrency={concurrency}", f"--pool={POOL}", "--loglevel=WARNING"]
    command += ["--without-gossip", "--without-mingle"]
    log = open(log_path, "wb")  # noqa: SIM115 (kept open for the worker's lifetime)
    return subprocess.Popen(  # noqa: S603 (our own interpreter and module)
        command, cwd=REPOSITORY, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    """Stop the worker and its pool (its own process group); kill it if it does not stop in time."""
    if worker.poll() is not None:
        return
    os.killpg(worker.pid, signal.SIGTERM)
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=20)


def wait_until_delivered(timeout: float) -> float:
    """Wait until no message is open; returns the moment (time.time()) it was seen."""
    from pushes.models import OutboxMessage

    deadline = time.monotonic() + timeout
    while OutboxMessage.objects.filter(state__in=("PENDING", "IN_FLIGHT")).exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"messages still open after {timeout} s")
        time.sleep(0.05)
    return time.time()


def change_statuses(
    evse_ids: list[int], count: int, *, producers: int, rate: float | None
) -> tuple[float, float]:
    """Commit ``count`` status changes spread over the EVSEs; returns (first, last) commit times.

    The producers are processes, as the charger gateway's and the web server's are in production
    (threads of one interpreter would share its lock and measure that instead). Every change is a
    real one: each round over the EVSEs moves every EVSE to the next status of the cycle,
    continuing from where the previous call left off.
    """
    global ROUNDS_DONE
    import multiprocessing

    from django.db import connections

    first_round = ROUNDS_DONE
    ROUNDS_DONE += -(-count // len(evse_ids))  # rounds begun, a partial one included
    started = time.time() + 0.2  # the processes start together, after they are all forked
    connections.close_all()  # a forked child must not share the parent's connection
    context = multiprocessing.get_context("fork")
    results = context.SimpleQueue()
    processes = [
        context.Process(
            target=produce,
            args=(evse_ids, range(offset, count, producers), first_round, started, rate, results),
        )
        for offset in range(producers)
    ]
    for process in processes:
        process.start()
    times = [results.get() for _ in processes]
    for process in processes:
        process.join()
    if any(process.exitcode for process in processes):
        raise SystemExit("a producer failed")
    return min(first for first, _ in times), max(last for _, last in times)


def produce(
    evse_ids: list[int],
    indexes: range,
    first_round: int,
    started: float,
    rate: float | None,
    results: Any,
) -> None:
    """One producer process: commit the changes numbered ``indexes``; report (first, last) commit times."""
    from django.db import connection, transaction

    from locations.models import Evse, EvseStatus

    cycle = [EvseStatus.CHARGING, EvseStatus.AVAILABLE, EvseStatus.BLOCKED]
    committed: list[float] = []
    time.sleep(max(0.0, started - time.time()))
    try:
        for index in indexes:
            if rate is not None:
                # Paced: change number ``index`` is due ``index / rate`` seconds after the start.
                delay = started + index / rate - time.time()
                if delay > 0:
                    time.sleep(delay)
            evse_id = evse_ids[index % len(evse_ids)]
            status = cycle[(first_round + index // len(evse_ids)) % len(cycle)]
            with transaction.atomic():
                # As the charging flow sets a status (sessions.lifecycle._set_evse_status).
                evse = Evse.objects.get(pk=evse_id)
                evse.status = status
                evse.save(update_fields=["status"])
            committed.append(time.time())
    finally:
        connection.close()
        results.put((min(committed, default=started), max(committed, default=started)))


def status_patches_received(sim: Any) -> int:
    """EVSE PATCHes the simulator has received so far (its own record, not ours)."""
    return sum(
        1
        for item in sim.control.received("locations").values()
        for entry in item["history"]
        if entry["method"] == "PATCH" and entry.get("target") == "evse"
    )


def delivered_status_patches(since: float) -> list[tuple[float, float]]:
    """(written, answered) epoch seconds of each delivered EVSE status PATCH since ``since``."""
    from datetime import UTC, datetime

    from pushes.models import DeliveryAttempt

    rows = DeliveryAttempt.objects.filter(
        outcome="DELIVERED",
        method="PATCH",
        message__copy__object_type="evse",
        started_at__gte=datetime.fromtimestamp(since, tz=UTC),
    ).values_list("message__changed_at", "started_at", "duration_ms")
    return [(changed.timestamp(), started.timestamp() + ms / 1000) for changed, started, ms in rows]


def run_throughput(
    sim: Any,
    evse_ids: list[int],
    args: argparse.Namespace,
    received_before: int,
    mark: float,
    worker: subprocess.Popen[bytes],
) -> None:
    """Commit changes as fast as the producers can; print the pushes per second the partner got."""
    meter = CpuMeter(worker.pid, sim.pid)
    first, last = change_statuses(evse_ids, args.changes, producers=args.producers, rate=None)
    done = wait_until_delivered(timeout=600)
    patches = delivered_status_patches(mark)
    received = status_patches_received(sim) - received_before
    print(
        f"throughput: {args.changes} changes committed in {last - first:.1f} s "
        f"({args.changes / (last - first):.0f}/s); the partner received {received} status PATCHes, "
        f"last answer {done - first:.1f} s after the first commit: "
        f"{received / (done - first):.0f} pushes/s sustained"
    )
    print(f"  {meter.summary(received, done - first)}")
    # A PATCH whose answer was lost is sent again (status PATCHes are idempotent): the partner may
    # then count one more than we delivered, never one less.
    assert received >= len(patches), (len(patches), received)


def run_drain(sim: Any, evse_ids: list[int], args: argparse.Namespace, worker: Any, log_path: str) -> Any:
    """Queue one status change per EVSE with the worker stopped, start it, time how fast it drains.

    This measures delivery alone: the producers do not compete with the worker for the CPU.
    """
    from datetime import UTC, datetime

    from django.db.models import Max, Min

    from pushes.models import DeliveryAttempt

    stop_worker(worker)
    received_before = status_patches_received(sim)
    mark = datetime.now(tz=UTC)
    change_statuses(evse_ids, len(evse_ids), producers=args.producers, rate=None)
    worker = start_worker(args.concurrency, log_path)
    meter = CpuMeter(worker.pid, sim.pid)  # the worker's start counts: it is part of a drain
    started = time.time()
    wait_until_delivered(timeout=600)
    span = DeliveryAttempt.objects.filter(started_at__gte=mark).aggregate(
        first=Min("started_at"), last=Max("started_at")
    )
    received = status_patches_received(sim) - received_before
    seconds = (span["last"] - span["first"]).total_seconds()
    print(
        f"drain: {received} status PATCHes queued with the worker stopped were delivered in "
        f"{seconds:.1f} s from the first to the last call: {received / seconds:.0f} pushes/s"
    )
    print(f"  {meter.summary(received, time.time() - started)}")
    return worker


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--locations", type=int, default=500)
    parser.add_argument("--evses-per-location", type=int, default=2)
    parser.add_argument("--drain", type=int, default=1, help="1: first time draining a queued backlog")
    parser.add_argument("--changes", type=int, default=4000, help="status changes in the throughput run")
    parser.add_argument("--producers", type=int, default=4, help="processes committing changes")
    parser.add_argument("--concurrency", type=int, default=6, help="worker processes")
    parser.add_argument("--rate", type=float, default=100.0, help="changes per second in the latency run")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the latency run")
    parser.add_argument("--pool", default="prefork", choices=("prefork", "threads"), help="Celery pool")
    args = parser.parse_args()
    global POOL
    POOL = args.pool
    if not os.environ.get("REDIS_URL"):
        raise SystemExit("Set REDIS_URL: the benchmark measures delivery through a real Redis and worker.")

    ensure_database()
    import django

    django.setup()
    import redis
    from django.core.management import call_command

    from ptp_simulator.process import SimulatorProcess
    from pushes.models import DeliveryAttempt

    call_command("migrate", verbosity=0)
    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    log_path = tempfile.mkstemp(prefix="push-bench-worker-", suffix=".log")[1]
    with SimulatorProcess(tokens=[TOKEN]) as sim:
        evse_ids = reset_and_seed(sim.base_url, args.locations, args.evses_per_location)
        worker = start_worker(args.concurrency, log_path)
        try:
            wait_until_delivered(timeout=300)
            print(
                f"{len(evse_ids)} EVSEs at {args.locations} locations; "
                f"worker pool {args.pool} x {args.concurrency}, {args.producers} producer processes"
            )

            if args.drain:
                worker = run_drain(sim, evse_ids, args, worker, log_path)

            # 1. Throughput (skipped with --changes 0).
            received_before = status_patches_received(sim)
            mark = time.time()
            if args.changes:
                run_throughput(sim, evse_ids, args, received_before, mark, worker)
            if not args.seconds:
                return
            # 2. Latency at a steady rate.
            time.sleep(1)
            mark = time.time()
            meter = CpuMeter(worker.pid, sim.pid)
            count = int(args.rate * args.seconds)
            change_statuses(evse_ids, count, producers=args.producers, rate=args.rate)
            wait_until_delivered(timeout=300)
            latencies = sorted(answered - written for written, answered in delivered_status_patches(mark))
            quantiles = statistics.quantiles(latencies, n=100)
            print(
                f"latency at {args.rate:.0f} changes/s for {args.seconds:.0f} s ({len(latencies)} pushes): "
                f"p50 {quantiles[49] * 1000:.0f} ms, p95 {quantiles[94] * 1000:.0f} ms, "
                f"p99 {quantiles[98] * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms"
            )
            print(f"  {meter.summary(len(latencies), time.time() - mark)}")
            failures = DeliveryAttempt.objects.exclude(outcome="DELIVERED").count()
            print(f"failed attempts: {failures}")
        finally:
            stop_worker(worker)
    print(f"worker log: {log_path}")


if __name__ == "__main__":
    main()
