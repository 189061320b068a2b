"""Secrets (CONTRACT §4): .env and environment, refusal of line breaks, typo hints, masking."""
from __future__ import annotations

import pytest

from tasks.config import ConfigError
from tasks.secrets import MASK, SecretMissing, Secrets, load_secrets, redact


def test_environment_wins_over_env_file(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("SVN_PASSWORD=from-file-1234\nWSO2_DB_PASSWORD=db-file-5678\n")
    monkeypatch.setenv("SVN_PASSWORD", "from-env-9012")
    monkeypatch.delenv("WSO2_DB_PASSWORD", raising=False)  # an exported one would hide the .env value
    s = load_secrets(tmp_path)
    assert s.require("SVN_PASSWORD") == "from-env-9012"
    assert s.require("WSO2_DB_PASSWORD") == "db-file-5678"
    assert "from-env-9012" not in repr(s) and redact("x from-env-9012 y") == f"x {MASK} y"


def test_env_file_that_is_not_utf8_names_file_and_byte(tmp_path, monkeypatch):
    monkeypatch.delenv("SVN_PASSWORD", raising=False)
    (tmp_path / ".env").write_bytes(b"SVN_PASSWORD=caf\xe9\n")
    with pytest.raises(ConfigError, match=r"\.env: not UTF-8 text \(byte 16\)"):
        load_secrets(tmp_path)


def test_a_misspelled_name_in_env_file_is_hinted(tmp_path, monkeypatch):
    monkeypatch.delenv("SVN_PASSWORD", raising=False)
    (tmp_path / ".env").write_text("SVN_PASWORD=typo-value-1\nOTHER=x\n")
    with pytest.raises(SecretMissing, match=r"SVN_PASSWORD is not set .*; \.env sets SVN_PASWORD, a misspelling\?"):
        load_secrets(tmp_path).require("SVN_PASSWORD")


@pytest.mark.parametrize("value,what", [("a\nb-line", "a line break"), ("a\rb-cr", "a carriage return"),
                                        ("a\0b-nul", "a NUL byte")])
def test_control_characters_are_refused(value, what):
    s = Secrets({"SVN_PASSWORD": value})
    with pytest.raises(SecretMissing, match=f"SVN_PASSWORD contains {what}; refused"):
        s.require("SVN_PASSWORD")
    with pytest.raises(SecretMissing):
        s.get("SVN_PASSWORD")


@pytest.mark.parametrize("name,value", [("SVN_PASSWORD", "ab"), ("WSO2_DB_PASSWORD", "short7!"),
                                        ("KEYSTORE_PASSWORD", "é€"), ("ADMIN_PASSWORD", "a"),
                                        ("SUDO_PASSWORD", "pw"), ("MYSQL_ADMIN_PASSWORD", "x")])
def test_a_secret_too_short_to_be_one_is_refused_not_printed(name, value):
    """A two-letter secret could not be masked without masking every word holding those letters: refused."""
    s = Secrets({name: value})
    with pytest.raises(SecretMissing) as e:
        s.get(name)
    n = len(value)
    least = 8 if name in ("SVN_PASSWORD", "WSO2_DB_PASSWORD") else 3
    assert str(e.value) == (f"{name} has {n} character{'s' if n != 1 else ''}; refused: a secret needs at "
                            f"least {least}")  # the count, never the value
