"""Width of every admin page at a 1440 px window, measured in headless Chromium.

Loads the demo data (``manage.py seed_demo``) into its own database, serves the portal with
``runserver`` on loopback, signs in as a superuser and, for every registered model, opens its
list and the page of one of its objects, reading ``document.documentElement.scrollWidth`` plus
whatever a list's table hides in its horizontally scrolling box. Pages
wider than the window are marked; ``--fail`` makes the script exit 1 when there are any.

    .venv/bin/python benchmarks/admin_widths.py [--width 1440] [--fail]

Needs Playwright for Python and Debian's Chromium (/usr/bin/chromium).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))

from benchmarks.postgres import ensure_database  # noqa: E402 (needs the repository on the path)
from tests.admin.widths import CONTENT_WIDTH_JS, partner_traffic  # noqa: E402

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cpo_admin_widths")
os.environ["DJANGO_SETTINGS_MODULE"] = "cpo_portal.settings_dev"  # runserver serves the static files
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
USERNAME = "widths"
PASSWORD = "widths-correct-horse"  # noqa: S105 (a throwaway login on a loopback server)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare() -> list[tuple[str, str]]:
    """Demo data, a superuser, and the pages to measure: (label, path)."""
    import django

    django.setup()
    from django.contrib import admin
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.urls import reverse

    call_command("migrate", verbosity=0)
    call_command("seed_demo", "--if-empty", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    partner_traffic()
    user_model = get_user_model()
    user = user_model.objects.filter(username=USERNAME).first() or user_model.objects.create_superuser(
        USERNAME, "widths@example.com", PASSWORD
    )
    user.set_password(PASSWORD)
    user.save()
    pages = []
    for model in sorted(admin.site._registry, key=lambda m: m._meta.label):
        opts = model._meta
        name = f"{opts.app_label}_{opts.model_name}"
        pages.append((f"{opts.label} list", reverse(f"admin:{name}_changelist")))
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            pages.append((f"{opts.label} page", reverse(f"admin:{name}_change", args=[obj.pk])))
    pages.append(("admin index", reverse("admin:index")))
    return pages


def measure(
    base: str, pages: list[tuple[str, str]], width: int, screenshots: Path | None = None
) -> list[tuple[str, str, int, int]]:
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(f"{base}/admin/login/")
        page.fill("#id_username", USERNAME)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{base}/admin/")
        for label, path in pages:
            response = page.goto(base + path)
            status = response.status if response else 0
            results.append((label, path, status, int(page.evaluate(CONTENT_WIDTH_JS))))
            if screenshots is not None:
                page.screenshot(path=str(screenshots / f"{label.replace(' ', '_')}.png"), full_page=True)
        browser.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--width", type=int, default=1440)
    parser.add_argument("--fail", action="store_true", help="exit 1 when a page is wider than the window")
    parser.add_argument("--screenshots", type=Path, help="save a full-page PNG of each page in this folder")
    arguments = parser.parse_args()
    if arguments.screenshots:
        arguments.screenshots.mkdir(parents=True, exist_ok=True)
    ensure_database()
    pages = prepare()
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603 (our own manage.py)
        [sys.executable, "manage.py", "runserver", "--noreload", "--nothreading", f"127.0.0.1:{port}"],
        cwd=REPOSITORY,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        results = measure(f"http://127.0.0.1:{port}", pages, arguments.width, arguments.screenshots)
    finally:
        server.terminate()
        server.wait(timeout=10)
    too_wide = [row for row in results if row[3] > arguments.width]
    for label, path, status, scroll_width in results:
        mark = "  TOO WIDE" if scroll_width > arguments.width else ""
        print(f"{scroll_width:>6} px  {status}  {label:<48} {path}{mark}")
    lists = [row for row in results if row[0].endswith(" list")]
    print(
        f"{len([r for r in too_wide if r in lists])} of {len(lists)} lists and "
        f"{len([r for r in too_wide if r not in lists])} other pages wider than {arguments.width} px"
    )
    if arguments.fail and too_wide:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
