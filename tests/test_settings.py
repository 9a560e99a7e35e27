"""The bot's settings: .env.example documents every one, and bad values fail clearly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.settings import BotSettings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[1]


def documented_names() -> set[str]:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))


def test_env_example_lists_every_bot_and_spotify_setting() -> None:
    names = documented_names()
    bot_names = {name.upper() for name in BotSettings.model_fields}
    spotify_source = (ROOT / "recommender" / "spotify" / "settings.py").read_text("utf-8")
    spotify_names = set(re.findall(r'"((?:SPOTIFY|RECCOBEATS|FEATURE)_[A-Z_]+)"', spotify_source))
    assert spotify_names, "the Spotify settings module names its variables"
    missing = (bot_names | spotify_names) - names
    assert not missing, f".env.example does not document {sorted(missing)}"


def test_env_example_loads_once_a_token_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "a-token")
    settings = load_settings(ROOT / ".env.example")
    assert settings.bot.database_path == Path("data/bot.sqlite3")
    assert settings.bot.discord_api_url is None
    assert not settings.spotify.has_client_credentials


def test_missing_token_and_bad_values_name_the_setting_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    with pytest.raises(SettingsError, match="DISCORD_TOKEN is not set"):
        load_settings(tmp_path / "absent.env")
    monkeypatch.setenv("DISCORD_TOKEN", "secret-token-value")
    monkeypatch.setenv("MAX_SOURCES_PER_GUILD", "0")
    with pytest.raises(SettingsError) as error:
        load_settings(tmp_path / "absent.env")
    assert "MAX_SOURCES_PER_GUILD" in str(error.value)
    assert "secret-token-value" not in str(error.value)
