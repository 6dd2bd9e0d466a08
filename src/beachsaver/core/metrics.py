"""Prometheus metrics of the service (exposed at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

SECURITY_EVENTS = Counter("beachsaver_security_events_total", "Security events raised", ["kind"])
SIGNINS = Counter("beachsaver_signins_total", "Sign-in attempts by outcome", ["kind", "outcome"])
HTTP_REQUESTS = Counter("beachsaver_http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "beachsaver_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0),
)

from prometheus_client import Gauge  # noqa: E402

JOB_RUNS = Counter("beachsaver_job_runs_total", "Scheduled job runs", ["job", "outcome"])
JOB_DURATION = Histogram(
    "beachsaver_job_duration_seconds", "Scheduled job duration", ["job"], buckets=(0.1, 1, 5, 30, 120, 600, 3600)
)
QUEUE_DEPTH = Gauge("beachsaver_notification_queue_depth", "Deliveries waiting in the outbox")
DELIVERIES = Counter("beachsaver_deliveries_total", "Deliveries by channel and outcome", ["channel", "outcome"])
REPORTS = Counter("beachsaver_reports_total", "Report transitions", ["type", "outcome"])
DEPOT_COLLECTIONS = Counter("beachsaver_depot_collections_total", "Depots collected")
IMPORTS = Counter("beachsaver_imports_total", "Account imports by outcome", ["outcome"])
