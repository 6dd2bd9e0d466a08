"""Dockerfile, .dockerignore and docker-compose.yml, checked by structure (no container engine
runs on the build machines, 07-precise-rules §11) and with the compose client's own validation
where a client is installed."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from tests.deploy.helpers import (
    ALERTMANAGER_CONFIG,
    COMPOSE,
    DOCKERFILE,
    DOCKERIGNORE,
    PROMETHEUS_CONFIG,
    ROOT,
    compose_command,
    load_yaml,
    package_version,
    run,
    secret_settings,
    setting_names,
)

SERVICES = {
    "api",
    "worker",
    "migrate",
    "db",
    "minio",
    "storage-init",
    "prometheus",
    "alertmanager",
    "grafana",
    "node-exporter",
}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$|_KEY_|DSN|WEBHOOK|CREDENTIAL", re.IGNORECASE)
NOT_SECRET = re.compile(r"_ID$|_USER$")
# A secret the compose file passes that the service does not read yet (asked for in the
# operations issue): the token of the Alertmanager → notifier webhook.
PENDING_SECRETS: set[str] = set()  # every secret the service reads now exists in Settings


# --- Dockerfile ---------------------------------------------------------------------------


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    logical: list[str] = []
    current = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    assert not current, "dangling line continuation"
    result = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions():
        if keyword == "FROM":
            found.append([])
        if found:
            found[-1].append((keyword, rest))
    return found


def test_dockerfile_is_multi_stage() -> None:
    all_stages = stages()
    assert len(all_stages) >= 2
    names = [re.search(r"\bAS\s+(\S+)", stage[0][1], re.IGNORECASE) for stage in all_stages]
    assert all(names), "every stage is named"
    assert [match.group(1) for match in names if match] == ["builder", "runtime"]
    builder, runtime = all_stages
    assert any("build-essential" in rest for keyword, rest in builder if keyword == "RUN")
    assert not any("build-essential" in rest for keyword, rest in runtime if keyword == "RUN")
    assert ("COPY", "--from=builder /opt/venv /opt/venv") in runtime


def test_runtime_stage_runs_as_a_non_root_user() -> None:
    runtime = stages()[-1]
    users = [rest for keyword, rest in runtime if keyword == "USER"]
    assert users, "the runtime stage sets USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert int(user) >= 1000


def test_healthcheck_probes_health() -> None:
    runtime = stages()[-1]
    (check,) = [rest for keyword, rest in runtime if keyword == "HEALTHCHECK"]
    assert "CMD" in check
    assert "http://127.0.0.1:8000/health" in check
    assert re.search(r"--interval=\d+s", check) and re.search(r"--timeout=\d+s", check)


def test_version_and_revision_are_labels_and_the_git_sha_setting() -> None:
    runtime = stages()[-1]
    args = [rest for keyword, rest in runtime if keyword == "ARG"]
    assert any(arg.startswith("VERSION") for arg in args)
    assert any(arg.startswith("GIT_SHA") for arg in args)
    labels = " ".join(rest for keyword, rest in runtime if keyword == "LABEL")
    assert 'org.opencontainers.image.version="${VERSION}"' in labels
    assert 'org.opencontainers.image.revision="${GIT_SHA}"' in labels
    env = " ".join(rest for keyword, rest in runtime if keyword == "ENV")
    assert "BEACHSAVER_GIT_SHA=${GIT_SHA}" in env
    assert "BEACHSAVER_GIT_SHA" in setting_names()


def test_command_serves_on_all_interfaces_with_workers() -> None:
    runtime = stages()[-1]
    (command,) = [rest for keyword, rest in runtime if keyword == "CMD"]
    assert command.startswith("[")
    assert "exec beachsaver serve --host 0.0.0.0 --port 8000 --workers" in command
    assert ("EXPOSE", "8000") in runtime


def test_dockerignore_keeps_the_context_to_what_the_image_needs() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", "allow-list: everything is excluded first"
    allowed = {pattern[1:].rstrip("/") for pattern in patterns if pattern.startswith("!")}
    assert allowed == {"pyproject.toml", "README.md", "src"}
    copied: set[str] = set()
    for keyword, rest in instructions():
        if keyword == "COPY" and not rest.startswith("--from"):
            copied.update(part.rstrip("/") for part in rest.split()[:-1])
    assert copied <= allowed, f"COPY of files the context excludes: {sorted(copied - allowed)}"
    for excluded in (".git", ".venv", "data", ".env.prod", "secrets", "tests"):
        assert excluded not in allowed


# --- docker-compose.yml -------------------------------------------------------------------


def compose() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(COMPOSE)
    return data


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def image_default(image: str) -> str:
    """``${VAR:-default}`` → default."""
    match = re.fullmatch(r"\$\{[A-Z_]+:-([^}]+)\}", image)
    return match.group(1) if match else image


def test_compose_has_the_single_server_services() -> None:
    assert set(services()) == SERVICES


def test_images_are_pinned() -> None:
    for name, service in services().items():
        image = image_default(service["image"])
        assert "$" not in image, name
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest", f"{name}: {image}"
    assert services()["db"]["image"] == "mariadb:10.11"
    app_image = image_default(services()["api"]["image"])
    assert app_image == f"beach-saver-api:v{package_version()}"
    for name in ("worker", "migrate"):
        assert services()[name]["image"] == services()["api"]["image"]


def test_commands_of_the_app_services() -> None:
    assert services()["migrate"]["command"] == ["beachsaver", "migrate"]
    assert services()["worker"]["command"] == ["beachsaver", "worker"]
    assert "beachsaver serve --host 0.0.0.0 --port 8000 --workers" in " ".join(services()["api"]["command"])
    assert services()["migrate"]["restart"] == "no"


def test_start_order_migration_first_database_healthy() -> None:
    for name in ("api", "worker"):
        depends = services()[name]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}, name
        assert depends["db"] == {"condition": "service_healthy"}, name
        assert depends["storage-init"] == {"condition": "service_completed_successfully"}, name
    assert services()["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert services()["storage-init"]["depends_on"] == {"minio": {"condition": "service_healthy"}}


def test_healthchecks() -> None:
    api = services()["api"]["healthcheck"]
    assert api["test"][0] == "CMD"
    assert "http://127.0.0.1:8000/health" in " ".join(api["test"])
    db = services()["db"]["healthcheck"]
    assert db["test"] == ["CMD", "healthcheck.sh", "--connect", "--innodb_initialized"]
    assert services()["minio"]["healthcheck"]["test"] == ["CMD", "mc", "ready", "local"]
    # The image's HTTP check would mark these unhealthy: they serve no port 8000.
    for name in ("worker", "migrate"):
        assert services()[name]["healthcheck"] == {"disable": True}, name


def test_database_keeps_its_data_and_binary_log() -> None:
    db = services()["db"]
    assert "db-data:/var/lib/mysql" in db["volumes"]
    assert "db-data" in compose()["volumes"]
    assert "--log-bin=binlog" in db["command"] and "--binlog-format=ROW" in db["command"]
    assert "--character-set-server=utf8mb4" in db["command"]


def test_monitoring_services_mount_the_project_configuration() -> None:
    prometheus = services()["prometheus"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in prometheus["volumes"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    alertmanager = services()["alertmanager"]
    assert "./deploy/alertmanager:/etc/alertmanager:ro" in alertmanager["volumes"]
    assert "--config.file=/etc/alertmanager/alertmanager.yml" in alertmanager["command"]
    assert (ROOT / "deploy/prometheus/prometheus.yml").is_file()
    assert (ROOT / "deploy/alertmanager/alertmanager.yml").is_file()
    for name, service in services().items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "environment is a mapping"
    return {str(key): str(value) for key, value in env.items()}


def test_no_literal_secrets() -> None:
    top_secrets = compose()["secrets"]
    for name, service in services().items():
        mounted = set(service.get("secrets", []))
        for key, value in environment(service).items():
            if key.endswith(("_FILE", "__FILE")) and key not in setting_names():
                assert value.startswith("/run/secrets/"), f"{name}: {key}"
                secret = value.removeprefix("/run/secrets/")
                assert secret in mounted, f"{name}: {key} names secret {secret} that is not mounted"
            elif key in secret_settings() or (SECRET_NAME.search(key) and not NOT_SECRET.search(key)):
                raise AssertionError(f"{name}: {key} is a secret given as a literal value")
        assert mounted <= set(top_secrets), name
    for secret, spec in top_secrets.items():
        assert spec == {"file": f"./secrets/{secret}"}, secret
    text = COMPOSE.read_text(encoding="utf-8")
    assert not re.search(r"://[^/\s:@\"']+:[^@\s\"']+@", text), "credentials inside a URL"
    assert "hooks.slack.com" not in text and "CHANGE_ME" not in text
    assert not re.search(r"AKIA[0-9A-Z]{16}", text)


def test_app_services_read_only_known_settings() -> None:
    known = setting_names() | PENDING_SECRETS
    for name in ("api", "worker", "migrate"):
        env = environment(services()[name])
        for key in env:
            if key.startswith("BEACHSAVER_") and key not in known:
                assert key.removesuffix("_FILE") in known, f"{name}: {key} is not a setting"
        assert env["BEACHSAVER_DATABASE_URL"] == "mysql://beachsaver@db:3306/beachsaver"
        assert env["BEACHSAVER_STORAGE_URL"].startswith("s3://")
        assert env["BEACHSAVER_S3_ENDPOINT_URL"] == "http://minio:9000"
        assert services()[name]["env_file"] == ["${BEACHSAVER_ENV_FILE:-.env.prod}"]
        # Every secret of the service comes from a docker secret file.
        given = {key.removesuffix("_FILE") for key in env if key.endswith("_FILE")}
        assert secret_settings() | PENDING_SECRETS <= given, name


def test_secret_files_read_by_monitoring_configs_are_mounted() -> None:
    for service, path in (("prometheus", PROMETHEUS_CONFIG), ("alertmanager", ALERTMANAGER_CONFIG)):
        referenced = set(re.findall(r"/run/secrets/([a-z_]+)", path.read_text(encoding="utf-8")))
        assert referenced, service
        assert referenced <= set(services()[service]["secrets"]), service


def test_compose_client_validates_the_file(tmp_path: Path) -> None:
    """``docker compose config`` (or docker-compose v1) accepts the file, in a scratch project
    with an empty env file and empty secret files, and rejects a broken copy."""
    command = compose_command()
    project = tmp_path / "project"
    (project / "secrets").mkdir(parents=True)
    for secret in compose()["secrets"]:
        (project / "secrets" / secret).write_text("", encoding="utf-8")
    (project / "deploy").symlink_to(ROOT / "deploy")
    (project / ".env.prod").write_text("", encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("BEACHSAVER_", "COMPOSE_"))}
    good = project / "docker-compose.yml"
    good.write_text(COMPOSE.read_text(encoding="utf-8"), encoding="utf-8")
    result = run([*command, "-f", str(good), "config", "-q"], env=env, cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = project / "broken.yml"
    broken.write_text(
        COMPOSE.read_text(encoding="utf-8").replace("    restart: unless-stopped\n", "    restart: [1]\n", 1),
        encoding="utf-8",
    )
    result = run([*command, "-f", str(broken), "config", "-q"], env=env, cwd=project)
    assert result.returncode != 0, "the client rejects an invalid file"
    assert "restart" in result.stdout + result.stderr
