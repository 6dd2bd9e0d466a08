"""One validated settings object built from ``BEACHSAVER_*`` variables.

``load_settings`` is the only reader of the environment. For each setting ``X`` the value comes
from, in order of precedence:

1. ``BEACHSAVER_X`` in the process environment;
2. ``BEACHSAVER_X_FILE`` in the process environment (a file holding the value: Docker/Kubernetes
   secrets);
3. ``BEACHSAVER_X`` in the env file of the environment (``.env.<env>`` in the working directory,
   or the file named by ``BEACHSAVER_ENV_FILE``);
4. ``BEACHSAVER_X_FILE`` in that env file;
5. the default below.

Every problem found is collected and raised as one ``ConfigError``: values that do not parse,
unreadable ``*_FILE`` files and, outside ``dev``, missing, placeholder or short secrets, SQLite
and dev-only features. Messages name settings, never their values. In ``dev`` missing keys are
generated once into ``$DATA_DIR/dev-keys.json`` and reused so that a dev database stays readable.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

Environment = Literal["dev", "staging", "prod"]
ENVIRONMENTS: tuple[str, ...] = ("dev", "staging", "prod")
PREFIX = "BEACHSAVER_"
#: Names the env file to read instead of ``.env.<env>`` (a missing file is skipped).
ENV_FILE_VAR = "BEACHSAVER_ENV_FILE"

#: Settings whose values are secrets: never logged, never shown, refused as placeholders.
SECRET_FIELDS = (
    "jwt_secret",
    "pii_key",
    "phone_hash_key",
    "backup_key",
    "database_password",
    "alimtalk_app_key",
    "alimtalk_secret_key",
    "sms_app_key",
    "sms_secret_key",
    "smtp_password",
    "s3_secret_access_key",
    "metrics_token",
    "bootstrap_admin_password",
    "sentry_dsn",
    "slack_webhook_url",
    "alert_webhook_token",
    "notify_webhook_token",
)
#: Values known from examples, tutorials and defaults; refused outside dev (compared lower-case).
KNOWN_WEAK_SECRETS = {
    "",
    "changeme",
    "change-me",
    "change_me",
    "secret",
    "password",
    "passw0rd",
    "admin",
    "root",
    "dev",
    "test",
    "example",
    "default",
    "todo",
    "xxx",
    "12345678",
    "qwerty",
    "minioadmin",
    "testing",
    "dev-insecure-jwt-secret-change-me",
}
#: Substrings that mark a value as a placeholder (the committed deploy/env/*.example use them).
PLACEHOLDER_MARKERS = (
    "changeme",
    "change-me",
    "change_me",
    "replace-me",
    "replace_me",
    "replaceme",
    "placeholder",
    "example",
    "insecure",
    "dummy",
)
MIN_JWT_SECRET_LENGTH = 32
MIN_BOOTSTRAP_PASSWORD_LENGTH = 12
KEY_BYTES = 32
SUPPORTED_DATABASES = ("sqlite", "mysql", "mariadb")
KEY_HINT = 'python -c "import base64, os; print(base64.b64encode(os.urandom(32)).decode())"'


class ConfigError(RuntimeError):
    """The settings cannot be used in the chosen environment; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"Beach-Saver refuses to start: {len(problems)} configuration problem(s)\n{lines}\n"
            "Settings are BEACHSAVER_* variables (or BEACHSAVER_*_FILE naming a file that holds the value); "
            "see docs/configuration.md."
        )


def _secret(default: Any = None) -> Any:
    """A secret field: left out of ``repr`` so that it cannot leak into logs or tracebacks."""
    return Field(default, repr=False)


