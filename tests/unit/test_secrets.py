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


@pytest.mark.parametrize("line,value", [
    ("Pa${HOME}ss", "Pa${HOME}ss"),  # never expanded: the defect, `Pa/rootss`
    ("Pa$HOME-ss", "Pa$HOME-ss"),
    ("${UNSET:-fallback}x", "${UNSET:-fallback}x"),  # no default taken either
    ("'sq ${HOME} $HOME'", "sq ${HOME} $HOME"),
    ('"dq ${HOME} $HOME"', "dq ${HOME} $HOME"),
    ("a\\$b\\${HOME}", "a\\$b\\${HOME}"),  # unquoted backslashes stay as written
    ('"quoted value"', "quoted value"),
    ("'it\\'s-mine'", "it's-mine"),
    ('"say \\"hi\\""', 'say "hi"'),
    ("abc'def\"g", "abc'def\"g"),  # a quote inside an unquoted value stays
    ('"back\\\\slash"', "back\\slash"),  # double quotes decode escapes
    ("'back\\\\slash'", "back\\slash"),
    ("back\\slash\\t", "back\\slash\\t"),
    ("hash#inside", "hash#inside"),  # a # with no space before it is part of the value
    ("hash-value #comment", "hash-value"),  # a space then # starts a comment
    ("'hash #kept'", "hash #kept"),
    ("   spaced-out   ", "spaced-out"),  # an unquoted value loses its surrounding spaces
    ("'  spaced  '", "  spaced  "),
    ("Contraseña-€-Пароль", "Contraseña-€-Пароль"),
])
def test_an_env_file_value_is_taken_as_written_never_expanded(tmp_path, monkeypatch, line, value):
    monkeypatch.delenv("SVN_PASSWORD", raising=False)
    monkeypatch.setenv("HOME", "/root")
    (tmp_path / ".env").write_text(f"SVN_PASSWORD={line}\n", encoding="utf-8")
    assert load_secrets(tmp_path).require("SVN_PASSWORD") == value


def test_a_double_quoted_line_break_escape_is_a_line_break_and_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("SVN_PASSWORD", raising=False)
    (tmp_path / ".env").write_text('SVN_PASSWORD="two\\nlines-1234"\n')
    with pytest.raises(SecretMissing, match="SVN_PASSWORD contains a line break; refused"):
        load_secrets(tmp_path).require("SVN_PASSWORD")


@pytest.mark.parametrize("text,line", [("SVN_PASSWORD='it''s-secret'\n", 1),
                                       ("A=1\nSVN_PASSWORD=\"unclosed-secret\nB=2\n", 2),
                                       ("A=1\n=orphan-secret\n", 2)])
def test_an_env_line_dotenv_cannot_read_is_an_error_naming_its_number_not_its_text(tmp_path, monkeypatch,
                                                                                     text, line):
    """dotenv leaves such a line out (a secret silently unset): refused instead, by line number only."""
    monkeypatch.delenv("SVN_PASSWORD", raising=False)
    (tmp_path / ".env").write_text(text)
    with pytest.raises(ConfigError) as e:
        load_secrets(tmp_path)
    assert str(e.value) == (f"{tmp_path / '.env'}: line {line} is not NAME=value (an unclosed quote, or text after "
                            "the closing one?); its text is not shown")
    assert "secret" not in str(e.value)
