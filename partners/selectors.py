"""Reads about partners: which of our parties' data a partner may see, and their tokens.

``Partner.parties`` limits a partner to some of our parties; none selected means all of them
(the field's help text). This module is the one place that rule is written: the OCPI Sender
endpoints, the pushes, the commands and the payments module all ask it.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models
from django.db.models import Q, QuerySet

from partners.models import Partner, Party, Token

ModelT = TypeVar("ModelT", bound=models.Model)


def parties_visible_to(*, partner: Partner) -> list[int] | None:
    """Ids of our parties whose data ``partner`` may see; None when it may see every party.

    Reads ``partner.parties`` (one query, none when the parties are prefetched).
    """
    party_ids = [party.pk for party in partner.parties.all()]
    return party_ids or None


def visible_to_partner_q(*, partner: Partner, party_field: str = "party") -> Q:
    """A filter for rows whose party (``party_field``, a foreign key to Party) ``partner`` may see."""
    party_ids = parties_visible_to(partner=partner)
    return Q() if party_ids is None else Q(**{f"{party_field}__in": party_ids})


def visible_to_partner(
    queryset: QuerySet[ModelT], *, partner: Partner, party_field: str = "party"
) -> QuerySet[ModelT]:
    """``queryset`` narrowed to the rows whose party ``partner`` may see."""
    return queryset.filter(visible_to_partner_q(partner=partner, party_field=party_field))


def partners_seeing_party_q(*, party: Party | int | Any) -> Q:
    """A filter on Partner for the partners that may see ``party``'s data.

    ``party``: the party, its id, or a subquery that selects its id. Pass it to one ``filter()``
    call, so one join of the parties serves both sides of the OR (no parties at all, or this one
    among them); the caller adds ``distinct()``.
    """
    return Q(parties__isnull=True) | Q(parties=party)


def token_of_partner(
    *, partner: Partner, country_code: str, party_id: str, uid: str, token_type: str
) -> Token | None:
    """The token this partner sent us with this identity (mod_tokens: owner, uid and type), or None."""
    return Token.objects.filter(
        partner=partner, country_code=country_code, party_id=party_id, uid=uid, type=token_type
    ).first()
