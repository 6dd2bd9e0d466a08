""".github/workflows: actionlint accepts every workflow, CI runs what the guide's pipeline
asks for, and the deploy workflow pushes the versioned image and gates production."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.helpers import ECS_DIR, WORKFLOWS, load_yaml, render_module, run, tool, workflow_triggers

WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yml"))


def workflow(name: str) -> dict[Any, Any]:
    data: dict[Any, Any] = load_yaml(WORKFLOWS / name)
    return data


def steps_text(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) + " " + str(step.get("uses", "")) for step in job["steps"])


def test_both_workflows_exist() -> None:
    assert {path.name for path in WORKFLOW_FILES} >= {"ci.yml", "deploy.yml"}


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=[path.name for path in WORKFLOW_FILES])
def test_actionlint(path: Path) -> None:
    result = run([tool("actionlint"), "-no-color", str(path)], cwd=path.parents[2])
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_finds_problems(tmp_path: Path) -> None:
    """The check is real: an undefined expression context fails it."""
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        "name: broken\non: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - uses: actions/checkout@v5\n      - run: echo ${{ nonsense.value }}\n",
        encoding="utf-8",
    )
    result = run([tool("actionlint"), "-no-color", str(broken)], cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr


def test_every_checkout_is_v5_or_newer() -> None:
    for path in WORKFLOW_FILES:
        for version in re.findall(r"actions/checkout@v(\d+)", path.read_text(encoding="utf-8")):
            assert int(version) >= 5, path.name


def test_ci_runs_on_main_and_develop() -> None:
    triggers = workflow_triggers(workflow("ci.yml"))
    assert triggers["push"]["branches"] == ["main", "develop"]
    assert triggers["pull_request"]["branches"] == ["main", "develop"]


def test_ci_installs_lints_types_tests_audits_and_builds() -> None:
    jobs = workflow("ci.yml")["jobs"]
    test = jobs["test"]
    assert test["services"]["mariadb"]["image"] == "mariadb:10.11"
    assert test["env"]["BEACHSAVER_TEST_MYSQL_URL"] == "mysql://root@127.0.0.1:3306/test"
    assert test["env"]["CI"] == "true"
    text = steps_text(test)
    for needed in ('pip install -e ".[dev]"', "ruff check", "mypy", "pytest", "prometheus-alertmanager"):
        assert needed in text, needed
    assert "pip-audit" in steps_text(jobs["audit"])
    image = jobs["image"]
    build = next(step for step in image["steps"] if str(step.get("uses", "")).startswith("docker/build-push-action@"))
    assert build["with"]["push"] is False
    assert "GIT_SHA=${{ github.sha }}" in build["with"]["build-args"]
    assert "VERSION=" in build["with"]["build-args"]


def test_deploy_pushes_the_versioned_image_to_ecr() -> None:
    data = workflow("deploy.yml")
    assert workflow_triggers(data)["push"]["tags"] == ["v*.*.*"]
    assert data["env"]["IMAGE_NAME"] == "beach-saver-api"
    build = data["jobs"]["build"]
    text = steps_text(build)
    assert "aws-actions/amazon-ecr-login@" in text
    assert 'echo "tag=v${version}"' in text
    push = next(step for step in build["steps"] if str(step.get("uses", "")).startswith("docker/build-push-action@"))
    assert push["with"]["push"] is True
    assert "${{ env.IMAGE_NAME }}:${{ steps.version.outputs.tag }}" in push["with"]["tags"]


def test_deploy_goes_through_staging_then_an_approved_production() -> None:
    jobs = workflow("deploy.yml")["jobs"]
    assert jobs["staging"]["needs"] == "build"
    assert jobs["staging"]["environment"]["name"] == "staging"
    assert set(jobs["production"]["needs"]) == {"build", "staging"}
    # The approval gate: the production GitHub environment's required reviewers.
    assert jobs["production"]["environment"]["name"] == "production"
    for name in ("staging", "production"):
        text = steps_text(jobs[name])
        migrate = 'command":["beachsaver","migrate"]'
        assert migrate in text, name
        # Migrations (the expand step) run before the new release takes traffic.
        assert text.index(migrate) < text.index("amazon-ecs-deploy-task-definition"), name
    production = next(step for step in jobs["production"]["steps"] if "codedeploy-appspec" in step.get("with", {}))
    assert production["with"]["codedeploy-appspec"] == "deploy/ecs/appspec.yaml"
    assert (ECS_DIR / "appspec.yaml").is_file()


def test_deploy_fills_every_placeholder_of_the_task_definitions() -> None:
    needed: set[str] = set()
    for template in ("task-definition.json", "worker-task-definition.json"):
        needed.update(render_module().placeholders((ECS_DIR / template).read_text(encoding="utf-8")))
    jobs = workflow("deploy.yml")["jobs"]
    for name in ("staging", "production"):
        given = {key.removeprefix("TD_") for key in jobs[name]["env"] if key.startswith("TD_")}
        assert given == needed, f"{name}: missing {sorted(needed - given)}, unused {sorted(given - needed)}"
