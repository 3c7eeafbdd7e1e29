"""The OCPI material the tests read, kept inside the repository under ``tests/data/ocpi``.

The files are unmodified copies (licences and sources in ``tests/data/ocpi/README.md``). A file
that is missing fails the test that wants it, and a glob that finds nothing fails collection,
so a broken copy can never turn into skipped tests or an empty parameter set.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OCPI = Path(__file__).resolve().parent / "data" / "ocpi"


def ocpi_file(*parts: str) -> Path:
    """The path of one file under ``tests/data/ocpi``; FileNotFoundError when it is not there."""
    path = OCPI.joinpath(*parts)
    if not path.is_file():
        raise FileNotFoundError(f"OCPI test data is missing: {path} (see tests/data/ocpi/README.md)")
    return path


def ocpi_json(*parts: str) -> Any:
    """One JSON file under ``tests/data/ocpi``, parsed."""
    return json.loads(ocpi_file(*parts).read_text(encoding="utf-8"))


def ocpi_examples(version: str, pattern: str) -> list[Path]:
    """The spec's example files of ``version`` matching ``pattern``, sorted; never an empty list."""
    found = sorted((OCPI / version / "examples").glob(pattern))
    if not found:
        raise FileNotFoundError(f"no OCPI {version} example matches {pattern} under {OCPI}")
    return found
