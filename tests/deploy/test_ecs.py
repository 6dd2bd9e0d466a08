"""deploy/ecs: the Fargate task-definition templates are valid RegisterTaskDefinition input
(checked against botocore's ECS model), take secrets only from Secrets Manager, and render.py
fills them in completely or refuses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.helpers import ECS_DIR, render_module, secret_settings, setting_names

TEMPLATES = ["task-definition.json", "worker-task-definition.json"]
# A secret the compose and ECS deployments pass that the service does not read yet (asked for in
# the operations issue): the token of the Alertmanager → notifier webhook.
PENDING_SECRETS: set[str] = set()  # every secret the service reads now exists in Settings


def template(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ECS_DIR / name).read_text(encoding="utf-8"))
    return data


def filled_environment(text: str) -> dict[str, str]:
    values = {name: f"value-of-{name.lower()}" for name in render_module().placeholders(text)}
    values.update({"AWS_ACCOUNT_ID": "123456789012", "AWS_REGION": "ap-northeast-2", "IMAGE_TAG": "v0.1.0"})
    return {f"TD_{name}": value for name, value in values.items()}


def botocore_validator() -> Any:
    try:
        import botocore.session
        from botocore.validate import ParamValidator
    except ImportError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true and botocore is not installed (pip install boto3)")
        pytest.skip("botocore is not installed (pip install boto3)")
    shape = botocore.session.get_session().get_service_model("ecs").operation_model("RegisterTaskDefinition")
    return lambda params: ParamValidator().validate(params, shape.input_shape)


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_is_fargate_with_health_check_and_logs(name: str) -> None:
    data = template(name)
    assert data["requiresCompatibilities"] == ["FARGATE"]
    assert data["networkMode"] == "awsvpc"
    (container,) = data["containerDefinitions"]
    assert container["image"] == "<AWS_ACCOUNT_ID>.dkr.ecr.<AWS_REGION>.amazonaws.com/beach-saver-api:<IMAGE_TAG>"
    assert container["user"] == "10001:10001"
    assert container["logConfiguration"]["logDriver"] == "awslogs"
    assert container["logConfiguration"]["options"]["awslogs-group"] == "/ecs/beach-saver-<ENV>"
    if name == "task-definition.json":
        assert container["name"] == "api"
        assert container["portMappings"][0]["containerPort"] == 8000
        check = container["healthCheck"]
        assert check["command"][0] == "CMD"
        assert "http://127.0.0.1:8000/health" in " ".join(check["command"])
        assert "exec beachsaver serve --host 0.0.0.0 --port 8000 --workers" in " ".join(container["command"])
    else:
        assert container["name"] == "worker"
        assert container["command"] == ["beachsaver", "worker"]


@pytest.mark.parametrize("name", TEMPLATES)
def test_secrets_come_from_secrets_manager_only(name: str) -> None:
    (container,) = template(name)["containerDefinitions"]
    secret = secret_settings() | PENDING_SECRETS
    for variable in container["environment"]:
        key = variable["name"]
        assert key in setting_names() or key == "WEB_CONCURRENCY", f"{key} is not a setting"
        assert key not in secret, f"{key} is a secret given as a plain environment value"
    env = {variable["name"]: variable["value"] for variable in container["environment"]}
    assert env["BEACHSAVER_ENV"] == "<ENV>"
    assert env["BEACHSAVER_DATABASE_URL"] == "mysql://beachsaver@<RDS_ENDPOINT>:3306/beachsaver"
    assert env["BEACHSAVER_STORAGE_URL"] == "s3://<S3_BUCKET>/files"
    for key in ("BEACHSAVER_DEV_OUTBOX", "BEACHSAVER_AUTO_MIGRATE", "BEACHSAVER_DEMO_DATA"):
        assert env[key] == "false", key
    secrets = {secret["name"]: secret["valueFrom"] for secret in container["secrets"]}
    for required in ("BEACHSAVER_DATABASE_PASSWORD", "BEACHSAVER_JWT_SECRET", "BEACHSAVER_PII_KEY"):
        assert required in secrets, required
    # Every secret of the service is there, except the S3 key: on AWS the task role grants S3.
    assert set(secrets) == secret - {"BEACHSAVER_S3_SECRET_ACCESS_KEY"}
    for key, source in secrets.items():
        json_key = key.removeprefix("BEACHSAVER_").lower().replace("_", "-")
        assert source == f"arn:aws:secretsmanager:<AWS_REGION>:<AWS_ACCOUNT_ID>:secret:beachsaver/<ENV>:{json_key}::"


@pytest.mark.parametrize("name", TEMPLATES)
def test_rendered_template_is_valid_register_task_definition_input(name: str) -> None:
    validate = botocore_validator()
    text = (ECS_DIR / name).read_text(encoding="utf-8")
    rendered = render_module().render(text, filled_environment(text))
    assert "<" not in json.dumps(rendered)
    report = validate(rendered)
    assert not report.has_errors(), report.generate_report()
    (container,) = rendered["containerDefinitions"]
    assert container["image"] == "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/beach-saver-api:v0.1.0"


def test_botocore_validation_is_real() -> None:
    validate = botocore_validator()
    text = (ECS_DIR / "task-definition.json").read_text(encoding="utf-8")
    rendered = render_module().render(text, filled_environment(text))
    rendered["containerDefinitions"][0]["healthCheck"]["interval"] = "15"
    assert validate(rendered).has_errors()


def test_render_escapes_values_for_json() -> None:
    text = (ECS_DIR / "task-definition.json").read_text(encoding="utf-8")
    env = filled_environment(text)
    env["TD_CORS_ORIGINS"] = 'https://a.example,"quoted"\\path'
    rendered = render_module().render(text, env)
    values = {v["name"]: v["value"] for v in rendered["containerDefinitions"][0]["environment"]}
    assert values["BEACHSAVER_CORS_ORIGINS"] == 'https://a.example,"quoted"\\path'


def test_render_script_refuses_missing_values(tmp_path: Path) -> None:
    script = ECS_DIR / "render.py"
    text = (ECS_DIR / "task-definition.json").read_text(encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if not key.startswith("TD_")}
    full = {**env, **filled_environment(text)}
    ok = subprocess.run(
        [sys.executable, str(script), str(ECS_DIR / "task-definition.json")],
        env=full,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["family"] == "beach-saver-api-" + full["TD_ENV"]
    partial = {key: value for key, value in full.items() if key not in {"TD_RDS_ENDPOINT", "TD_S3_BUCKET"}}
    refused = subprocess.run(
        [sys.executable, str(script), str(ECS_DIR / "task-definition.json")],
        env=partial,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 2
    assert refused.stdout == ""
    assert refused.stderr.strip() == "render.py: no value for TD_RDS_ENDPOINT, TD_S3_BUCKET"
