"""Every admin action and custom admin page declares the permission it needs, and a staff user who may
only view gets neither the action nor a change out of a forged POST of it."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Permission
from django.db import connection
from django.db.models import Model
from django.test import Client, RequestFactory
from django.urls import URLPattern, reverse
from django.utils import timezone

from chargers.models import ChargingBackend
from chargers.services import charging_backend_create
from partners.models import Partner, hash_token
from pushes.models import OutboxMessage, PartnerCopy, PartnerPushStatus
from tests.factories import PartnerFactory

# The apps whose tables a forged POST must leave as they were.
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
# The views every ModelAdmin has; anything else in get_urls() is a page of our own.
STANDARD_URL_SUFFIXES = ("_changelist", "_add", "_history", "_delete", "_change")
# Actions that only read (an export): they may be offered to whoever may view.
READ_ONLY_PERMISSIONS = ("view",)


def _user(username: str, *codenames: str, **filters: Any) -> AbstractBaseUser:
    user = get_user_model().objects.create_user(username, f"{username}@example.com", "correct horse battery")
    user.is_staff = True
    user.save()
    permissions = Permission.objects.filter(**filters) if filters else Permission.objects.none()
    user.user_permissions.add(*permissions, *Permission.objects.filter(codename__in=codenames))
    return get_user_model().objects.get(pk=user.pk)  # no cached permissions


def _request(user: AbstractBaseUser) -> Any:
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def _database_fingerprint() -> dict[str, str]:
    """A digest of every row of our tables: equal before and after means nothing changed."""
    digests = {}
    with connection.cursor() as cursor:
        for model in apps.get_models():
            meta = model._meta
            if meta.app_label not in OUR_APPS or meta.proxy or not meta.managed:
                continue
            # Plain SQL on any database (PostgreSQL in CI, SQLite under make run): every column of
            # every row, in primary key order.
            cursor.execute(
                f"SELECT * FROM {connection.ops.quote_name(meta.db_table)} "  # noqa: S608
                f"ORDER BY {connection.ops.quote_name(meta.pk.column)}"
            )
            digests[meta.db_table] = hashlib.md5(repr(cursor.fetchall()).encode()).hexdigest()  # noqa: S324
    return digests


@pytest.fixture
def something_for_every_action(demo_data: str) -> None:
    """Rows each action would change if it ran: a partner per state, backends, outbox messages."""
    payter = Partner.objects.get(name__icontains="payter")
    PartnerFactory(name="Registered partner")
    charging_backend_create(name="Backend of the guard test")
    PartnerPushStatus.objects.update_or_create(
        partner=payter, defaults={"paused": True, "paused_reason": "401 from the partner"}
    )
    copy = PartnerCopy.objects.create(partner=payter, object_type="location", object_id="LOC-GUARD")
    now = timezone.now()
    for state in (OutboxMessage.State.PENDING, OutboxMessage.State.DEAD):
        OutboxMessage.objects.create(
            copy=copy, partner=payter, module="locations", kind="STATE", action="UPSERT",
            state=state, attempts=3, changed_at=now, next_attempt_at=now,
        )  # fmt: skip


def _registered() -> list[tuple[type[Model], admin.ModelAdmin[Any]]]:
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def test_every_action_declares_the_permission_it_needs(db: None) -> None:
    superuser = get_user_model().objects.create_superuser("boss", "boss@example.com", "correct horse battery")
    undeclared = [
        f"{model._meta.label}.{name}"
        for model, model_admin in _registered()
        for name, (func, _, _) in model_admin.get_actions(_request(superuser)).items()
        if not getattr(func, "allowed_permissions", None)
    ]

    assert undeclared == []


def test_a_view_only_user_is_offered_no_action_that_changes_anything(
    something_for_every_action: None,
) -> None:
    viewer = _request(_user("viewer", codename__startswith="view_"))
    superuser = _request(
        get_user_model().objects.create_superuser("boss", "boss@example.com", "correct horse battery")
    )
    offered = []
    for model, model_admin in _registered():
        actions = model_admin.get_actions(superuser)
        for name in model_admin.get_actions(viewer):
            if tuple(getattr(actions[name][0], "allowed_permissions", None) or ()) != READ_ONLY_PERMISSIONS:
                offered.append(f"{model._meta.label}.{name}")

    assert offered == []


def test_a_forged_action_post_by_a_view_only_user_changes_nothing(
    something_for_every_action: None, client: Client
) -> None:
    client.force_login(_user("viewer", codename__startswith="view_"))
    superuser = _request(
        get_user_model().objects.create_superuser("boss", "boss@example.com", "correct horse battery")
    )
    before = _database_fingerprint()
    changed = []
    for model, model_admin in _registered():
        pks = [str(pk) for pk in model_admin.get_queryset(superuser).values_list("pk", flat=True)[:5]]
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for name in model_admin.get_actions(superuser):
            # "post" confirms a deletion; "apply" submits an action's own form.
            data = {"action": name, "index": "0", "_selected_action": pks, "post": "yes", "apply": "1"}
            response = client.post(url, data)
            assert response.status_code in (200, 302, 403), (name, response.status_code)
            if _database_fingerprint() != before:
                changed.append(f"{model._meta.label}.{name}")
                before = _database_fingerprint()

    assert changed == []


def _custom_urls() -> list[tuple[str, URLPattern, admin.ModelAdmin[Any]]]:
    found = []
    for model, model_admin in _registered():
        for pattern in model_admin.get_urls():
            name = getattr(pattern, "name", None)
            if name and not name.endswith(STANDARD_URL_SUFFIXES):
                found.append((f"{model._meta.label}:{name}", pattern, model_admin))
    return found


def test_a_view_only_user_changes_nothing_through_a_custom_admin_page(
    something_for_every_action: None, client: Client
) -> None:
    client.force_login(_user("viewer", codename__startswith="view_"))
    urls = _custom_urls()
    before = _database_fingerprint()
    changed = []
    for label, pattern, _ in urls:
        kwargs = dict.fromkeys(pattern.pattern.converters, "1")
        response = client.post(reverse(f"admin:{pattern.name}", kwargs=kwargs), {"apply": "1", "post": "yes"})
        assert response.status_code in (200, 302, 403, 404, 405), (label, response.status_code)
        if _database_fingerprint() != before:
            changed.append(label)
            before = _database_fingerprint()

    assert urls  # the finance pages at least: the walk reached something
    assert changed == []


# Partner credentials: a permission of their own, above "change partner".


def test_changing_a_partner_does_not_allow_issuing_its_credentials(db: None, client: Client) -> None:
    partner = PartnerFactory(name="Some eMSP")
    client.force_login(_user("clerk", "view_partner", "change_partner"))
    url = reverse("admin:partners_partner_changelist")

    page = client.get(url)
    forged = client.post(url, {"action": "issue_token_a", "index": "0", "_selected_action": [partner.pk]})

    assert "issue_token_a" not in page.content.decode()
    assert forged.status_code in (200, 302)  # the list again, or back to it
    partner.refresh_from_db()
    assert partner.token_a_hash == ""


def test_the_token_a_is_shown_to_a_holder_of_the_credentials_permission(db: None, client: Client) -> None:
    partner = PartnerFactory(name="Some eMSP", status=Partner.Status.PLANNED)
    client.force_login(_user("manager", "view_partner", "manage_partner_credentials"))
    url = reverse("admin:partners_partner_changelist")

    response = client.post(
        url, {"action": "issue_token_a", "index": "0", "_selected_action": [partner.pk]}, follow=True
    )

    shown = [str(message) for message in response.context["messages"]]
    partner.refresh_from_db()
    assert len(shown) == 1
    assert "token A" in shown[0]
    token = shown[0].split("token A ")[1].split(" ")[0]
    assert partner.token_a_hash == hash_token(token)


def test_a_partner_editor_without_the_credentials_permission_cannot_set_the_token_we_present(
    db: None, client: Client
) -> None:
    partner = PartnerFactory(name="Some eMSP", status=Partner.Status.PLANNED)
    token_b = partner.token_b
    client.force_login(_user("clerk", "view_partner", "change_partner"))
    url = reverse("admin:partners_partner_change", args=[partner.pk])

    page = client.get(url)
    saved = client.post(
        url,
        {
            "name": "Renamed eMSP",
            "status": partner.status,
            "versions_url": "https://attacker.example.net/versions",
            "callback_hosts": "attacker.example.net",
            "partner_token_a": "attacker-token",
            "version": "",
            "customer_reference": "",
            "roles-TOTAL_FORMS": "0",
            "roles-INITIAL_FORMS": "0",
            "endpoints-TOTAL_FORMS": "0",
            "endpoints-INITIAL_FORMS": "0",
        },
    )

    assert 'name="partner_token_a"' not in page.content.decode()
    assert saved.status_code == 302
    partner.refresh_from_db()
    assert partner.name == "Renamed eMSP"  # saved, without the credentials fields
    assert partner.token_b == token_b
    assert partner.versions_url != "https://attacker.example.net/versions"
    assert partner.callback_hosts == ""


def test_rotating_a_backend_token_needs_the_backend_credentials_permission(db: None, client: Client) -> None:
    backend, _ = charging_backend_create(name="Central system")
    token_hash = backend.token_hash
    client.force_login(
        _user("clerk", "view_chargingbackend", "change_chargingbackend", "add_chargingbackend")
    )
    changelist = reverse("admin:chargers_chargingbackend_changelist")

    forged = client.post(
        changelist, {"action": "rotate_token", "index": "0", "_selected_action": [backend.pk]}
    )
    # Adding a backend shows its new token: the same right as rotating one.
    add = client.post(reverse("admin:chargers_chargingbackend_add"), {"name": "Another", "is_active": "on"})

    backend.refresh_from_db()
    assert forged.status_code in (200, 302)  # the list again, or back to it
    assert backend.token_hash == token_hash
    assert add.status_code == 403
    assert not ChargingBackend.objects.filter(name="Another").exists()


def test_a_view_only_user_sees_a_partner_without_its_token_field(db: None, client: Client) -> None:
    partner = PartnerFactory(name="Some eMSP")
    client.force_login(_user("viewer", "view_partner"))

    page = client.get(reverse("admin:partners_partner_change", args=[partner.pk]))

    assert page.status_code == 200
    assert partner.versions_url in page.content.decode()
    assert "partner_token_a" not in page.content.decode()
