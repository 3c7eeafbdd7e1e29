"""The Finance group: sees and exports CDRs, captures and the reconciliation, and may credit and
correct a CDR; nothing else (token uids stay masked: finance.view_token_uid is given per person)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Finance"
PERMISSIONS = (
    ("finance", "view_cdrreconciliation"),
    ("finance", "export_cdrs"),
    ("charging_sessions", "view_cdr"),
    # "Credit and correct" writes two new CDRs: the admin asks for the right to add one.
    ("charging_sessions", "add_cdr"),
    ("payments", "view_financialadviceconfirmation"),
)


def create_group(apps: Any, schema_editor: Any) -> None:
    # Permissions are normally created after all migrations ran; this one needs them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)  # type: ignore[arg-type]
        app_config.models_module = None
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    group, _ = group_model.objects.get_or_create(name=GROUP)
    for app_label, codename in PERMISSIONS:
        group.permissions.add(
            permission_model.objects.get(content_type__app_label=app_label, codename=codename)
        )


def remove_group(apps: Any, schema_editor: Any) -> None:
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("finance", "0003_export_and_token_uid_permissions"),
        ("charging_sessions", "0002_meter_readings_and_commands"),
        ("payments", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
