"""deploy/prometheus: the alert rules encode the guide's alarm table, promtool accepts the
rules and the configuration, and every rule has a firing and a non-firing unit test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.helpers import (
    ALARM_TABLE,
    ALERTS,
    PROMETHEUS_CONFIG,
    RULE_TESTS,
    alert_rules,
    exported_metrics,
    load_yaml,
    metric_names,
    run,
    tool,
)


def test_one_rule_per_alarm_with_severity_team_and_hold() -> None:
    rules = {rule["alert"]: rule for rule in alert_rules()}
    assert sorted(rules) == sorted(ALARM_TABLE)
    for name, (severity, team, hold, _receiver) in ALARM_TABLE.items():
        rule = rules[name]
        assert rule["labels"] == {"severity": severity, "team": team}, name
        assert rule.get("for") == hold, name
        assert set(rule["annotations"]) >= {"summary", "description"}, name
        assert rule["annotations"]["summary"].strip() and rule["annotations"]["description"].strip(), name


def test_thresholds_follow_the_guide() -> None:
    exprs = {rule["alert"]: " ".join(rule["expr"].split()) for rule in alert_rules()}
    assert 'rate(node_cpu_seconds_total{mode="idle"}[5m])' in exprs["HighCpuUsage"]
    assert exprs["HighCpuUsage"].endswith(">= 80")
    assert exprs["DiskSpaceCritical"].endswith(">= 90")
    assert exprs["DbConnectionPoolSaturated"].endswith(">= 90")
    assert exprs["ApiResponseTimeHigh"].startswith("histogram_quantile(0.95,")
    assert exprs["ApiResponseTimeHigh"].endswith(">= 1")
    assert 'increase(beachsaver_http_requests_total{status=~"5.."}[1m])' in exprs["Http5xxErrors"]
    assert exprs["Http5xxErrors"].endswith(">= 10")
    assert "[1h]" in exprs["MonthlyAvailabilityAtRisk"]
    assert exprs["MonthlyAvailabilityAtRisk"].endswith("/ (1 - 0.999) > 14.4")
    assert exprs["BatchJobFailed"] == 'increase(beachsaver_job_runs_total{outcome="failure"}[10m]) > 0'
    assert exprs["SignInLockout"] == 'increase(beachsaver_security_events_total{kind="lockout"}[5m]) > 0'
    assert exprs["BackupTooOld"].endswith("> 26 * 3600")
    assert exprs["AuditSealingStalled"] == "max(beachsaver_audit_oldest_unsealed_seconds) > 600"


def test_rules_use_only_metrics_that_are_exported() -> None:
    known = exported_metrics()
    for rule in alert_rules():
        used = metric_names(rule["expr"])
        assert used, rule["alert"]
        assert used <= known, f"{rule['alert']} uses unknown metrics {sorted(used - known)}"


def test_promtool_check_rules() -> None:
    result = run([tool("promtool"), "check", "rules", str(ALERTS)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALARM_TABLE)} rules found" in result.stdout


@pytest.mark.parametrize("test_file", RULE_TESTS, ids=[path.name for path in RULE_TESTS])
def test_promtool_unit_tests(test_file: Path) -> None:
    result = run([tool("promtool"), "test", "rules", str(test_file)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_rule_has_a_firing_and_a_quiet_unit_test() -> None:
    assert len(RULE_TESTS) >= 1
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in RULE_TESTS:
        data = load_yaml(path)
        assert data["rule_files"] == ["../alerts.yml"], path.name
        for case in data["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert firing == set(ALARM_TABLE), f"no firing test for {sorted(set(ALARM_TABLE) - firing)}"
    assert quiet == set(ALARM_TABLE), f"no non-firing test for {sorted(set(ALARM_TABLE) - quiet)}"


def test_firing_tests_expect_the_rule_labels() -> None:
    for path in RULE_TESTS:
        for case in load_yaml(path)["tests"]:
            for check in case.get("alert_rule_test", []):
                for expected in check.get("exp_alerts") or []:
                    severity, team, _hold, _receiver = ALARM_TABLE[check["alertname"]]
                    assert expected["exp_labels"]["severity"] == severity, (path.name, case["name"])
                    assert expected["exp_labels"]["team"] == team, (path.name, case["name"])
                    assert expected["exp_annotations"]["summary"], (path.name, case["name"])


def test_prometheus_config_scrapes_the_service_and_node_exporter() -> None:
    config = load_yaml(PROMETHEUS_CONFIG)
    assert config["rule_files"] == ["alerts.yml"]
    targets = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert targets == ["alertmanager:9093"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert {"beachsaver-api", "beachsaver-worker", "node"} <= set(jobs)
    api = jobs["beachsaver-api"]
    assert api["metrics_path"] == "/metrics"
    assert api["dns_sd_configs"][0]["names"] == ["api"]
    assert api["dns_sd_configs"][0]["port"] == 8000
    assert api["authorization"]["credentials_file"] == "/run/secrets/metrics_token"
    assert jobs["node"]["static_configs"][0]["targets"] == ["node-exporter:9100"]
    # The batch job's name (scraped label `job`) is kept as `job_name` for both service jobs.
    for name in ("beachsaver-api", "beachsaver-worker"):
        relabel = jobs[name]["metric_relabel_configs"]
        assert {"source_labels": ["exported_job"], "regex": "(.+)", "target_label": "job_name"} in relabel
        assert {"regex": "exported_job", "action": "labeldrop"} in relabel


def test_promtool_check_config(tmp_path: Path) -> None:
    promtool = tool("promtool")
    result = run([promtool, "check", "config", "--syntax-only", str(PROMETHEUS_CONFIG)])
    assert result.returncode == 0, result.stdout + result.stderr
    # A full check (rule files and credential files must exist): the container paths are
    # pointed at real files.
    token = tmp_path / "metrics_token"
    token.write_text("token\n", encoding="utf-8")
    config: dict[str, Any] = load_yaml(PROMETHEUS_CONFIG)
    config["rule_files"] = [str(ALERTS)]
    for job in config["scrape_configs"]:
        if "authorization" in job:
            job["authorization"]["credentials_file"] = str(token)
    copy = tmp_path / "prometheus.yml"
    copy.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = run([promtool, "check", "config", str(copy)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALARM_TABLE)} rules found" in result.stdout


def test_promtool_rejects_a_broken_rule(tmp_path: Path) -> None:
    """The check is real: a rule with a PromQL syntax error fails it."""
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "groups:\n  - name: x\n    rules:\n      - alert: Broken\n        expr: sum(rate(x[5m])\n", encoding="utf-8"
    )
    result = run([tool("promtool"), "check", "rules", str(broken)])
    assert result.returncode == 1, result.stdout + result.stderr
