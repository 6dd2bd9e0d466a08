"""deploy/grafana: the dashboard JSON is valid, shows the figures of the guide's monitoring
section from metrics the service really exports, its PromQL parses, and the provisioning files
load it against the compose stack's Prometheus."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.helpers import COMPOSE, DASHBOARD, GRAFANA_DIR, exported_metrics, load_yaml, metric_names, run, tool

# Figure -> a metric (and, where it matters, an expression fragment) one panel must show.
REQUIRED = {
    "request rate": ("beachsaver_http_requests_total", "rate(beachsaver_http_requests_total["),
    "p95 latency": ("beachsaver_http_request_duration_seconds_bucket", "histogram_quantile(0.95,"),
    "5xx rate": ("beachsaver_http_requests_total", 'status=~"5.."'),
    "DB pool": ("beachsaver_db_pool_in_use", "beachsaver_db_pool_size"),
    "job runs": ("beachsaver_job_runs_total", "outcome"),
    "job failures": ("beachsaver_job_runs_total", 'outcome="failure"'),
    "backup age": ("beachsaver_backup_last_success_timestamp_seconds", "time() -"),
    "security events": ("beachsaver_security_events_total", "kind"),
    "CPU": ("node_cpu_seconds_total", 'mode="idle"'),
    "disk": ("node_filesystem_avail_bytes", "node_filesystem_size_bytes"),
    "queue depth": ("beachsaver_notification_queue_depth", "beachsaver_notification_queue_depth"),
}


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return data


def panels() -> list[dict[str, Any]]:
    return [panel for panel in dashboard()["panels"] if panel["type"] != "row"]


def expressions() -> list[str]:
    return [target["expr"] for panel in panels() for target in panel["targets"]]


def test_dashboard_is_valid_grafana_json() -> None:
    data = dashboard()
    assert data["uid"] == "beachsaver-operations"
    assert data["title"]
    assert isinstance(data["schemaVersion"], int)
    ids = [panel["id"] for panel in data["panels"]]
    assert len(ids) == len(set(ids))
    for panel in data["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["w"] > 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        assert grid["h"] > 0 and grid["y"] >= 0, panel["title"]
    for panel in panels():
        assert panel["type"] in {"timeseries", "stat", "gauge", "table", "bargauge"}, panel["title"]
        assert panel["targets"], panel["title"]
        assert [target["refId"] for target in panel["targets"]] == [chr(65 + i) for i in range(len(panel["targets"]))]


def test_panels_show_every_figure_of_the_guide() -> None:
    exprs = expressions()
    for figure, (metric, fragment) in REQUIRED.items():
        assert any(metric in expr and fragment in expr for expr in exprs), f"no panel shows {figure}"


def test_panels_use_only_metrics_that_are_exported() -> None:
    known = exported_metrics()
    for panel in panels():
        for target in panel["targets"]:
            used = metric_names(target["expr"])
            assert used, (panel["title"], target["expr"])
            assert used <= known, f"{panel['title']}: unknown metrics {sorted(used - known)}"


def test_panel_queries_are_valid_promql(tmp_path: Path) -> None:
    """Every panel query, with Grafana's $__rate_interval filled in, parses as PromQL
    (promtool checks it as a recording rule)."""
    rules = [
        {"record": f"dashboard:query_{i}", "expr": re.sub(r"\$__rate_interval", "1m", expr)}
        for i, expr in enumerate(expressions())
    ]
    assert not any("$" in rule["expr"] for rule in rules)
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}), encoding="utf-8")
    result = run([tool("promtool"), "check", "rules", str(path)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


def test_provisioning_points_at_the_compose_prometheus_and_dashboards() -> None:
    datasources = load_yaml(GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml")
    (source,) = datasources["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    uids = {
        target["datasource"]["uid"]
        for panel in panels()
        for target in [panel, *panel["targets"]]
        if "datasource" in target
    }
    assert uids == {source["uid"]}

    providers = load_yaml(GRAFANA_DIR / "provisioning" / "dashboards" / "beachsaver.yml")
    (provider,) = providers["providers"]
    assert provider["type"] == "file"
    grafana = load_yaml(COMPOSE)["services"]["grafana"]
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in grafana["volumes"]}
    assert mounts[provider["options"]["path"]] == "./deploy/grafana/dashboards"
    assert mounts["/etc/grafana/provisioning"] == "./deploy/grafana/provisioning"
    assert (GRAFANA_DIR / "dashboards" / DASHBOARD.name).is_file()
