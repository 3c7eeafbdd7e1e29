"""One session per partner and authorization_reference (a partial unique constraint).

Sessions that an earlier version let one pre-authorisation start more than once would make the
constraint fail with a bare IntegrityError; the check before it names them instead, so that an
operator can decide which of them stands (credit the others' CDRs) before migrating again.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models
from django.db.models import Count


def refuse_duplicates(apps: Any, schema_editor: Any) -> None:
    ChargingSession = apps.get_model("charging_sessions", "ChargingSession")
    duplicates = list(
        ChargingSession.objects.exclude(authorization_reference="")
        .exclude(status="INVALID")
        .exclude(partner__isnull=True)
        .values("partner_id", "authorization_reference")
        .annotate(sessions=Count("id"))
        .filter(sessions__gt=1)[:20]
    )
    if duplicates:
        listed = "; ".join(
            f"partner {row['partner_id']} reference {row['authorization_reference']!r}: {row['sessions']} sessions"
            for row in duplicates
        )
        raise RuntimeError(
            "These authorization_references started more than one session that is not INVALID: "
            f"{listed}. Keep one per reference (set the others INVALID, crediting their CDRs) and migrate again."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("charging_sessions", "0002_meter_readings_and_commands"),
        ("locations", "0001_initial"),
        ("partners", "0001_initial"),
        ("tariffs", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(refuse_duplicates, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="chargingsession",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    models.Q(("authorization_reference", ""), _negated=True),
                    models.Q(("status", "INVALID"), _negated=True),
                ),
                fields=("partner", "authorization_reference"),
                name="session_one_per_authorization",
                violation_error_message="This authorization_reference has already started a session.",
            ),
        ),
    ]
