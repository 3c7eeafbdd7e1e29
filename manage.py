#!/usr/bin/env python
"""Django's command-line utility for cpo_portal.

Development settings by default (debug on, no SECRET_KEY needed); production shells set
DJANGO_SETTINGS_MODULE=cpo_portal.settings, as the web, worker and beat entry points do.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpo_portal.settings_dev")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
