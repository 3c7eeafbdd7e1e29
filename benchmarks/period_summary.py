"""Period summaries and export jobs on PostgreSQL: seconds per summary, rows per second of a job.

Seeds ``--rows`` CDRs with the CDR export benchmark's seed (benchmarks/export_cdrs.py, kept between
runs), then prints how long the period summary of all of them takes (and its query count), and how
fast an export job writes them as CSV (finance.jobs.export_job_run: the job's progress updates
included), with its peak memory.

    .venv/bin/python benchmarks/period_summary.py [--rows 20000]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cpo_finance")

from benchmarks.export_cdrs import PREFIX, seed, setup_django  # noqa: E402
from benchmarks.postgres import ensure_database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=20_000, help="CDRs to seed (kept between runs).")
    args = parser.parse_args()
    ensure_database()
    setup_django()
    seed(args.rows)

    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from finance.exports import ExportFilter
    from finance.jobs import export_job_run
    from finance.models import ExportJob
    from finance.summaries import period_summary
    from sessions.models import Cdr

    total = Cdr.objects.filter(cdr_id__startswith=PREFIX).count()
    for _ in range(2):  # the second run with a warm cache
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            rows = period_summary(ExportFilter())
        seconds = time.perf_counter() - started
        print(f"summary of {total} CDRs: {len(rows)} rows in {seconds:.2f} s, {len(queries)} queries")

    settings.FINANCE_EXPORT_DIR = tempfile.mkdtemp(prefix="finance-bench-")
    job = ExportJob.objects.create(export_format="csv", filters={})
    started = time.perf_counter()
    export_job_run(job_id=job.pk)
    seconds = time.perf_counter() - started
    job.refresh_from_db()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"export job (CSV) of {job.rows_done} CDRs: {job.rows_done / seconds:.0f} rows/s ({seconds:.1f} s),"
        f" {job.file_size / 1e6:.1f} MB, status {job.status}, peak RSS {peak_mb:.0f} MB"
    )
    (Path(settings.FINANCE_EXPORT_DIR) / job.file_path).unlink(missing_ok=True)
    job.delete()


if __name__ == "__main__":
    main()
