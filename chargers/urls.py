"""Routes of the internal charger API (mounted under /chargers/api/v1/)."""

from __future__ import annotations

from django.urls import path, re_path

from chargers import api

app_name = "chargers"

urlpatterns = [
    path("sessions/<str:session_id>/started", api.SessionStartedView.as_view(), name="session-started"),
    path(
        "sessions/<str:session_id>/meter-values",
        api.SessionMeterValuesView.as_view(),
        name="session-meter-values",
    ),
    path("sessions/<str:session_id>/stopped", api.SessionStoppedView.as_view(), name="session-stopped"),
    path(
        "sessions/<str:session_id>/start-failed",
        api.SessionStartFailedView.as_view(),
        name="session-start-failed",
    ),
    # Last: any other path (an id holding "/", a typo) answers a JSON 404 too.
    re_path(r"", api.UnknownEndpointView.as_view(), name="unknown-endpoint"),
]
