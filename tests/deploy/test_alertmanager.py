"""deploy/alertmanager/alertmanager.yml: amtool accepts it, every alert of the rules reaches
the receiver of the guide's alarm table, receivers use the right channels, and no secret is
written in the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.deploy.helpers import ALARM_TABLE, ALERTMANAGER_CONFIG, COMPOSE, alert_rules, load_yaml, run, tool

# receiver -> the kinds of integration it must have (guide §4.3: Slack, SMS + Slack, e-mail).
CHANNELS = {
    "ops-slack": {"slack_configs"},
    "ops-sms-slack": {"slack_configs", "webhook_configs"},
    "dev-slack": {"slack_configs"},
    "ops-management-email": {"email_configs"},
    "job-owner-email": {"email_configs"},
    "security-sms-slack": {"slack_configs", "webhook_configs"},
}


def config() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(ALERTMANAGER_CONFIG)
    return data


def test_amtool_check_config() -> None:
    result = run([tool("amtool"), "check-config", str(ALERTMANAGER_CONFIG)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_amtool_rejects_a_route_to_an_unknown_receiver(tmp_path: Path) -> None:
    """The check is real: a route naming a receiver that does not exist fails it."""
    broken = tmp_path / "alertmanager.yml"
    broken.write_text(
        ALERTMANAGER_CONFIG.read_text(encoding="utf-8").replace(
            "receiver: dev-slack\n      matchers", "receiver: nobody\n      matchers"
        ),
        encoding="utf-8",
    )
    assert "receiver: nobody" in broken.read_text(encoding="utf-8")
    result = run([tool("amtool"), "check-config", str(broken)])
    assert result.returncode == 1, result.stdout + result.stderr


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
def test_each_alert_reaches_the_receiver_of_the_alarm_table(rule: dict[str, Any]) -> None:
    _severity, _team, _hold, receiver = ALARM_TABLE[rule["alert"]]
    labels = [f"alertname={rule['alert']}"] + [f"{key}={value}" for key, value in rule["labels"].items()]
    result = run(
        [
            tool("amtool"),
            "config",
            "routes",
            "test",
            f"--config.file={ALERTMANAGER_CONFIG}",
            f"--verify.receivers={receiver}",
            *labels,
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receiver


def test_unknown_teams_fall_back_to_the_ops_channel() -> None:
    result = run([tool("amtool"), "config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}", "team=nobody"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "ops-slack"


def test_receivers_use_the_channels_of_the_guide() -> None:
    receivers = {receiver["name"]: receiver for receiver in config()["receivers"]}
    assert set(receivers) == set(CHANNELS)
    for name, kinds in CHANNELS.items():
        assert {key for key in receivers[name] if key.endswith("_configs")} == kinds, name
    emails = receivers["ops-management-email"]["email_configs"][0]["to"]
    assert len([address for address in emails.split(",") if "@" in address]) == 2


def test_sms_goes_through_the_services_own_notifier() -> None:
    for name in ("ops-sms-slack", "security-sms-slack"):
        receiver = next(r for r in config()["receivers"] if r["name"] == name)
        (webhook,) = receiver["webhook_configs"]
        assert webhook["url"].startswith("http://api:8000/api/ops/alerts/webhook?channel=sms&team=")
        assert webhook["http_config"]["authorization"]["credentials_file"] == "/run/secrets/alert_webhook_token"


def test_no_secret_is_written_in_the_file() -> None:
    data = config()
    files: set[str] = set()
    assert "smtp_auth_password" not in data["global"]
    files.add(data["global"]["smtp_auth_password_file"])
    for receiver in data["receivers"]:
        for slack in receiver.get("slack_configs", []):
            assert "api_url" not in slack, receiver["name"]
            files.add(slack["api_url_file"])
        for webhook in receiver.get("webhook_configs", []):
            authorization = webhook["http_config"]["authorization"]
            assert "credentials" not in authorization, receiver["name"]
            files.add(authorization["credentials_file"])
        for email in receiver.get("email_configs", []):
            assert "auth_password" not in email, receiver["name"]
    assert all(path.startswith("/run/secrets/") for path in files), files
    text = ALERTMANAGER_CONFIG.read_text(encoding="utf-8")
    assert "hooks.slack.com" not in text
    # Every secret file the config reads is mounted into the alertmanager container.
    mounted = set(load_yaml(COMPOSE)["services"]["alertmanager"]["secrets"])
    assert {path.removeprefix("/run/secrets/") for path in files} <= mounted
