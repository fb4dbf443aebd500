"""Settings: every ``CAREMAP_*`` variable is a typed field of :class:`caremap.settings.Settings`,
read in one place, documented in ``docs/configuration.md`` and checked at start."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest
from click.testing import CliRunner

from caremap.settings import (
    PROJECT_ROOT,
    TESTS_ONLY,
    Settings,
    SettingsError,
    configuration_markdown,
    env_name,
    load_settings,
)
from caremap_cli import main

VARIABLE = re.compile(r"\bCAREMAP_[A-Z0-9_]*[A-Z0-9]")
CODE_FOLDERS = ("caremap", "caremap_cli", "etl", "webmap")
CODE_SUFFIXES = {".py", ".html", ".js", ".toml"}


def test_the_committed_configuration_page_is_the_generated_one():
    """``caremap settings > docs/configuration.md`` makes it; it must not drift."""
    committed = (PROJECT_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == configuration_markdown()
    assert CliRunner().invoke(main, ["settings"]).output == committed


def test_every_caremap_variable_the_code_names_is_a_setting():
    settings = {env_name(f) for f in fields(Settings)}
    named = {
        (name, str(path.relative_to(PROJECT_ROOT)))
        for folder in CODE_FOLDERS
        for path in (PROJECT_ROOT / folder).rglob("*")
        if path.suffix in CODE_SUFFIXES and path.is_file()
        for name in VARIABLE.findall(path.read_text(encoding="utf-8"))
    }
    tests_only = {(name, "caremap/settings.py") for name in TESTS_ONLY}  # their doc table
    assert {pair for pair in named if pair[0] not in settings} - tests_only == set()
    assert {name for name, _path in named} >= {"CAREMAP_DATABASE_URL", "CAREMAP_BASE_URL"}


def test_each_setting_is_documented_with_its_default():
    page = configuration_markdown()
    for setting in fields(Settings):
        assert setting.metadata["help"]
        assert f"| `{env_name(setting)}` |" in page


def test_variables_are_read_into_their_types(tmp_path):
    settings = load_settings(
        {
            "CAREMAP_INSTANCE_DIR": str(tmp_path),
            "CAREMAP_PROXY_HOPS": "2",
            "CAREMAP_SESSION_COOKIE_SECURE": "False",
            "CAREMAP_BEDS_STALE_HOURS": "1.5",
            "CAREMAP_TILES_URL": "",
        }
    )
    assert settings.proxy_hops == 2
    assert settings.session_cookie_secure is False
    assert settings.beds_stale_hours == 1.5
    assert settings.tiles_url == ""
    assert settings.instance_dir == tmp_path
    assert settings.database_url == f"sqlite:///{tmp_path / 'caremap.sqlite'}"
    assert settings.bulk_upload_dir == tmp_path / "uploads"
    assert load_settings({}).session_cookie_secure is True


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("CAREMAP_PROXY_HOPS", "two", "CAREMAP_PROXY_HOPS='two': expected a whole number"),
        ("CAREMAP_PROXY_HOPS", "-1", "CAREMAP_PROXY_HOPS='-1': expected a whole number of at "),
        ("CAREMAP_SESSION_COOKIE_SECURE", "no way", "CAREMAP_SESSION_COOKIE_SECURE='no way': "),
        ("CAREMAP_BEDS_STALE_HOURS", "nan", "CAREMAP_BEDS_STALE_HOURS='nan': expected a number"),
        ("CAREMAP_BULK_MAX_ROWS", "0", "CAREMAP_BULK_MAX_ROWS='0': expected a whole number of "),
        ("CAREMAP_DATA_DIR", "", "CAREMAP_DATA_DIR is empty: expected a folder"),
    ],
)
def test_a_wrong_value_names_the_variable(variable, value, expected):
    with pytest.raises(SettingsError) as raised:
        load_settings({variable: value})
    assert str(raised.value).startswith(expected)


def test_the_command_stops_at_start_on_a_wrong_value(tmp_path):
    env = {"CAREMAP_INSTANCE_DIR": str(tmp_path), "CAREMAP_PASSWORD_RESET_HOURS": "a day"}
    result = CliRunner().invoke(main, ["db", "upgrade"], env=env)
    assert result.exit_code == 1
    assert "Error: CAREMAP_PASSWORD_RESET_HOURS='a day': expected a whole number" in result.output
    assert "Traceback" not in result.output
    assert not Path(tmp_path, "caremap.sqlite").exists()


def test_the_app_is_configured_from_the_settings(loaded_store_url, monkeypatch, tmp_path):
    from webmap import create_app

    monkeypatch.setenv("CAREMAP_DATABASE_URL", loaded_store_url)
    monkeypatch.setenv("CAREMAP_INSTANCE_DIR", str(tmp_path))
    monkeypatch.setenv("CAREMAP_SESSION_COOKIE_SECURE", "no")
    monkeypatch.setenv("CAREMAP_STALE_MONTHS", "3")
    app = create_app()
    try:
        assert app.config["SESSION_COOKIE_SECURE"] is False
        assert app.config["STALE_MONTHS"] == 3
        assert app.config["BULK_UPLOAD_DIR"] == tmp_path / "uploads"
        assert app.config["SECRET_KEY"] == (tmp_path / "secret_key").read_text("ascii").strip()
        response = app.test_client().get("/?lang=fr")
        assert "Secure" not in response.headers["Set-Cookie"]
    finally:
        app.extensions["caremap_store"].dispose()


def test_the_app_refuses_to_start_on_a_wrong_value(monkeypatch):
    from webmap import create_app

    monkeypatch.setenv("CAREMAP_BEDS_STALE_HOURS", "two days")
    with pytest.raises(SettingsError, match="CAREMAP_BEDS_STALE_HOURS='two days'"):
        create_app({"TESTING": True, "SECRET_KEY": "test"})
