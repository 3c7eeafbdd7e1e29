"""Admin form helpers: friendly editors for the small OCPI structures kept in JSON fields.

The form fields only translate between what staff type and the stored JSON; the model's own
validators (the JSON Schemas in cpo_portal.fields) still judge the result, so the admin and the
OCPI API accept the same values.
"""

from __future__ import annotations

import re
import zoneinfo
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join

_LINE = re.compile(r"^\s*(?P<language>[A-Za-z]{2})\s*:\s*(?P<text>.*?)\s*$")


class DisplayTextListField(forms.CharField):
    """A list of OCPI DisplayText objects edited as lines of ``language: text``."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 80})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text", "One line per language, such as <code>en: Behind the supermarket, level -1</code>."
        )
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return "\n".join(
                f"{item.get('language', '')}: {item.get('text', '')}"
                for item in value
                if isinstance(item, dict)
            )
        return value

    def to_python(self, value: Any) -> list[dict[str, str]]:  # type: ignore[override]
        if isinstance(value, list):
            return value
        texts: list[dict[str, str]] = []
        seen: set[str] = set()
        for number, line in enumerate(str(value or "").splitlines(), start=1):
            if not line.strip():
                continue
            match = _LINE.match(line)
            if match is None or not match["text"]:
                raise ValidationError(
                    "Line %(number)s: write a two-letter language, a colon and the text, such as "
                    "'nl: Achter de supermarkt'.",
                    params={"number": number},
                )
            language = match["language"].lower()
            if language in seen:
                raise ValidationError(
                    "Language %(language)s appears twice; give one text per language.",
                    params={"language": language},
                )
            seen.add(language)
            texts.append({"language": language, "text": match["text"]})
        return texts

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != (initial or [])
        except ValidationError:
            return True


class SuggestingTextInput(forms.TextInput):
    """A text input that suggests values as it is typed in (an HTML datalist); any value may be typed."""

    def __init__(self, suggestions: list[str], list_id: str) -> None:
        super().__init__(attrs={"list": list_id, "autocomplete": "off"})
        self.suggestions = suggestions
        self.list_id = list_id

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> str:
        options = format_html_join("", '<option value="{}">', ((item,) for item in self.suggestions))
        datalist = format_html('<datalist id="{}">{}</datalist>', self.list_id, options)
        return super().render(name, value, attrs, renderer) + datalist


def time_zone_input() -> SuggestingTextInput:
    """IANA time zones, Europe first: where the portal's chargers stand."""
    zones = sorted(zoneinfo.available_timezones(), key=lambda zone: (not zone.startswith("Europe/"), zone))
    return SuggestingTextInput(zones, "iana-time-zones")


class BusinessDetailsForm(forms.ModelForm):
    """Base for forms with an OCPI BusinessDetails JSON field edited as a name and a website."""

    business_details_fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.business_details_fields:
            if name in self.fields:
                self.fields[name] = BusinessDetailsField(
                    label=self.fields[name].label, help_text=self.fields[name].help_text
                )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name in self.business_details_fields:
            # A logo set elsewhere (the form edits name and website only) survives an edit.
            initial = self.initial.get(name)
            value = cleaned.get(name)
            if isinstance(initial, dict) and "logo" in initial and isinstance(value, dict):
                value["logo"] = initial["logo"]
        return cleaned


class BusinessDetailsField(forms.MultiValueField):
    """OCPI BusinessDetails as a name and an optional website; empty means null (not given)."""

    def __init__(self, **kwargs: Any) -> None:
        fields = (
            forms.CharField(max_length=100, required=False),
            forms.URLField(max_length=255, required=False, assume_scheme="https"),
        )
        kwargs.setdefault("required", False)
        super().__init__(
            fields=fields,
            require_all_fields=False,
            widget=BusinessDetailsWidget(),
            **kwargs,
        )

    def compress(self, data_list: list[Any]) -> dict[str, Any] | None:
        if not data_list:
            return None
        name, website = [*data_list, "", ""][:2]
        if not name and not website:
            return None
        if not name:
            raise ValidationError("Give the name too, or leave both empty.")
        details: dict[str, Any] = {"name": name}
        if website:
            details["website"] = website
        return details

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.clean(data) != initial
        except ValidationError:
            return True


class BusinessDetailsWidget(forms.MultiWidget):
    def __init__(self) -> None:
        super().__init__(
            widgets=(
                forms.TextInput(attrs={"placeholder": "Name", "size": 30}),
                forms.URLInput(attrs={"placeholder": "https://website", "size": 40}),
            )
        )

    def decompress(self, value: Any) -> list[Any]:
        if isinstance(value, dict):
            return [value.get("name", ""), value.get("website", "")]
        return ["", ""]
