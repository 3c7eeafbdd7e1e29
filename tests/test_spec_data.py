"""The OCPI material the tests read is inside the repository, complete and unmodified."""

from __future__ import annotations

import hashlib

import pytest

from tests.spec_data import OCPI, ocpi_examples, ocpi_file


def _listed() -> dict[str, str]:
    lines = (OCPI / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    return {name: digest for digest, name in (line.split(maxsplit=1) for line in lines)}


def test_every_listed_file_is_present_and_unchanged() -> None:
    listed = _listed()
    assert len(listed) > 80
    for name, digest in listed.items():
        assert hashlib.sha256(ocpi_file(*name.split("/")).read_bytes()).hexdigest() == digest, name


def test_every_file_in_the_folder_is_listed() -> None:
    present = {
        str(path.relative_to(OCPI))
        for path in OCPI.rglob("*")
        if path.is_file() and path.name not in ("SHA256SUMS", "README.md")
    }
    assert present == set(_listed())


def test_the_licences_travel_with_the_files() -> None:
    assert "Apache License" in ocpi_file("jsonschema-2.2.1", "LICENSE").read_text(encoding="utf-8")
    for version in ("2.2.1", "2.3.0"):
        text = ocpi_file(version, "copyright.asciidoc").read_text(encoding="utf-8")
        assert "NoDerivatives 4.0 International" in text


def test_a_missing_file_is_an_error_not_a_skip() -> None:
    with pytest.raises(FileNotFoundError, match="missing"):
        ocpi_file("2.2.1", "examples", "no_such_example.json")


def test_a_pattern_that_finds_nothing_is_an_error_not_an_empty_parameter_set() -> None:
    with pytest.raises(FileNotFoundError, match=r"no OCPI 2\.2\.1 example"):
        ocpi_examples("2.2.1", "no_such_prefix*.json")
