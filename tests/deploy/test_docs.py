"""CHANGELOG.md and docs/deployment.md stay in step with the files they describe."""

from __future__ import annotations

import re

from tests.deploy.helpers import (
    ALARM_TABLE,
    COMPOSE,
    ECS_DIR,
    ROOT,
    WORKFLOWS,
    load_yaml,
    package_version,
    render_module,
)

DEPLOYMENT = ROOT / "docs" / "deployment.md"
CHANGELOG = ROOT / "CHANGELOG.md"


def test_changelog_has_a_section_for_the_package_version() -> None:
    text = CHANGELOG.read_text(encoding="utf-8")
    assert text.startswith("# Changelog\n")
    assert "Keep a Changelog" in text
    headings = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - (Unreleased|\d{4}-\d{2}-\d{2})$", text, re.MULTILINE)
    assert headings, "no release section"
    assert headings[0][0] == package_version()
    section = text.split(f"## [{package_version()}]", 1)[1]
    assert "### Added" in section


def test_deployment_doc_lists_every_compose_secret() -> None:
    text = DEPLOYMENT.read_text(encoding="utf-8")
    for secret in load_yaml(COMPOSE)["secrets"]:
        assert f"`{secret}`" in text, secret


def test_deployment_doc_lists_every_github_variable_and_placeholder() -> None:
    text = DEPLOYMENT.read_text(encoding="utf-8")
    variables = set(re.findall(r"vars\.([A-Z][A-Z0-9_]*)", (WORKFLOWS / "deploy.yml").read_text(encoding="utf-8")))
    assert variables
    for variable in variables:
        assert f"`{variable}`" in text, variable
    for template in ("task-definition.json", "worker-task-definition.json"):
        for name in render_module().placeholders((ECS_DIR / template).read_text(encoding="utf-8")):
            assert f"`<{name}>`" in text, name


def test_deployment_doc_lists_every_alert_with_its_route() -> None:
    text = DEPLOYMENT.read_text(encoding="utf-8")
    for alert, (severity, team, _hold, receiver) in ALARM_TABLE.items():
        row = next((line for line in text.splitlines() if line.startswith(f"| `{alert}` |")), None)
        assert row, alert
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[2:4] == [severity, team], alert
        assert cells[4].startswith(f"`{receiver}`"), alert


def test_deployment_doc_covers_the_required_topics() -> None:
    text = DEPLOYMENT.read_text(encoding="utf-8")
    for topic in (
        "docker compose up -d",
        "docker compose down",
        "docker compose ps",
        "ECS/Fargate",
        "ALB",
        "Multi-AZ",
        "S3",
        "blue/green",
        "canary",
        "expand",
        "contract",
        "Rollback",
        "Where each setting comes from",
    ):
        assert topic in text, topic
