"""The export page's choices: a period in a chosen time zone, and what to include."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import available_timezones

from django import forms

from finance.exports import Credits, ExportFilter, Format
from finance.models import ExportJob
from partners.models import Partner


def _zones() -> list[tuple[str, str]]:
    return [(zone, zone) for zone in sorted(available_timezones())]


class ExportForm(forms.Form):
    date_from = forms.DateField(required=False, help_text="First day, in the time zone below.")
    date_to = forms.DateField(required=False, help_text="Last day (included).")
    time_zone = forms.ChoiceField(choices=_zones, initial="UTC")
    party = forms.RegexField(
        regex=r"^[A-Z]{2}\*[A-Z0-9]{3}$", required=False, help_text="Our party as NL*CPO; empty: all."
    )
    partner = forms.ModelChoiceField(queryset=Partner.objects.order_by("name"), required=False)
    location_id = forms.CharField(max_length=36, required=False)
    currency = forms.RegexField(regex=r"^[A-Z]{3}$", required=False)
    credits = forms.ChoiceField(choices=Credits.choices, initial=Credits.ALL)
    export_format = forms.ChoiceField(label="format", choices=Format.choices, initial=Format.CSV)
    contents = forms.ChoiceField(
        choices=ExportJob.Contents.choices,
        initial=ExportJob.Contents.CDRS,
        required=False,
        help_text="A period summary: per day, location and currency (CSV or XLSX).",
    )
    background = forms.BooleanField(
        label="In the background",
        required=False,
        help_text="Write the file as a job and download it when done (always so above the threshold).",
    )

    def clean_contents(self) -> str:
        return self.cleaned_data.get("contents") or ExportJob.Contents.CDRS

    def clean(self) -> dict[str, object]:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            raise forms.ValidationError("The period ends before it starts.")
        if data.get("contents") == ExportJob.Contents.SUMMARY and data.get("export_format") == Format.JSONL:
            raise forms.ValidationError("A period summary is written as CSV or XLSX.")
        return data

    def export_filter(self) -> ExportFilter:
        data = self.cleaned_data
        return ExportFilter(
            date_from=data["date_from"],
            date_to=data["date_to"],
            time_zone=data["time_zone"],
            party=data["party"],
            partner_id=data["partner"].pk if data["partner"] else None,
            location_id=data["location_id"],
            currency=data["currency"],
            credits=data["credits"],
        )


class SummaryForm(forms.Form):
    """The period summary page's filters (GET): every field optional, the period defaults to 31 days."""

    date_from = forms.DateField(required=False, help_text="First day, in the time zone below.")
    date_to = forms.DateField(required=False, help_text="Last day (included).")
    time_zone = forms.ChoiceField(choices=_zones, initial="UTC", required=False)
    party = forms.RegexField(regex=r"^[A-Z]{2}\*[A-Z0-9]{3}$", required=False, help_text="Such as NL*CPO.")
    location_id = forms.CharField(max_length=36, required=False)
    currency = forms.RegexField(regex=r"^[A-Z]{3}$", required=False)

    def clean(self) -> dict[str, object]:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            raise forms.ValidationError("The period ends before it starts.")
        return data

    def export_filter(self, *, today: date) -> ExportFilter:
        data = self.cleaned_data
        date_to = data.get("date_to") or today
        return ExportFilter(
            date_from=data.get("date_from") or date_to - timedelta(days=30),
            date_to=date_to,
            time_zone=data.get("time_zone") or "UTC",
            party=data.get("party") or "",
            location_id=data.get("location_id") or "",
            currency=data.get("currency") or "",
        )
