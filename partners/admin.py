"""Admin for our parties and for partner platforms (roles, endpoints, tokens, handshake)."""

from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from cpo_portal.admin import HistoryAdmin
from partners.models import Partner, PartnerEndpoint, PartnerRole, Party, Token
from partners.registration import (
    HandshakeError,
    partner_credentials_update,
    partner_register,
    partner_unregister,
)
from partners.services import our_versions_url, partner_issue_token_a


class PartyForm(forms.ModelForm[Party]):
    website = forms.URLField(max_length=255, required=False, assume_scheme="https")
    logo_url = forms.URLField(max_length=255, required=False, assume_scheme="https")
    invoice_base_url = forms.URLField(max_length=255, required=False, assume_scheme="https")

    class Meta:
        model = Party
        fields = (
            "country_code",
            "party_id",
            "name",
            "website",
            "logo_url",
            "invoice_creator",
            "invoice_base_url",
            "terminal_languages",
        )


@admin.register(Party)
class PartyAdmin(admin.ModelAdmin[Party]):
    form = PartyForm
    list_display = ("country_code", "party_id", "name", "invoice_creator")
    list_filter = ("country_code", "invoice_creator")
    search_fields = ("name", "party_id")


class PartnerRoleInline(admin.TabularInline[PartnerRole, Partner]):
    model = PartnerRole
    extra = 0


class PartnerEndpointInline(admin.TabularInline[PartnerEndpoint, Partner]):
    model = PartnerEndpoint
    extra = 0
    readonly_fields = ("module", "interface_role", "url")

    def has_add_permission(self, request: HttpRequest, obj: Partner | None = None) -> bool:
        # Endpoints come from the partner's version details during the handshake.
        return False


class PartnerForm(forms.ModelForm[Partner]):
    versions_url = forms.URLField(
        max_length=255,
        required=False,
        assume_scheme="https",
        help_text="The partner's OCPI versions endpoint.",
    )

    class Meta:
        model = Partner
        fields = (
            "name",
            "status",
            "versions_url",
            "callback_hosts",
            "version",
            "parties",
            "send_raw_token",
            "customer_reference",
        )


class PartnerCredentialsForm(PartnerForm):
    """The form for holders of "manage partner credentials": it can set the token we present."""

    partner_token_a = forms.CharField(
        required=False,
        label="Partner's token A",
        help_text=(
            "To register with the partner: its versions URL above and the token A it gave you, then "
            "use the action 'Register with the partner'. Stored as the token we present (token B) until "
            "the handshake replaces it."
        ),
    )

    def save(self, commit: bool = True) -> Partner:
        partner = super().save(commit=False)
        if self.cleaned_data.get("partner_token_a"):
            partner.token_b = self.cleaned_data["partner_token_a"]
        if commit:
            partner.save()
            self.save_m2m()
        return partner