class Settings(BaseSettings):
    """Every setting of the service. Build it with ``load_settings``, which reads the environment."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore", case_sensitive=False)

    # ---- environment, storage, database ---------------------------------------------------
    env: Environment = "dev"
    data_dir: Path = Path("./data")
    database_url: str = Field("", repr=False)  # may carry the password
    database_password: str | None = _secret()
    db_pool_size: int = Field(10, ge=1)
    db_max_overflow: int = Field(20, ge=0)
    # Requests inside the application at once per process (0: the pool's size); core/server.py.
    admission_limit: int = Field(0, ge=0)
    storage_url: str = ""
    s3_endpoint_url: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = _secret()
    s3_region: str = "us-east-1"
    backup_dir: Path | None = None
    backup_max_age_h: int = Field(26, ge=1)

    # ---- keys ------------------------------------------------------------------------------
    jwt_secret: str = _secret("")
    pii_key: str = _secret("")
    phone_hash_key: str = _secret("")
    backup_key: str | None = _secret()

    # ---- first platform admin --------------------------------------------------------------
    bootstrap_admin_phone: str | None = None
    bootstrap_admin_password: str | None = _secret()
    bootstrap_admin_nickname: str = "관리자"
    bootstrap_admin_email: str | None = None

    # ---- sign-in (07 §2) ---------------------------------------------------------------------
    otp_ttl_s: int = Field(180, ge=10)
    otp_min_interval_s: int = Field(30, ge=0)
    otp_max_sends: int = Field(5, ge=1)
    otp_send_window_s: int = Field(600, ge=1)
    lock_threshold: int = Field(5, ge=1)
    lock_window_s: int = Field(900, ge=1)
    lock_duration_s: int = Field(1800, ge=1)
    access_ttl_s: int = Field(900, ge=10)
    refresh_ttl_s: int = Field(1209600, ge=60)
    selection_ttl_s: int = Field(300, ge=10)
    password_max_age_days: int = Field(90, ge=1)
    inactive_days: int = Field(180, ge=1)

    # ---- message providers -----------------------------------------------------------------
    alimtalk_base_url: str | None = None
    alimtalk_app_key: str | None = _secret()
    alimtalk_secret_key: str | None = _secret()
    alimtalk_sender_key: str | None = None
    alimtalk_template_code: str = "BEACHSAVER_OTP"
    sms_base_url: str | None = None
    sms_app_key: str | None = _secret()
    sms_secret_key: str | None = _secret()
    sms_sender_no: str = "0510000000"
    smtp_host: str | None = None
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: str | None = _secret()
    smtp_from: str = "beachsaver@localhost"
    smtp_starttls: bool = False
    slack_webhook_url: str | None = _secret()
    provider_timeout_s: float = Field(5.0, gt=0)
    security_alert_phones: str = ""
    security_alert_emails: str = ""
    security_alert_window_s: int = Field(300, ge=0)
    ops_email: str | None = None
    ops_alert_phones: str = ""
    alimtalk_notice_template_code: str = "BEACHSAVER_NOTICE"
    fcm_credentials_file: str | None = None
    fcm_project_id: str | None = None
    fcm_base_url: str = "https://fcm.googleapis.com"
    fcm_token_uri: str | None = None
    notify_webhook_url: str | None = None
    notify_webhook_token: str | None = _secret()
    notify_webhook_channels: str = ""
    notify_max_attempts: int = Field(6, ge=1)
    notify_backoff_base_s: float = Field(30, ge=0)
    notify_backoff_max_s: float = Field(3600, ge=0)
    notify_lease_s: float = Field(120, gt=0)
    notify_batch_size: int = Field(50, ge=1)
    worker_interval_s: float = Field(5, gt=0)
    worker_in_process: bool | None = None
    db_watch_interval_s: float = Field(5, gt=0)
    db_watch_failures: int = Field(3, ge=1)
    job_owner_emails: str = ""
    alert_webhook_token: str | None = _secret()

    # ---- dev-only features (None: on in dev, off elsewhere) ---------------------------------
    dev_outbox: bool | None = None
    auto_migrate: bool | None = None
    demo_data: bool | None = None

    # ---- HTTP, limits, observability --------------------------------------------------------
    cors_origins: str = ""
    max_upload_mb: int = Field(15, ge=1)
    max_json_mb: int = Field(10, ge=1)
    metrics_token: str | None = _secret()
    sentry_dsn: str | None = _secret()
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_file: str | None = None
    git_sha: str = "unknown"
    worker_metrics_port: int = Field(0, ge=0, le=65535)
    #: Map tiles of the web clients, e.g. ``https://tile.example/{z}/{x}/{y}.png``; "" = no tiles
    #: (the maps draw their markers on a blank background with a text table beside them).
    web_tile_url: str = ""

    # ---- field workflow ------------------------------------------------------------------------
    max_image_megapixels: int = Field(60, ge=1)
    dup_radius_m: float = Field(200, ge=0)
    dup_window_h: float = Field(6, ge=0)
    credit_leader_weight: float = Field(1.5, gt=0)
    import_max_rows: int = Field(50000, ge=1)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only the values handed in: ``load_settings`` alone reads the environment, so that an
        # explicit ``environ`` is never mixed with the process environment.
        return (init_settings,)

    # ---- derived values ---------------------------------------------------------------------
    @property
    def is_dev(self) -> bool:
        return self.env == "dev"

    @property
    def resolved_database_url(self) -> str:
        """The database URL (default: SQLite in the data directory), with the password applied."""
        url = self.database_url or f"sqlite:///{(self.data_dir / 'beachsaver.db').resolve()}"
        if self.database_password and self.database_url:
            from sqlalchemy.engine import make_url

            url = make_url(url).set(password=self.database_password).render_as_string(hide_password=False)
        return url

    @property
    def resolved_storage_url(self) -> str:
        return self.storage_url or (self.data_dir / "files").resolve().as_uri()

    @property
    def resolved_backup_dir(self) -> Path:
        return self.backup_dir or self.data_dir / "backups"

    @property
    def dev_outbox_enabled(self) -> bool:
        return self.is_dev if self.dev_outbox is None else self.dev_outbox

    @property
    def auto_migrate_enabled(self) -> bool:
        return self.is_dev if self.auto_migrate is None else self.auto_migrate

    @property
    def demo_data_enabled(self) -> bool:
        """Whether ``beachsaver seed-demo`` may load the demo accounts and data."""
        return self.is_dev if self.demo_data is None else self.demo_data

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def pii_key_bytes(self) -> bytes:
        return base64.b64decode(self.pii_key)

    @property
    def phone_hash_key_bytes(self) -> bytes:
        return base64.b64decode(self.phone_hash_key)

    # ---- checks -----------------------------------------------------------------------------
    def problems(self) -> list[str]:
        """Every reason these settings are unusable in their environment (empty when fine)."""
        found: list[str] = []
        strict = not self.is_dev
        for name in ("pii_key", "phone_hash_key"):
            problem = _key_problem(name, getattr(self, name), strict=strict)
            if problem:
                found.append(problem)
        if (
            strict
            and self.pii_key
            and self.pii_key == self.phone_hash_key
            and not any(f.startswith("BEACHSAVER_PII_KEY") for f in found)
        ):
            found.append("BEACHSAVER_PII_KEY and BEACHSAVER_PHONE_HASH_KEY must be different keys")
        found.extend(self._database_problems())
        found.extend(self._bootstrap_problems())
        if not strict:
            return found

        if not self.jwt_secret:
            found.append("BEACHSAVER_JWT_SECRET is missing")
        elif is_placeholder(self.jwt_secret):
            found.append("BEACHSAVER_JWT_SECRET is a known example or placeholder value")
        elif len(self.jwt_secret) < MIN_JWT_SECRET_LENGTH:
            found.append(f"BEACHSAVER_JWT_SECRET is shorter than {MIN_JWT_SECRET_LENGTH} characters")
        for name in SECRET_FIELDS:
            if name in ("jwt_secret", "pii_key", "phone_hash_key", "database_password"):
                continue  # checked above, or with the database URL
            value = getattr(self, name)
            if value is not None and is_placeholder(value):
                found.append(f"{env_name(name)} is a known example or placeholder value")
        if self.dev_outbox:
            found.append("BEACHSAVER_DEV_OUTBOX is a dev-only feature (the message outbox); switch it off")
        if self.auto_migrate:
            found.append("BEACHSAVER_AUTO_MIGRATE is a dev-only feature; run 'beachsaver migrate' as a separate step")
        if self.demo_data:
            found.append("BEACHSAVER_DEMO_DATA is a dev-only feature (demo accounts with known passwords)")
        if "*" in self.cors_origin_list:
            found.append("BEACHSAVER_CORS_ORIGINS must list the allowed origins, not '*'")
        return found

    def _database_problems(self) -> list[str]:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(self.resolved_database_url)
        except (ArgumentError, ValueError):
            return ["BEACHSAVER_DATABASE_URL is not a valid database URL (e.g. mysql://user@host:3306/beachsaver)"]
        backend = url.get_backend_name()
        if backend not in SUPPORTED_DATABASES:
            return ["BEACHSAVER_DATABASE_URL must be sqlite:///PATH, mysql://…, mysql+pymysql://… or mariadb://…"]
        if self.is_dev:
            return []
        if backend == "sqlite":
            default = "" if self.database_url else " (the default when BEACHSAVER_DATABASE_URL is unset)"
            return [f"BEACHSAVER_DATABASE_URL is SQLite{default}; staging and prod need MariaDB/MySQL"]
        if url.password is not None and is_placeholder(str(url.password)):
            return ["the database password (BEACHSAVER_DATABASE_URL / _PASSWORD) is a known example or placeholder"]
        return []

    def _bootstrap_problems(self) -> list[str]:
        from beachsaver.core.phone import normalise_phone

        found: list[str] = []
        phone, password = self.bootstrap_admin_phone, self.bootstrap_admin_password
        if phone and normalise_phone(phone) is None:
            found.append("BEACHSAVER_BOOTSTRAP_ADMIN_PHONE is not a Korean mobile number (01012345678)")
        if bool(phone) != bool(password):
            found.append("BEACHSAVER_BOOTSTRAP_ADMIN_PHONE and BEACHSAVER_BOOTSTRAP_ADMIN_PASSWORD go together")
        if not self.is_dev and password:
            if is_placeholder(password):
                pass  # reported with the other secrets
            elif len(password) < MIN_BOOTSTRAP_PASSWORD_LENGTH:
                found.append(
                    f"BEACHSAVER_BOOTSTRAP_ADMIN_PASSWORD is shorter than {MIN_BOOTSTRAP_PASSWORD_LENGTH} characters"
                )
        return found


def env_name(field: str) -> str:
    return PREFIX + field.upper()


def is_placeholder(value: str) -> bool:
    """True for empty, well-known or obviously placeholder secret values."""
    lowered = value.strip().lower()
    return lowered in KNOWN_WEAK_SECRETS or any(marker in lowered for marker in PLACEHOLDER_MARKERS)


def _key_problem(name: str, value: str, *, strict: bool) -> str | None:
    label = env_name(name)
    if not value:
        return f"{label} is missing (base64 of {KEY_BYTES} random bytes; generate one with {KEY_HINT})"
    if strict and is_placeholder(value):
        return f"{label} is a known example or placeholder value"
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return f"{label} is not valid base64 (it must be base64 of {KEY_BYTES} bytes)"
    if len(decoded) != KEY_BYTES:
        return f"{label} must be base64 of exactly {KEY_BYTES} bytes"
    return None


# ---- reading the environment -----------------------------------------------------------------


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines; blank lines and ``#`` comments skipped; ``export`` and quotes allowed."""
    values: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key.strip()] = value
    return values


