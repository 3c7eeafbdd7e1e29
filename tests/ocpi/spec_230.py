"""Check output against the OCPI 2.3.0 object definitions, read from the spec's own tables.

2.3.0 has no JSON Schemas, so the property tables of ``tests/data/ocpi/2.3.0/*.asciidoc`` are the
reference: every key we send must be a property of the object, every property of cardinality
1 or + must be there, and nested objects/classes are checked the same way.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from tests.spec_data import ocpi_file

_REFERENCE = re.compile(r"<<(?:(?P<file>[a-z_]+)\.asciidoc#)?(?P<anchor>[a-z0-9_]+),[^>]*>>")


@cache
def _lines(file: str) -> list[str]:
    return ocpi_file("2.3.0", f"{file}.asciidoc").read_text(encoding="utf-8").splitlines()


@cache
def definition(file: str, anchor: str) -> dict[str, tuple[str, str | None, str | None]]:
    """{property: (cardinality, referenced file, referenced anchor)} of the first table after ``anchor``."""
    lines = _lines(file)
    start = lines.index(f"[[{anchor}]]")
    fences = 0
    properties: dict[str, tuple[str, str | None, str | None]] = {}
    for line in lines[start + 1 :]:
        if line.startswith("|==="):
            fences += 1
            if fences == 2:
                break
            continue
        if fences != 1 or not line.startswith("|") or line.startswith("|Property"):
            continue
        cells = [cell.strip() for cell in line[1:].split("|")]
        if len(cells) < 3:
            continue
        name = re.sub(r"^\[\[[^\]]+\]\]\s*", "", cells[0]).strip()
        match = _REFERENCE.search(cells[1])
        ref_file = (match.group("file") or file) if match else None
        ref_anchor = match.group("anchor") if match else None
        properties[name] = (cells[2], ref_file, ref_anchor)
    if not properties:
        raise ValueError(f"no property table after {anchor} in {file}")
    return properties


def problems(value: Any, file: str, anchor: str, where: str = "") -> list[str]:
    """What in ``value`` breaks the 2.3.0 definition at ``file``#``anchor``."""
    found: list[str] = []
    if not isinstance(value, dict):
        return [f"{where or '.'}: expected an object"]
    fields = definition(file, anchor)
    for key in value:
        if key not in fields:
            found.append(f"{where}.{key}: not a property of {anchor}")
    for name, (cardinality, ref_file, ref_anchor) in fields.items():
        if cardinality in ("1", "+") and name not in value:
            found.append(f"{where}.{name}: required by {anchor} but missing")
        if name not in value or ref_anchor is None or not ref_anchor.endswith(("_class", "_object")):
            continue
        items = value[name] if cardinality in ("*", "+") else [value[name]]
        if not isinstance(items, list):
            found.append(f"{where}.{name}: expected a list")
            continue
        if cardinality == "+" and not items:
            found.append(f"{where}.{name}: needs at least one item")
        for index, item in enumerate(items):
            inner = f"{where}.{name}[{index}]" if cardinality in ("*", "+") else f"{where}.{name}"
            found.extend(problems(item, ref_file or file, ref_anchor, inner))
    return found


def assert_valid_230(value: Any, file: str, anchor: str) -> None:
    found = problems(value, file, anchor)
    assert not found, "; ".join(found[:8])
