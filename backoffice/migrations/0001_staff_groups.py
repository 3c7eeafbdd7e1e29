"""Staff roles as groups: Back office, Operations and Read-only (Finance is finance's own,
0004_finance_group). A person gets a role by joining its group; superusers need none.

- Back office: edits locations, EVSEs, connectors, opening hours, tariffs with their texts and
  elements, and payment terminals; sees partners and parties, and what partners hold of our data.
- Operations: runs the partner connections (partners, their roles, endpoints and credentials),
  the outbox (retries, replays, dead letters), pulls, charging backends; reads the OCPI request
  logs, sessions and commands.
- Read-only: views everything of ours, changes nothing; token uids stay masked.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.management import create_permissions
from django.db import migrations

OUR_APPS = (
    "partners",
    "locations",
    "tariffs",
    "charging_sessions",
    "payments",
    "chargers",
    "ocpi_api",
    "pushes",
    "finance",
)
# Given per person (the finance migration says why), never through a read-only role.
NOT_FOR_READ_ONLY = ("view_token_uid",)


def _crud(app_label: str, model: str, *actions: str) -> list[tuple[str, str]]:
    return [(app_label, f"{action}_{model}") for action in actions]


EDIT = ("view", "add", "change")
EDIT_AND_DELETE = ("view", "add", "change", "delete")

GROUPS: dict[str, list[tuple[str, str]]] = {
    "Back office": [
        # Locations, EVSEs and tariffs are withdrawn (publish off, status REMOVED), not deleted;
        # rows inside their pages (connectors, hours, texts, elements) can be removed.
        *_crud("locations", "location", *EDIT),
        *_crud("locations", "evse", *EDIT),
        *_crud("locations", "connector", *EDIT_AND_DELETE),
        *_crud("locations", "regularhours", *EDIT_AND_DELETE),
        *_crud("tariffs", "tariff", *EDIT),
        *_crud("tariffs", "tariffalttext", *EDIT_AND_DELETE),
        *_crud("tariffs", "tariffelement", *EDIT_AND_DELETE),
        *_crud("payments", "paymentterminal", *EDIT),
        *_crud("partners", "party", "view"),
        *_crud("partners", "partner", "view"),
        *_crud("partners", "partnerrole", "view"),
        *_crud("partners", "partnerendpoint", "view"),
        *_crud("pushes", "partnercopy", "view"),
    ],
    "Operations": [
        *_crud("partners", "party", "view"),
        *_crud("partners", "partner", *EDIT),
        ("partners", "manage_partner_credentials"),
        *_crud("partners", "partnerrole", *EDIT_AND_DELETE),
        *_crud("partners", "partnerendpoint", *EDIT_AND_DELETE),
        *_crud("partners", "token", "view"),
        *_crud("pushes", "outboxmessage", "view", "change"),
        *_crud("pushes", "deadletter", "view", "change"),
        *_crud("pushes", "partnercopy", "view"),
        *_crud("pushes", "partnerpushhealth", "view", "change"),
        *_crud("pushes", "deliveryattempt", "view"),
        *_crud("pushes", "pullcursor", "view", "change"),
        *_crud("ocpi_api", "inboundrequestlog", "view"),
        *_crud("ocpi_api", "outboundrequestlog", "view"),
        *_crud("chargers", "chargingbackend", "view", "change"),
        *_crud("chargers", "simulatedcharger", "view"),
        *_crud("charging_sessions", "chargingsession", "view"),
        *_crud("charging_sessions", "receivedcommand", "view"),
        *_crud("charging_sessions", "meterreading", "view"),
        *_crud("locations", "location", "view"),
        *_crud("locations", "evse", "view"),
        *_crud("payments", "paymentterminal", "view"),
    ],
}
READ_ONLY = "Read-only"


def create_groups(apps: Any, schema_editor: Any) -> None:
    # Permissions are normally created after all migrations ran; these groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)  # type: ignore[arg-type]
        app_config.models_module = None
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for name, permissions in GROUPS.items():
        group, _ = group_model.objects.get_or_create(name=name)
        for app_label, codename in permissions:
            group.permissions.add(
                permission_model.objects.get(content_type__app_label=app_label, codename=codename)
            )
    read_only, _ = group_model.objects.get_or_create(name=READ_ONLY)
    read_only.permissions.add(
        *permission_model.objects.filter(
            content_type__app_label__in=OUR_APPS, codename__startswith="view_"
        ).exclude(codename__in=NOT_FOR_READ_ONLY)
    )


def remove_groups(apps: Any, schema_editor: Any) -> None:
    apps.get_model("auth", "Group").objects.filter(name__in=[*GROUPS, READ_ONLY]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("partners", "0005_partner_history"),
        ("locations", "0004_historical_connector_power_validators"),
        ("tariffs", "0002_tariff_history"),
        ("charging_sessions", "0005_dashboard_indexes"),
        ("payments", "0003_unmatched_captures_index"),
        ("chargers", "0003_backends_serve_evses"),
        ("ocpi_api", "0002_composite_indexes_cover_foreign_keys"),
        ("pushes", "0005_partner_failure_observations"),
        ("finance", "0006_finance_group_sees_export_jobs"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
