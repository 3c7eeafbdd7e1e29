"""Signal receivers that turn model saves into outbox messages, in the saving transaction.

Saves made through the model (services, the admin, the OCPI API) all pass here. Two kinds of write
fire no signal and are handled where they happen: ``QuerySet.update()`` (the EVSE -> location
``last_updated`` bump in locations.models) needs no push of its own, because the EVSE or connector
change that caused it is pushed; and bulk writes must call ``partners.outbox.changed``.

Receivers here, inside the transaction, rather than events sent after commit: a message written
after commit is lost if the process dies in between. What is no model save (a CommandResult)
comes through ``partners.outbox``, implemented by ``pushes.outbox``.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save

from locations.models import Connector, Evse, Location, RegularHours
from partners import outbox
from partners.models import PartnerEndpoint
from payments.models import PaymentTerminal
from pushes import selectors, services
from sessions.models import Cdr, ChargingSession
from tariffs.models import Tariff, TariffAltText, TariffElement

# Fields whose change means nothing to a partner.
IGNORED_FIELDS = {"last_updated"}
PUSHED_MODELS = (Location, Evse, Connector, Tariff, ChargingSession, PaymentTerminal)


def _remember_changes(
    sender: type, instance: Any, update_fields: Any = None, raw: bool = False, **kwargs: Any
) -> None:
    """Before a save, note which fields change, so an EVSE status change can take the fast path."""
    if raw or instance._state.adding:
        instance._push_changed_fields = None
        return
    if update_fields is not None:
        instance._push_changed_fields = set(update_fields) - IGNORED_FIELDS
        return
    concrete = [f.attname for f in sender._meta.concrete_fields if not f.primary_key]
    old = sender._default_manager.filter(pk=instance.pk).values(*concrete).first()
    if old is None:
        instance._push_changed_fields = None
        return
    instance._push_changed_fields = {
        name for name in concrete if old[name] != getattr(instance, name)
    } - IGNORED_FIELDS


def _changed(sender: type, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return  # fixtures
    changed = getattr(instance, "_push_changed_fields", None)
    if not created and changed is not None and not changed:
        return  # saved without a change
    # Data a partner itself sent us (a pulled terminal) is not pushed back to it (partners.outbox).
    services.object_changed(instance, None if created else changed, sender_id=outbox.sender_of_changes())


def _cdr_created(sender: type, instance: Cdr, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if created and not raw:
        services.cdr_created(instance)


def _tariff_part_changed(sender: type, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    tariff = Tariff.objects.filter(pk=instance.tariff_id).first()
    if tariff is not None:
        services.object_changed(tariff, ["elements" if sender is TariffElement else "tariff_alt_text"])


def _tariff_deleted(sender: type, instance: Tariff, **kwargs: Any) -> None:
    services.tariff_withdrawn(instance)


def _regular_hours_changed(sender: type, instance: RegularHours, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    location = Location.objects.filter(pk=instance.location_id).first()
    if location is not None:
        services.object_changed(location, ["opening_times"])


def _evse_deleted(sender: type, instance: Evse, **kwargs: Any) -> None:
    services.evse_removed(instance)


def _connector_deleted(sender: type, instance: Connector, **kwargs: Any) -> None:
    services.connector_removed(instance)


def _connector_tariffs_changed(
    sender: type, instance: Any, action: str, reverse: bool, **kwargs: Any
) -> None:
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    connectors = (
        [instance] if not reverse else list(Connector.objects.filter(pk__in=kwargs.get("pk_set") or ()))
    )
    for connector in connectors:
        services.object_changed(connector, ["tariffs"])


def _terminal_assignment_changed(
    sender: type, instance: Any, action: str, reverse: bool, **kwargs: Any
) -> None:
    if action not in ("post_add", "post_remove", "post_clear") or reverse:
        return
    field = "locations" if sender is PaymentTerminal.locations.through else "evses"
    services.object_changed(instance, [field], sender_id=outbox.sender_of_changes())


def connect() -> None:
    post_save.connect(
        selectors.forget_endpoints, sender=PartnerEndpoint, dispatch_uid="pushes_endpoint_saved"
    )
    post_delete.connect(
        selectors.forget_endpoints, sender=PartnerEndpoint, dispatch_uid="pushes_endpoint_deleted"
    )
    for model in PUSHED_MODELS:
        pre_save.connect(_remember_changes, sender=model, dispatch_uid=f"pushes_pre_{model.__name__}")
        post_save.connect(_changed, sender=model, dispatch_uid=f"pushes_post_{model.__name__}")
    post_save.connect(_cdr_created, sender=Cdr, dispatch_uid="pushes_cdr_created")
    for model in (TariffElement, TariffAltText):
        post_save.connect(_tariff_part_changed, sender=model, dispatch_uid=f"pushes_save_{model.__name__}")
        post_delete.connect(
            _tariff_part_changed, sender=model, dispatch_uid=f"pushes_delete_{model.__name__}"
        )
    post_delete.connect(_tariff_deleted, sender=Tariff, dispatch_uid="pushes_tariff_deleted")
    # Before the delete: the EVSE's location must still be there to address it (a location's
    # deletion cascades here for each of its EVSEs).
    pre_delete.connect(_evse_deleted, sender=Evse, dispatch_uid="pushes_evse_deleted")
    post_delete.connect(_connector_deleted, sender=Connector, dispatch_uid="pushes_connector_deleted")
    post_save.connect(_regular_hours_changed, sender=RegularHours, dispatch_uid="pushes_hours_saved")
    post_delete.connect(_regular_hours_changed, sender=RegularHours, dispatch_uid="pushes_hours_deleted")
    m2m_changed.connect(
        _connector_tariffs_changed, sender=Connector.tariffs.through, dispatch_uid="pushes_connector_tariffs"
    )
    for through in (PaymentTerminal.locations.through, PaymentTerminal.evses.through):
        m2m_changed.connect(
            _terminal_assignment_changed, sender=through, dispatch_uid=f"pushes_terminal_{through.__name__}"
        )
