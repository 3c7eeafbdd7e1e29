"""The OCPI 2.2.1 and 2.3.0 API of the portal: what partners (Payter as PTP, eMSPs, hubs) call.

Layout
------
- ``versions.py``: the one table of versions -> modules -> roles -> module files, and
  ``VersionProfile``, the one place where 2.2.1 and 2.3.0 output differ (price shapes, tariff
  component prices excluding VAT in 2.2.1, fields one version lacks).
- ``transport/``: shared by every module. ``authentication`` (token A/C hashes, compared in
  constant time), ``envelope`` (response envelope and renderer), ``exceptions`` (OCPI errors and
  the DRF handler), ``pagination`` (offset/limit/date_from/date_to, Link, X-Total-Count,
  X-Limit), ``middleware`` (request ids, envelope for Django-level errors, inbound request log),
  ``views`` (``OcpiView``/``OcpiListView``), ``openapi`` (the /api/schema/ description).
- ``modules/<module>.py``: one file per OCPI module with its serializers and views.
- ``client.py``: the outbound client (token B, request ids, routing headers, timeouts, no
  redirects, envelope parsing, typed errors, ``OutboundRequestLog``).
- ``selectors.py``: what a partner may read.

Adding a module
---------------
1. Write ``ocpi_api/modules/<module>.py`` with views subclassing ``OcpiView`` (token C required,
   envelope, errors) or ``OcpiListView`` (paging), and ``urlpatterns`` relative to
   ``/ocpi/<version>/``, e.g. ``path("commands/<str:command>", CommandView.as_view(),
   name="commands")``. Views get ``self.partner`` and ``self.profile``.
2. Add one ``ModuleEndpoint`` to ``ENDPOINTS`` in ``versions.py`` (identifier, role, module
   path; ``url_name`` if the base route is not named after the identifier). Version details then
   list it, and its routes are mounted for every version.

Partner visibility
------------------
``Partner.parties`` limits a partner to some of our parties (none: all); the rule is
``partners.selectors`` and the pushes use it too. A location with ``publish = false`` is still
listed (GET) and pushed to those partners, carrying ``publish: false`` and its
``publish_allowed_to``: the receiver may show it only to the owners of the tokens listed there
(mod_locations, Location object). Sessions and CDRs are visible only to the partner whose token
started them.
"""