def _layer(source: Mapping[str, str], problems: list[str]) -> dict[str, str]:
    """The ``BEACHSAVER_*`` values of one source, with ``*_FILE`` variants read from their files.

    A plain value beats a ``*_FILE`` variant of the same source only when it is not empty.
    """
    fields = Settings.model_fields
    plain: dict[str, str] = {}
    from_files: dict[str, str] = {}
    for key, value in source.items():
        upper = key.upper()
        if not upper.startswith(PREFIX) or upper == ENV_FILE_VAR:
            continue
        name = upper[len(PREFIX) :].lower()
        target = name[: -len("_file")] if name.endswith("_file") else None
        if target is not None and name not in fields and target in fields:
            if not value:
                continue
            try:
                from_files[target] = Path(value).read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError):
                problems.append(f"{env_name(target)}_FILE names a file that cannot be read: {value}")
        elif name in fields:
            plain[name] = value
    for name, value in from_files.items():
        if plain.get(name, "") != "":
            problems.append(f"{env_name(name)} and {env_name(name)}_FILE are both set; keep one")
        plain[name] = value
    return plain


def _dev_keys(data_dir: Path, problems: list[str]) -> dict[str, str]:
    """Keys generated once per data directory (``dev-keys.json``) and reused on every start."""
    path = data_dir / "dev-keys.json"
    keys: dict[str, str] = {}
    if path.is_file():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
            keys = {str(k): str(v) for k, v in dict(loaded).items()}
        except (OSError, ValueError, TypeError):
            problems.append(f"{path} is not readable JSON; fix it or delete it (data encrypted with it is lost)")
            return {}
    wanted = {
        "pii_key": lambda: base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode(),
        "phone_hash_key": lambda: base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode(),
        "jwt_secret": lambda: secrets.token_urlsafe(48),
    }
    missing = [name for name in wanted if not keys.get(name)]
    if missing:
        keys.update({name: wanted[name]() for name in missing})
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(keys, indent=2), encoding="utf-8")
            os.chmod(path, 0o600)
        except OSError:
            problems.append(f"cannot write the dev keys to {path}; check BEACHSAVER_DATA_DIR")
    return keys


