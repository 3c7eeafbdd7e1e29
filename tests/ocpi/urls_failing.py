"""A URLconf with views that fail unexpectedly, to test that even then the answer is an envelope."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from rest_framework.request import Request

from ocpi_api.transport.views import OcpiView


class FailingOcpiView(OcpiView):
    def get(self, request: Request) -> HttpResponse:
        raise RuntimeError("an unexpected failure inside an OCPI view")


def failing_django_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("an unexpected failure outside DRF")


urlpatterns = [
    path("ocpi/test/failing-view", FailingOcpiView.as_view()),
    path("ocpi/test/failing-django-view", failing_django_view),
    path("", include("cpo_portal.urls")),
]