@admin.register(Partner)
class PartnerAdmin(HistoryAdmin, admin.ModelAdmin[Partner]):
    form = PartnerForm
    list_display = ("name", "status", "version", "versions_url", "role_list", "updated_at")
    list_filter = ("status", "version", "send_raw_token")
    search_fields = ("name", "versions_url", "roles__party_id")
    readonly_fields = ("our_versions_url", "has_token_a", "has_token_c", "created_at", "updated_at")
    filter_horizontal = ("parties",)
    inlines = (PartnerRoleInline, PartnerEndpointInline)
    actions = ("issue_token_a", "register_with_partner", "rotate_credentials", "unregister")
    fieldsets = (
        (None, {"fields": ("name", "status", "parties", "customer_reference")}),
        (
            "OCPI connection",
            {
                "fields": (
                    "our_versions_url",
                    "versions_url",
                    "callback_hosts",
                    "partner_token_a",
                    "version",
                    "send_raw_token",
                    "has_token_a",
                    "has_token_c",
                )
            },
        ),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Partner]:
        return super().get_queryset(request).prefetch_related("roles")

    def has_manage_credentials_permission(self, request: HttpRequest, obj: Partner | None = None) -> bool:
        # "Change partner" is not enough: a token A or a registration lets its holder act as the
        # partner (read its sessions and CDRs, and void the token the partner itself uses).
        return request.user.has_perm("partners.manage_partner_credentials")

    def get_form(
        self, request: HttpRequest, obj: Partner | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm[Partner]]:
        if self.has_manage_credentials_permission(request):
            return super().get_form(request, obj, change, form=PartnerCredentialsForm, **kwargs)
        form = super().get_form(request, obj, change, **kwargs)
        # Where we call the partner is part of its credentials (the handshake starts there): shown,
        # but a posted value is ignored. Copies, so that the shared declared fields stay enabled.
        for name in ("versions_url", "callback_hosts"):
            if name in form.base_fields:
                field = copy.deepcopy(form.base_fields[name])
                field.disabled = True
                form.base_fields[name] = field
        return form

    def get_fieldsets(self, request: HttpRequest, obj: Partner | None = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if self.has_manage_credentials_permission(request):
            return fieldsets
        return [
            (name, {**options, "fields": tuple(f for f in options["fields"] if f != "partner_token_a")})
            for name, options in fieldsets
        ]

    @admin.display(description="roles")
    def role_list(self, obj: Partner) -> str:
        return ", ".join(str(role) for role in obj.roles.all())

    @admin.display(description="our versions URL (give it to the partner)")
    def our_versions_url(self, obj: Partner) -> str:
        return our_versions_url()

    @admin.display(description="token A issued", boolean=True)
    def has_token_a(self, obj: Partner) -> bool:
        return bool(obj.token_a_hash)

    @admin.display(description="token C issued", boolean=True)
    def has_token_c(self, obj: Partner) -> bool:
        return bool(obj.token_c_hash)

    @admin.action(
        description="Issue a new token A (the partner registers with us)", permissions=["manage_credentials"]
    )
    def issue_token_a(self, request: HttpRequest, queryset: QuerySet[Partner]) -> None:
        for partner in queryset:
            token = partner_issue_token_a(partner=partner)
            hosts = ", ".join(partner.callback_host_list) or "the host of the versions URL it sends"
            # Shown once: only its hash is stored.
            self.message_user(
                request,
                f"{partner}: versions URL {our_versions_url()} and token A {token} (shown only now). "
                f"It may have us call: {hosts}.",
                messages.WARNING,
            )

    @admin.action(
        description="Register with the partner (its versions URL and token A)",
        permissions=["manage_credentials"],
    )
    def register_with_partner(self, request: HttpRequest, queryset: QuerySet[Partner]) -> None:
        for partner in queryset:
            if not partner.versions_url or not partner.token_b:
                self.message_user(
                    request, f"{partner}: enter its versions URL and token A first.", messages.ERROR
                )
                continue
            try:
                partner_register(partner=partner, versions_url=partner.versions_url, token_a=partner.token_b)
            except HandshakeError as error:
                self.message_user(request, f"{partner}: {error} (OCPI {error.status_code})", messages.ERROR)
            else:
                self.message_user(
                    request, f"{partner}: registered on OCPI {partner.version}.", messages.SUCCESS
                )

    @admin.action(
        description="Rotate the credentials tokens (PUT credentials)", permissions=["manage_credentials"]
    )
    def rotate_credentials(self, request: HttpRequest, queryset: QuerySet[Partner]) -> None:
        for partner in queryset.filter(status=Partner.Status.REGISTERED):
            try:
                partner_credentials_update(partner=partner)
            except HandshakeError as error:
                self.message_user(request, f"{partner}: {error} (OCPI {error.status_code})", messages.ERROR)
            else:
                self.message_user(request, f"{partner}: tokens rotated.", messages.SUCCESS)

    @admin.action(
        description="Unregister (DELETE credentials at the partner, void our tokens)",
        permissions=["manage_credentials"],
    )
    def unregister(self, request: HttpRequest, queryset: QuerySet[Partner]) -> None:
        for partner in queryset.filter(status=Partner.Status.REGISTERED):
            try:
                partner_unregister(partner=partner)
            except HandshakeError as error:
                self.message_user(request, f"{partner}: {error} (OCPI {error.status_code})", messages.ERROR)
            else:
                self.message_user(request, f"{partner}: unregistered.", messages.SUCCESS)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"status": Partner.Status.PLANNED}


@admin.register(Token)
class TokenAdmin(admin.ModelAdmin[Token]):
    list_display = ("uid", "type", "partner", "country_code", "party_id", "valid", "last_updated")
    list_filter = ("type", "valid", "whitelist", "partner")
    search_fields = ("uid", "contract_id", "visual_number")
    list_select_related = ("partner",)
    raw_id_fields = ("partner",)
    readonly_fields = ("last_updated",)
    show_full_result_count = False