def _validate(values: dict[str, str], problems: list[str]) -> Settings:
    """Validate; an unparsable value is reported (without its value) and left at its default.

    An empty value of a setting that is not a plain string (a number, a switch, an optional
    value) counts as unset, as ``VAR=`` lines in compose files and env files intend.
    """
    fields = Settings.model_fields
    values = {k: v for k, v in values.items() if v != "" or isinstance(fields[k].default, str)}
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        bad: set[str] = set()
        for err in exc.errors(include_url=False, include_input=False, include_context=False):
            name = str(err["loc"][0]) if err["loc"] else ""
            bad.add(name)
            problems.append(f"{env_name(name)}: {err['msg']}")
        return Settings.model_validate({k: v for k, v in values.items() if k not in bad})


def load_settings(environ: Mapping[str, str] | None = None, *, check: bool = True) -> Settings:
    """Build settings from ``environ`` (default: the process environment) and the env file.

    Raises one ``ConfigError`` listing every problem. ``check=False`` skips the checks of the
    environment (secrets, database, dev-only features) but not unparsable values.
    """
    source = dict(os.environ if environ is None else environ)
    problems: list[str] = []
    env_layer = _layer(source, problems)
    explicit_file = source.get(ENV_FILE_VAR)
    env_for_file = env_layer.get("env") or "dev"
    file_path = Path(explicit_file) if explicit_file else Path(f".env.{env_for_file}")
    file_layer: dict[str, str] = {}
    if file_path.is_file():
        try:
            file_layer = _layer(read_env_file(file_path), problems)
        except (OSError, UnicodeDecodeError):
            problems.append(f"the env file {file_path} cannot be read")
    values = {**file_layer, **env_layer}

    settings = _validate(values, problems)
    env_invalid = any(p.startswith(env_name("env") + ":") for p in problems)
    if env_invalid:
        # An unknown environment gets no dev conveniences: check it as strictly as prod.
        settings = settings.model_copy(update={"env": "prod"})
    elif settings.is_dev and not (settings.pii_key and settings.phone_hash_key and settings.jwt_secret):
        keys = _dev_keys(settings.data_dir, problems)
        update = {name: keys[name] for name in ("pii_key", "phone_hash_key", "jwt_secret") if name in keys}
        settings = settings.model_copy(update={k: getattr(settings, k) or v for k, v in update.items()})
    if check:
        problems.extend(settings.problems())
    if problems:
        raise ConfigError(problems)
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
