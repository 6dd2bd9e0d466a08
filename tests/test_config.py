"""Settings (03-operations §1, 07 §2): sources, precedence, the staging/prod refusal, dev keys."""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from beachsaver.config import ConfigError, Settings, load_settings, read_env_file

REPO = Path(__file__).resolve().parents[1]


def key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def good_prod(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        "BEACHSAVER_ENV": "prod",
        "BEACHSAVER_DATA_DIR": str(tmp_path / "data"),
        "BEACHSAVER_DATABASE_URL": "mysql://beachsaver@db.internal:3306/beachsaver",
        "BEACHSAVER_JWT_SECRET": secrets.token_urlsafe(40),
        "BEACHSAVER_PII_KEY": key(),
        "BEACHSAVER_PHONE_HASH_KEY": key(),
        "BEACHSAVER_ENV_FILE": str(tmp_path / "no-such.env"),
    }
    env.update(extra)
    return env


def problems_of(env: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    return caught.value.problems


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``.env.<env>`` is looked up in the working directory: use an empty one."""
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)


# ---- sources and precedence ------------------------------------------------------------------


def test_values_come_from_beachsaver_variables(tmp_path: Path) -> None:
    settings = load_settings(
        good_prod(
            tmp_path,
            BEACHSAVER_OTP_TTL_S="240",
            BEACHSAVER_SMTP_STARTTLS="true",
            BEACHSAVER_LOG_LEVEL="warning",
            OTHER_VARIABLE="ignored",
        )
    )
    assert settings.env == "prod"
    assert settings.otp_ttl_s == 240
    assert settings.smtp_starttls is True
    assert settings.log_level == "WARNING"
    assert settings.data_dir == tmp_path / "data"


def test_sign_in_defaults_of_07(tmp_path: Path) -> None:
    s = load_settings(good_prod(tmp_path))
    assert (s.otp_ttl_s, s.otp_min_interval_s, s.otp_max_sends, s.otp_send_window_s) == (180, 30, 5, 600)
    assert (s.lock_threshold, s.lock_window_s, s.lock_duration_s) == (5, 900, 1800)
    assert (s.access_ttl_s, s.refresh_ttl_s) == (900, 1209600)
    assert s.bootstrap_admin_nickname == "관리자"
    assert s.max_upload_mb == 15
    assert s.max_json_mb == 10


def test_explicit_environ_is_not_mixed_with_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEACHSAVER_OTP_TTL_S", "999")
    monkeypatch.setenv("BEACHSAVER_DEV_OUTBOX", "true")
    settings = load_settings(good_prod(tmp_path))
    assert settings.otp_ttl_s == 180
    assert settings.dev_outbox is None


def test_process_environment_is_read_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in good_prod(tmp_path, BEACHSAVER_OTP_TTL_S="321").items():
        monkeypatch.setenv(name, value)
    assert load_settings().otp_ttl_s == 321


def test_env_file_of_the_environment_is_read_from_the_working_directory(tmp_path: Path) -> None:
    env = good_prod(tmp_path)
    del env["BEACHSAVER_ENV_FILE"]
    jwt = env.pop("BEACHSAVER_JWT_SECRET")
    Path(".env.prod").write_text(
        f"# production settings\nBEACHSAVER_JWT_SECRET={jwt}\nexport BEACHSAVER_OTP_TTL_S=200\n"
        "BEACHSAVER_SMS_SENDER_NO='0511234567'\n\nBEACHSAVER_LOG_LEVEL=\"ERROR\"\n",
        encoding="utf-8",
    )
    Path(".env.dev").write_text("BEACHSAVER_OTP_TTL_S=111\n", encoding="utf-8")
    settings = load_settings(env)
    assert settings.jwt_secret == jwt
    assert settings.otp_ttl_s == 200
    assert settings.sms_sender_no == "0511234567"
    assert settings.log_level == "ERROR"


def test_beachsaver_env_file_names_the_file_and_may_set_the_environment(tmp_path: Path) -> None:
    env = good_prod(tmp_path)
    env_file = tmp_path / "beachsaver.env"
    env_file.write_text("BEACHSAVER_ENV=staging\nBEACHSAVER_OTP_MAX_SENDS=7\n", encoding="utf-8")
    del env["BEACHSAVER_ENV"]
    env["BEACHSAVER_ENV_FILE"] = str(env_file)
    settings = load_settings(env)
    # BEACHSAVER_ENV_FILE is not the *_FILE variant of BEACHSAVER_ENV: the file is an env file.
    assert settings.env == "staging"
    assert settings.otp_max_sends == 7


def test_process_environment_beats_file_variant_beats_env_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "jwt"
    from_file = secrets.token_urlsafe(40)
    secret_file.write_text(from_file + "\n", encoding="utf-8")
    env_file = tmp_path / "prod.env"
    env_file.write_text(
        f"BEACHSAVER_JWT_SECRET={secrets.token_urlsafe(40)}\nBEACHSAVER_SMTP_HOST=file-host\n"
        f"BEACHSAVER_SMTP_USER=file-user\n",
        encoding="utf-8",
    )
    env = good_prod(tmp_path, BEACHSAVER_ENV_FILE=str(env_file), BEACHSAVER_SMTP_HOST="env-host")
    del env["BEACHSAVER_JWT_SECRET"]
    env["BEACHSAVER_JWT_SECRET_FILE"] = str(secret_file)
    settings = load_settings(env)
    assert settings.jwt_secret == from_file  # *_FILE in the environment beats the env file
    assert settings.smtp_host == "env-host"  # the environment beats the env file
    assert settings.smtp_user == "file-user"  # the env file beats the default


def test_secret_read_from_a_file_variant(tmp_path: Path) -> None:
    files = {name: tmp_path / name for name in ("jwt", "pii", "phone", "smtp")}
    values = {"jwt": secrets.token_urlsafe(40), "pii": key(), "phone": key(), "smtp": "s3cr3t-smtp-pass"}
    for name, path in files.items():
        path.write_text(values[name] + "\n", encoding="utf-8")
    env = good_prod(tmp_path)
    for var in ("BEACHSAVER_JWT_SECRET", "BEACHSAVER_PII_KEY", "BEACHSAVER_PHONE_HASH_KEY"):
        del env[var]
    env |= {
        "BEACHSAVER_JWT_SECRET_FILE": str(files["jwt"]),
        "BEACHSAVER_PII_KEY_FILE": str(files["pii"]),
        "BEACHSAVER_PHONE_HASH_KEY_FILE": str(files["phone"]),
        "BEACHSAVER_SMTP_PASSWORD_FILE": str(files["smtp"]),
    }
    settings = load_settings(env)
    assert settings.jwt_secret == values["jwt"]
    assert settings.pii_key == values["pii"]
    assert settings.phone_hash_key == values["phone"]
    assert settings.smtp_password == values["smtp"]


def test_file_variant_in_the_env_file_is_read(tmp_path: Path) -> None:
    secret_file = tmp_path / "jwt"
    value = secrets.token_urlsafe(40)
    secret_file.write_text(value, encoding="utf-8")
    env_file = tmp_path / "prod.env"
    env_file.write_text(f"BEACHSAVER_JWT_SECRET_FILE={secret_file}\n", encoding="utf-8")
    env = good_prod(tmp_path, BEACHSAVER_ENV_FILE=str(env_file))
    del env["BEACHSAVER_JWT_SECRET"]
    assert load_settings(env).jwt_secret == value


def test_unreadable_file_variant_is_a_config_error(tmp_path: Path) -> None:
    env = good_prod(tmp_path, BEACHSAVER_JWT_SECRET_FILE=str(tmp_path / "missing"))
    del env["BEACHSAVER_JWT_SECRET"]
    problems = problems_of(env)
    assert any(p.startswith("BEACHSAVER_JWT_SECRET_FILE names a file that cannot be read") for p in problems)
    assert any(p == "BEACHSAVER_JWT_SECRET is missing" for p in problems)


def test_value_and_file_variant_together_are_refused(tmp_path: Path) -> None:
    secret_file = tmp_path / "jwt"
    secret_file.write_text(secrets.token_urlsafe(40), encoding="utf-8")
    problems = problems_of(good_prod(tmp_path, BEACHSAVER_JWT_SECRET_FILE=str(secret_file)))
    assert problems == ["BEACHSAVER_JWT_SECRET and BEACHSAVER_JWT_SECRET_FILE are both set; keep one"]


def test_a_setting_named_like_a_file_variant_is_a_plain_value(tmp_path: Path) -> None:
    # BEACHSAVER_LOG_FILE is the log file's path, not a file holding BEACHSAVER_LOG.
    log_path = tmp_path / "logs" / "beachsaver.log"
    settings = load_settings(good_prod(tmp_path, BEACHSAVER_LOG_FILE=str(log_path)))
    assert settings.log_file == str(log_path)
    assert not log_path.exists()


def test_empty_values_of_switches_and_numbers_count_as_unset(tmp_path: Path) -> None:
    settings = load_settings(
        good_prod(tmp_path, BEACHSAVER_DEV_OUTBOX="", BEACHSAVER_OTP_TTL_S="", BEACHSAVER_SMTP_HOST="")
    )
    assert settings.dev_outbox is None
    assert settings.dev_outbox_enabled is False
    assert settings.otp_ttl_s == 180
    assert settings.smtp_host is None


def test_read_env_file_syntax(tmp_path: Path) -> None:
    path = tmp_path / "x.env"
    path.write_text(
        "# comment\n\nA=1\nexport B = two words\nC='quoted # not a comment'\nD=\"dq\"\nE=value # trailing\n"
        "not a line\nF=\n",
        encoding="utf-8",
    )
    assert read_env_file(path) == {
        "A": "1",
        "B": "two words",
        "C": "quoted # not a comment",
        "D": "dq",
        "E": "value",
        "F": "",
    }


# ---- staging and prod refuse to start ---------------------------------------------------------


@pytest.mark.parametrize("env_name", ["staging", "prod"])
def test_good_config_starts_with_dev_features_off(tmp_path: Path, env_name: str) -> None:
    settings = load_settings(good_prod(tmp_path, BEACHSAVER_ENV=env_name))
    assert settings.env == env_name
    assert settings.dev_outbox_enabled is False
    assert settings.auto_migrate_enabled is False
    assert settings.demo_data_enabled is False
    assert not (tmp_path / "data" / "dev-keys.json").exists()


@pytest.mark.parametrize("env_name", ["staging", "prod"])
def test_nothing_configured_lists_every_problem_at_once(tmp_path: Path, env_name: str) -> None:
    problems = problems_of(
        {
            "BEACHSAVER_ENV": env_name,
            "BEACHSAVER_DATA_DIR": str(tmp_path / "data"),
            "BEACHSAVER_ENV_FILE": str(tmp_path / "none"),
        }
    )
    assert problems == [
        "BEACHSAVER_PII_KEY is missing (base64 of 32 random bytes; generate one with "
        'python -c "import base64, os; print(base64.b64encode(os.urandom(32)).decode())")',
        "BEACHSAVER_PHONE_HASH_KEY is missing (base64 of 32 random bytes; generate one with "
        'python -c "import base64, os; print(base64.b64encode(os.urandom(32)).decode())")',
        "BEACHSAVER_DATABASE_URL is SQLite (the default when BEACHSAVER_DATABASE_URL is unset); "
        "staging and prod need MariaDB/MySQL",
        "BEACHSAVER_JWT_SECRET is missing",
    ]
    assert not (tmp_path / "data" / "dev-keys.json").exists()


def test_every_problem_in_one_error_and_no_secret_in_the_message(tmp_path: Path) -> None:
    short_jwt = "Sh0rtButNotAKnownValue"
    bad_b64 = "not*base64*at*all"
    wrong_length = base64.b64encode(b"sixteen byte key").decode()
    db_url = "sqlite:////var/lib/beachsaver/ZqX9secretpath.db"
    env = good_prod(
        tmp_path,
        BEACHSAVER_JWT_SECRET=short_jwt,
        BEACHSAVER_PII_KEY=bad_b64,
        BEACHSAVER_PHONE_HASH_KEY=wrong_length,
        BEACHSAVER_DATABASE_URL=db_url,
        BEACHSAVER_DEV_OUTBOX="true",
        BEACHSAVER_AUTO_MIGRATE="1",
        BEACHSAVER_DEMO_DATA="yes",
        BEACHSAVER_SMTP_PASSWORD="changeme",
        BEACHSAVER_OTP_TTL_S="soon",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    error = caught.value
    assert error.problems == [
        "BEACHSAVER_OTP_TTL_S: Input should be a valid integer, unable to parse string as an integer",
        "BEACHSAVER_PII_KEY is not valid base64 (it must be base64 of 32 bytes)",
        "BEACHSAVER_PHONE_HASH_KEY must be base64 of exactly 32 bytes",
        "BEACHSAVER_DATABASE_URL is SQLite; staging and prod need MariaDB/MySQL",
        "BEACHSAVER_JWT_SECRET is shorter than 32 characters",
        "BEACHSAVER_SMTP_PASSWORD is a known example or placeholder value",
        "BEACHSAVER_DEV_OUTBOX is a dev-only feature (the message outbox); switch it off",
        "BEACHSAVER_AUTO_MIGRATE is a dev-only feature; run 'beachsaver migrate' as a separate step",
        "BEACHSAVER_DEMO_DATA is a dev-only feature (demo accounts with known passwords)",
    ]
    message = str(error)
    assert message.startswith("Beach-Saver refuses to start: 9 configuration problem(s)\n")
    for problem in error.problems:
        assert f"  - {problem}\n" in message
    for secret in (short_jwt, bad_b64, wrong_length, "ZqX9secretpath", "changeme", "soon"):
        assert secret not in message


@pytest.mark.parametrize(
    "jwt",
    ["changeme", "secret", "dev-insecure-jwt-secret-change-me", "CHANGE_ME_to_a_long_random_value_of_48_chars_x"],
)
def test_known_example_jwt_secret_is_refused(tmp_path: Path, jwt: str) -> None:
    assert problems_of(good_prod(tmp_path, BEACHSAVER_JWT_SECRET=jwt)) == [
        "BEACHSAVER_JWT_SECRET is a known example or placeholder value"
    ]


def test_placeholder_keys_and_database_password_are_refused(tmp_path: Path) -> None:
    problems = problems_of(
        good_prod(
            tmp_path,
            BEACHSAVER_PII_KEY="CHANGE_ME_base64_of_32_random_bytes",
            BEACHSAVER_PHONE_HASH_KEY="CHANGE_ME_base64_of_32_random_bytes",
            BEACHSAVER_DATABASE_URL="mysql://beachsaver:CHANGE_ME@db:3306/beachsaver",
        )
    )
    assert problems == [
        "BEACHSAVER_PII_KEY is a known example or placeholder value",
        "BEACHSAVER_PHONE_HASH_KEY is a known example or placeholder value",
        "the database password (BEACHSAVER_DATABASE_URL / _PASSWORD) is a known example or placeholder",
    ]


@pytest.mark.parametrize("value", ["minioadmin", "Password", "REPLACE_ME", "my-placeholder-key", "insecure-dev-key"])
def test_known_default_provider_secrets_are_refused(tmp_path: Path, value: str) -> None:
    assert problems_of(good_prod(tmp_path, BEACHSAVER_S3_SECRET_ACCESS_KEY=value)) == [
        "BEACHSAVER_S3_SECRET_ACCESS_KEY is a known example or placeholder value"
    ]


def test_same_key_for_pii_and_phone_hash_is_refused(tmp_path: Path) -> None:
    shared = key()
    assert problems_of(good_prod(tmp_path, BEACHSAVER_PII_KEY=shared, BEACHSAVER_PHONE_HASH_KEY=shared)) == [
        "BEACHSAVER_PII_KEY and BEACHSAVER_PHONE_HASH_KEY must be different keys"
    ]


def test_unsupported_or_broken_database_urls(tmp_path: Path) -> None:
    assert problems_of(good_prod(tmp_path, BEACHSAVER_DATABASE_URL="postgresql://u@h/db")) == [
        "BEACHSAVER_DATABASE_URL must be sqlite:///PATH, mysql://…, mysql+pymysql://… or mariadb://…"
    ]
    assert problems_of(good_prod(tmp_path, BEACHSAVER_DATABASE_URL="not a url")) == [
        "BEACHSAVER_DATABASE_URL is not a valid database URL (e.g. mysql://user@host:3306/beachsaver)"
    ]


@pytest.mark.parametrize("url", ["mysql://u@h/db", "mysql+pymysql://u@h/db", "mariadb://u@h:3307/db"])
def test_mysql_and_mariadb_urls_are_accepted(tmp_path: Path, url: str) -> None:
    assert load_settings(good_prod(tmp_path, BEACHSAVER_DATABASE_URL=url)).database_url == url


def test_database_password_setting_and_its_file_variant(tmp_path: Path) -> None:
    password_file = tmp_path / "dbpass"
    password_file.write_text("Xk2!long-db-password\n", encoding="utf-8")
    settings = load_settings(good_prod(tmp_path, BEACHSAVER_DATABASE_PASSWORD_FILE=str(password_file)))
    assert settings.resolved_database_url == "mysql://beachsaver:Xk2%21long-db-password@db.internal:3306/beachsaver"
    assert "Xk2" not in repr(settings)


def test_bootstrap_admin_settings_are_checked(tmp_path: Path) -> None:
    assert problems_of(good_prod(tmp_path, BEACHSAVER_BOOTSTRAP_ADMIN_PHONE="01012345678")) == [
        "BEACHSAVER_BOOTSTRAP_ADMIN_PHONE and BEACHSAVER_BOOTSTRAP_ADMIN_PASSWORD go together"
    ]
    assert problems_of(
        good_prod(
            tmp_path, BEACHSAVER_BOOTSTRAP_ADMIN_PHONE="0212345678", BEACHSAVER_BOOTSTRAP_ADMIN_PASSWORD="Sh0rt-pw"
        )
    ) == [
        "BEACHSAVER_BOOTSTRAP_ADMIN_PHONE is not a Korean mobile number (01012345678)",
        "BEACHSAVER_BOOTSTRAP_ADMIN_PASSWORD is shorter than 12 characters",
    ]
    settings = load_settings(
        good_prod(
            tmp_path,
            BEACHSAVER_BOOTSTRAP_ADMIN_PHONE="010-1234-5678",
            BEACHSAVER_BOOTSTRAP_ADMIN_PASSWORD="Long-enough-Passw0rd",
        )
    )
    assert settings.bootstrap_admin_phone == "010-1234-5678"


def test_wildcard_cors_is_refused_outside_dev(tmp_path: Path) -> None:
    assert problems_of(good_prod(tmp_path, BEACHSAVER_CORS_ORIGINS="https://a.example.kr, *")) == [
        "BEACHSAVER_CORS_ORIGINS must list the allowed origins, not '*'"
    ]


def test_unknown_environment_is_refused_without_dev_conveniences(tmp_path: Path) -> None:
    problems = problems_of(
        {
            "BEACHSAVER_ENV": "production",
            "BEACHSAVER_DATA_DIR": str(tmp_path / "data"),
            "BEACHSAVER_ENV_FILE": str(tmp_path / "none"),
        }
    )
    assert problems[0] == "BEACHSAVER_ENV: Input should be 'dev', 'staging' or 'prod'"
    assert "BEACHSAVER_JWT_SECRET is missing" in problems
    assert not (tmp_path / "data" / "dev-keys.json").exists()


def test_secrets_are_left_out_of_repr(tmp_path: Path) -> None:
    env = good_prod(tmp_path, BEACHSAVER_SMTP_PASSWORD="smtp-Pa55-word-xyz")
    settings = load_settings(env)
    text = repr(settings) + str(settings)
    for name in ("BEACHSAVER_JWT_SECRET", "BEACHSAVER_PII_KEY", "BEACHSAVER_PHONE_HASH_KEY"):
        assert env[name] not in text
    assert "smtp-Pa55-word-xyz" not in text
    assert "db.internal" not in text  # the database URL may carry a password


# ---- dev ----------------------------------------------------------------------------------


def dev_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "BEACHSAVER_ENV": "dev",
        "BEACHSAVER_DATA_DIR": str(tmp_path / "data"),
        "BEACHSAVER_ENV_FILE": str(tmp_path / "none"),
        **extra,
    }


def test_dev_defaults(tmp_path: Path) -> None:
    settings = load_settings(dev_env(tmp_path))
    assert settings.is_dev
    assert settings.dev_outbox_enabled is True
    assert settings.auto_migrate_enabled is True
    assert settings.demo_data_enabled is True
    assert settings.resolved_database_url == f"sqlite:///{(tmp_path / 'data' / 'beachsaver.db').resolve()}"
    assert settings.resolved_storage_url == (tmp_path / "data" / "files").resolve().as_uri()


def test_dev_generates_missing_keys_once_and_reuses_them(tmp_path: Path) -> None:
    first = load_settings(dev_env(tmp_path))
    keys_file = tmp_path / "data" / "dev-keys.json"
    stored = json.loads(keys_file.read_text(encoding="utf-8"))
    assert stored == {"pii_key": first.pii_key, "phone_hash_key": first.phone_hash_key, "jwt_secret": first.jwt_secret}
    assert len(first.pii_key_bytes) == 32
    assert len(first.phone_hash_key_bytes) == 32
    assert first.pii_key != first.phone_hash_key
    assert len(first.jwt_secret) >= 32
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
    second = load_settings(dev_env(tmp_path))
    assert (second.pii_key, second.phone_hash_key, second.jwt_secret) == (
        first.pii_key,
        first.phone_hash_key,
        first.jwt_secret,
    )
    assert json.loads(keys_file.read_text(encoding="utf-8")) == stored


def test_dev_keys_given_explicitly_win_over_the_generated_ones(tmp_path: Path) -> None:
    generated = load_settings(dev_env(tmp_path))
    mine = key()
    settings = load_settings(dev_env(tmp_path, BEACHSAVER_PII_KEY=mine))
    assert settings.pii_key == mine
    assert settings.phone_hash_key == generated.phone_hash_key


def test_dev_keys_file_missing_a_key_is_completed_not_replaced(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    kept = key()
    (data / "dev-keys.json").write_text(json.dumps({"pii_key": kept}), encoding="utf-8")
    settings = load_settings(dev_env(tmp_path))
    assert settings.pii_key == kept
    assert len(settings.phone_hash_key_bytes) == 32
    assert json.loads((data / "dev-keys.json").read_text(encoding="utf-8"))["pii_key"] == kept


def test_dev_keys_file_that_is_not_json_is_a_config_error(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "dev-keys.json").write_text("{not json", encoding="utf-8")
    problems = problems_of(dev_env(tmp_path))
    assert (
        problems[0]
        == f"{data / 'dev-keys.json'} is not readable JSON; fix it or delete it (data encrypted with it is lost)"
    )


def test_dev_still_refuses_malformed_keys(tmp_path: Path) -> None:
    assert problems_of(dev_env(tmp_path, BEACHSAVER_PII_KEY="abc", BEACHSAVER_PHONE_HASH_KEY=key())) == [
        "BEACHSAVER_PII_KEY is not valid base64 (it must be base64 of 32 bytes)"
    ]


def test_dev_allows_sqlite_short_secret_and_dev_features(tmp_path: Path) -> None:
    settings = load_settings(dev_env(tmp_path, BEACHSAVER_JWT_SECRET="short", BEACHSAVER_DEV_OUTBOX="true"))
    assert settings.jwt_secret == "short"
    assert settings.dev_outbox_enabled


def test_dev_features_can_be_switched_off_in_dev(tmp_path: Path) -> None:
    settings = load_settings(
        dev_env(tmp_path, BEACHSAVER_DEV_OUTBOX="false", BEACHSAVER_AUTO_MIGRATE="0", BEACHSAVER_DEMO_DATA="off")
    )
    assert (settings.dev_outbox_enabled, settings.auto_migrate_enabled, settings.demo_data_enabled) == (
        False,
        False,
        False,
    )


# ---- the command refuses to start -------------------------------------------------------------


def bad_prod_env(tmp_path: Path) -> dict[str, str]:
    return {
        "BEACHSAVER_ENV": "prod",
        "BEACHSAVER_DATA_DIR": str(tmp_path / "data"),
        "BEACHSAVER_ENV_FILE": str(tmp_path / "none"),
        "BEACHSAVER_JWT_SECRET": "tooShortJwtValue77",
        "BEACHSAVER_PII_KEY": "bm90LTMyLWJ5dGVz",
        "BEACHSAVER_DATABASE_URL": "sqlite:///prod.db",
        "BEACHSAVER_DEV_OUTBOX": "true",
    }


EXPECTED_CLI_PROBLEMS = [
    "BEACHSAVER_PII_KEY must be base64 of exactly 32 bytes",
    "BEACHSAVER_PHONE_HASH_KEY is missing",
    "BEACHSAVER_DATABASE_URL is SQLite; staging and prod need MariaDB/MySQL",
    "BEACHSAVER_JWT_SECRET is shorter than 32 characters",
    "BEACHSAVER_DEV_OUTBOX is a dev-only feature",
]


def test_serve_with_a_bad_prod_config_exits_non_zero_with_the_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    from beachsaver.cli import app as cli_app

    def must_not_run(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the server must not start")

    monkeypatch.setattr(uvicorn, "run", must_not_run)
    for name in list(os.environ):
        if name.startswith("BEACHSAVER_"):
            monkeypatch.delenv(name)
    result = CliRunner().invoke(cli_app, ["serve", "--port", "8799"], env=bad_prod_env(tmp_path))
    assert result.exit_code == 2
    output = result.output
    assert "Beach-Saver refuses to start: 5 configuration problem(s)" in output
    for expected in EXPECTED_CLI_PROBLEMS:
        assert expected in output
    for secret in ("tooShortJwtValue77", "bm90LTMyLWJ5dGVz"):
        assert secret not in output
    assert "Traceback" not in output


def test_serve_process_with_a_bad_prod_config_exits_non_zero(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEACHSAVER_")}
    env.update(bad_prod_env(tmp_path))
    env["PYTHONPATH"] = str(REPO / "src")
    proc = subprocess.run(
        [sys.executable, "-m", "beachsaver.cli", "serve", "--port", "8798"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    for expected in EXPECTED_CLI_PROBLEMS:
        assert expected in proc.stderr
    assert "tooShortJwtValue77" not in proc.stderr + proc.stdout
    assert "bm90LTMyLWJ5dGVz" not in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr


# ---- committed examples and documentation ------------------------------------------------------


def example_env(name: str, tmp_path: Path) -> dict[str, str]:
    values = read_env_file(REPO / "deploy" / "env" / f"{name}.example")
    values["BEACHSAVER_DATA_DIR"] = str(tmp_path / "data")
    values["BEACHSAVER_ENV_FILE"] = str(tmp_path / "none")
    return values


def test_dev_example_starts(tmp_path: Path) -> None:
    settings = load_settings(example_env("dev", tmp_path))
    assert settings.env == "dev"
    assert settings.dev_outbox_enabled


@pytest.mark.parametrize("name", ["staging", "prod"])
def test_staging_and_prod_examples_are_refused_until_filled_in(tmp_path: Path, name: str) -> None:
    values = example_env(name, tmp_path)
    assert values["BEACHSAVER_ENV"] == name
    problems = problems_of(values)
    for expected in (
        "BEACHSAVER_JWT_SECRET is a known example or placeholder value",
        "BEACHSAVER_PII_KEY is a known example or placeholder value",
        "BEACHSAVER_PHONE_HASH_KEY is a known example or placeholder value",
        "the database password (BEACHSAVER_DATABASE_URL / _PASSWORD) is a known example or placeholder",
        "BEACHSAVER_BOOTSTRAP_ADMIN_PASSWORD is a known example or placeholder value",
    ):
        assert expected in problems
    # Filling in the secrets is all that is missing.
    values |= {
        "BEACHSAVER_JWT_SECRET": secrets.token_urlsafe(40),
        "BEACHSAVER_PII_KEY": key(),
        "BEACHSAVER_PHONE_HASH_KEY": key(),
        "BEACHSAVER_DATABASE_PASSWORD": secrets.token_urlsafe(20),
        "BEACHSAVER_BOOTSTRAP_ADMIN_PASSWORD": secrets.token_urlsafe(16),
    }
    values = {k: v for k, v in values.items() if not is_placeholder_line(k, v)}
    settings = load_settings(values)
    assert settings.env == name


def is_placeholder_line(name: str, value: str) -> bool:
    """Optional provider secrets left as placeholders in the example are dropped."""
    from beachsaver.config import is_placeholder

    return name.endswith(("_KEY", "_SECRET", "_PASSWORD", "_TOKEN", "_DSN", "_URL")) and is_placeholder(value)


@pytest.mark.parametrize("name", ["dev", "staging", "prod"])
def test_examples_name_only_known_settings(name: str) -> None:
    known = {f"BEACHSAVER_{field.upper()}" for field in Settings.model_fields}
    for var in read_env_file(REPO / "deploy" / "env" / f"{name}.example"):
        base = var.removesuffix("_FILE") if var not in known else var
        assert base in known or var == "BEACHSAVER_ENV_FILE", var


def test_configuration_doc_lists_every_setting_with_its_default() -> None:
    doc = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `(BEACHSAVER_[A-Z0-9_]+)` \|.*$", doc, re.MULTILINE)}
    for field in Settings.model_fields:
        assert f"BEACHSAVER_{field.upper()}" in rows, field
    for name, default in {
        "OTP_TTL_S": 180,
        "OTP_MIN_INTERVAL_S": 30,
        "OTP_MAX_SENDS": 5,
        "OTP_SEND_WINDOW_S": 600,
        "LOCK_THRESHOLD": 5,
        "LOCK_WINDOW_S": 900,
        "LOCK_DURATION_S": 1800,
        "ACCESS_TTL_S": 900,
        "REFRESH_TTL_S": 1209600,
    }.items():
        assert f"| `{default}` |" in rows[f"BEACHSAVER_{name}"], name
    from beachsaver.config import SECRET_FIELDS

    for field in SECRET_FIELDS:
        assert "| yes |" in rows[f"BEACHSAVER_{field.upper()}"], field
