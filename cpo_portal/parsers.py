"""A JSON parser for our APIs that turns any JSON document into a clear client error, never a 500.

JSON nested deeper than any object we accept (Python's decoder would raise RecursionError past
about a thousand levels), and strings that cannot be stored or written back (NUL, which
PostgreSQL text refuses, and lone surrogates, which are not encodable UTF-8) are refused as
a ``ValidationError`` naming the body: the document is JSON, its content is not usable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers
from rest_framework.parsers import JSONParser

# OCPI's deepest object (a Location's EVSE's connector, a Tariff's restrictions) nests about six
# containers deep; the charger API three.
MAX_JSON_DEPTH = 32


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not UTF-8 text)"
    return None


def json_content_problem(document: Any) -> str | None:
    """Why a parsed JSON document cannot be used (too deep, unusable strings), or None.

    Walks the document without recursion, so depth itself cannot overflow the stack.
    """
    stack: list[tuple[Any, int]] = [(document, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            problem = _text_problem(value)
            if problem:
                return f"a string {problem}"
        elif isinstance(value, Mapping | list):
            if depth + 1 > MAX_JSON_DEPTH:
                return f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
            items = value.items() if isinstance(value, Mapping) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and _text_problem(key):
                    return f"a key {_text_problem(key)}"
                stack.append((item, depth + 1))
    return None


class SafeJSONParser(JSONParser):
    """DRF's JSON parser plus the checks above; a body that is not JSON stays a ParseError (400)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            document = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise serializers.ValidationError(
                {"body": f"JSON nested deeper than {MAX_JSON_DEPTH} levels."}
            ) from None
        problem = json_content_problem(document)
        if problem:
            raise serializers.ValidationError({"body": f"{problem}."})
        return document
