from __future__ import annotations

import base64
from pathlib import Path

import pytest

from openhermit.config import load_settings
from openhermit.errors import ConfigError


def _write_env(home: Path, text: str) -> None:
    (home / "gateway").mkdir(parents=True, exist_ok=True)
    (home / "gateway" / ".env").write_text(text)


def test_defaults(clean_env: Path) -> None:
    settings = load_settings()
    assert settings.home == clean_env
    assert (settings.host, settings.port, settings.web_port) == ("127.0.0.1", 4000, 4310)
    assert settings.database_url is None
    assert settings.secrets_key_bytes is None
    assert settings.agent_id == "main"
    assert settings.pgdata == clean_env / "pgdata"


def test_home_defaults_to_dot_openhermit(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENHERMIT_HOME")
    monkeypatch.setenv("HOME", str(clean_env.parent))
    assert load_settings().home == clean_env.parent / ".openhermit"


def test_env_file_is_read_but_never_overrides_environment(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_env(clean_env, "GATEWAY_PORT=4100\nGATEWAY_ADMIN_TOKEN=from-file\nOPENROUTER_API_KEY=sk-file\n")
    monkeypatch.setenv("GATEWAY_ADMIN_TOKEN", "from-env")
    settings = load_settings()
    assert settings.port == 4100
    assert settings.admin_token is not None
    assert settings.admin_token.get_secret_value() == "from-env"
    assert settings.provider_api_keys["OPENROUTER_API_KEY"].get_secret_value() == "sk-file"


def test_port_alias(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "4321")
    assert load_settings().port == 4321
    monkeypatch.setenv("GATEWAY_PORT", "4322")
    assert load_settings().port == 4322


def test_secrets_key_must_decode_to_32_bytes(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENHERMIT_SECRETS_KEY", base64.b64encode(b"short").decode())
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = caught.value.message
    assert message.startswith("OPENHERMIT_SECRETS_KEY:")
    assert "32 bytes" in message
    assert "\n" not in message


def test_secrets_key_must_be_base64(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENHERMIT_SECRETS_KEY", "not base64!!")
    with pytest.raises(ConfigError, match=r"^OPENHERMIT_SECRETS_KEY: must be standard base64"):
        load_settings()


def test_valid_secrets_key(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENHERMIT_SECRETS_KEY", base64.b64encode(bytes(range(32))).decode())
    assert load_settings().secrets_key_bytes == bytes(range(32))


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("GATEWAY_PORT", "seventy", "GATEWAY_PORT:"),
        ("GATEWAY_PORT", "70000", "GATEWAY_PORT:"),
        ("DATABASE_URL", "mysql://x@y/z", "DATABASE_URL: must be a postgresql:// URL"),
        ("OPENHERMIT_LOG_LEVEL", "loud", "OPENHERMIT_LOG_LEVEL:"),
        ("OPENHERMIT_CONTEXT_CACHE_MB", "-1", "OPENHERMIT_CONTEXT_CACHE_MB:"),
    ],
)
def test_invalid_values_name_the_variable(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.message.startswith(fragment)


def test_the_context_cache_bound_is_read_in_megabytes(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openhermit.runtime.deps import RuntimeDeps

    assert load_settings().context_cache_mb == 8
    monkeypatch.setenv("OPENHERMIT_CONTEXT_CACHE_MB", "0.5")
    deps = RuntimeDeps(settings=load_settings(), db=None, secrets=None)  # type: ignore[arg-type]
    assert deps.histories.max_bytes == 512 * 1024
