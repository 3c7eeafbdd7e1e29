"""The outbox seen by Prometheus: depth and oldest pending message per partner, read at scrape time."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from pushes.models import OutboxMessage


class OutboxCollector(Collector):
    """``cpo_outbox_depth`` and ``cpo_outbox_oldest_pending_age_seconds`` by partner (one query)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "cpo_outbox_depth", "Pending and in-flight pushes, by partner.", labels=["partner"]
        )
        age = GaugeMetricFamily(
            "cpo_outbox_oldest_pending_age_seconds",
            "Age of the oldest pending or in-flight push, by partner.",
            labels=["partner"],
        )
        now = timezone.now()
        # One grouped query over the open messages, the only rows that matter here.
        rows = (
            OutboxMessage.objects.filter(
                state__in=(OutboxMessage.State.PENDING, OutboxMessage.State.IN_FLIGHT)
            )
            .values("partner__name")
            .annotate(depth=Count("id"), oldest=Min("created_at"))
            .order_by("partner__name")
        )
        for row in rows:
            depth.add_metric([row["partner__name"]], row["depth"])
            age.add_metric([row["partner__name"]], (now - row["oldest"]).total_seconds())
        yield depth
        yield age
