"""Configuration: defaults, one clear line per wrong value, secrets kept secret."""

import os
import stat

import pytest

from leadwire.core.settings import ConfigError, Secret, load_settings, redact_url

KEY = "s" * 40


def test_embedded_defaults(tmp_path):
    s = load_settings({}, cwd=tmp_path)
    assert s.database_url.reveal() == f"sqlite://{tmp_path / 'leadwire.sqlite3'}?busy_timeout=10000"
    assert s.broker_url is None and s.embedded_worker and s.is_sqlite
    assert s.environment == "development" and s.graphiql and s.introspection
    key_file = tmp_path / ".leadwire-secret-key"
    assert key_file.exists() and stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert load_settings({}, cwd=tmp_path).secret_key == s.secret_key  # kept across restarts


def test_production_needs_a_secret_and_turns_the_ide_off(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load_settings({"LEADWIRE_ENV": "production"}, cwd=tmp_path)
    assert str(exc.value).startswith("LEADWIRE_SECRET_KEY: is required in production")
    s = load_settings({"LEADWIRE_ENV": "production", "LEADWIRE_SECRET_KEY": KEY}, cwd=tmp_path)
    assert not s.graphiql and not s.introspection and s.is_production


@pytest.mark.parametrize("env, setting", [
    ({"LEADWIRE_DATABASE_URL": "mysql://h/db"}, "LEADWIRE_DATABASE_URL"),
    ({"LEADWIRE_DATABASE_URL": "postgres://host"}, "LEADWIRE_DATABASE_URL"),
    ({"LEADWIRE_BROKER_URL": "nats://h"}, "LEADWIRE_BROKER_URL"),
    ({"LEADWIRE_SECRET_KEY": "short"}, "LEADWIRE_SECRET_KEY"),
    ({"LEADWIRE_INTROSPECTION": "maybe"}, "LEADWIRE_INTROSPECTION"),
    ({"LEADWIRE_DB_POOL_MAX": "0"}, "LEADWIRE_DB_POOL_MAX"),
    ({"LEADWIRE_MAX_PAGE_SIZE": "x"}, "LEADWIRE_MAX_PAGE_SIZE"),
    ({"LEADWIRE_ENV": "staging"}, "LEADWIRE_ENV"),
    ({"LEADWIRE_ALLOWED_ORIGINS": "example.com"}, "LEADWIRE_ALLOWED_ORIGINS"),
])
def test_each_bad_value_is_one_line_naming_the_setting(tmp_path, env, setting):
    with pytest.raises(ConfigError) as exc:
        load_settings({"LEADWIRE_SECRET_KEY": KEY, **env}, cwd=tmp_path)
    assert exc.value.setting == setting
    message = str(exc.value)
    assert message.startswith(f"{setting}: ") and "\n" not in message
    assert "expected" in message


def test_urls_are_normalised_and_redacted(tmp_path):
    s = load_settings({"LEADWIRE_DATABASE_URL": "postgresql://lw:pw@db:5432/leads", "LEADWIRE_SECRET_KEY": KEY,
                       "LEADWIRE_BROKER_URL": "amqp://u:brokerpw@mq:5672/"}, cwd=tmp_path)
    assert s.database_url.reveal() == "postgres://lw:pw@db:5432/leads"
    described = str(s.describe())
    assert "pw@" not in described and "brokerpw" not in described and "lw:***@db" in described
    assert redact_url("redis://h:6379/0") == "redis://h:6379/0"


def test_secrets_never_show_themselves(tmp_path):
    s = load_settings({"LEADWIRE_SECRET_KEY": KEY, "LEADWIRE_DATABASE_URL": "postgres://u:dbpass@h/d"}, cwd=tmp_path)
    for text in (repr(s), str(s), f"{s.secret_key}", repr(Secret("x"))):
        assert KEY not in text and "dbpass" not in text
    assert s.secret_key.reveal() == KEY
