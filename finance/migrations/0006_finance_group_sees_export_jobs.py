"""The Finance group sees the export jobs (its large and the scheduled exports) in the admin."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Finance"


def grant(apps: Any, schema_editor: Any) -> None:
    # Permissions are normally created after all migrations ran; this one needs them now.
    app_config = apps.get_app_config("finance")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)  # type: ignore[arg-type]
    app_config.models_module = None
    group = apps.get_model("auth", "Group").objects.filter(name=GROUP).first()
    if group is not None:
        group.permissions.add(
            apps.get_model("auth", "Permission").objects.get(
                content_type__app_label="finance", codename="view_exportjob"
            )
        )


def revoke(apps: Any, schema_editor: Any) -> None:
    group = apps.get_model("auth", "Group").objects.filter(name=GROUP).first()
    if group is not None:
        group.permissions.remove(
            *apps.get_model("auth", "Permission").objects.filter(
                content_type__app_label="finance", codename="view_exportjob"
            )
        )


class Migration(migrations.Migration):
    dependencies = [("finance", "0005_export_jobs"), ("finance", "0004_finance_group")]

    operations = [migrations.RunPython(grant, revoke)]
