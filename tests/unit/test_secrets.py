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


@pytest.fixture
def fresh_masks(monkeypatch):
    """The module's masks as they were, after the test (a short value registered here masks no later test)."""
    import tasks.secrets as mod
    monkeypatch.setattr(mod, "_known", set(mod._known))
    monkeypatch.setattr(mod, "_words", set(mod._words))
    monkeypatch.setattr(mod, "_word_pattern", mod._word_pattern)


@pytest.mark.parametrize("text,shown", [
    ("[esb-w1] map-hosts: changed", "[esb-w1] map-hosts: changed"),  # the defect: `********-w1`
    ("esb-mgr, w1-esb, w1.esb.local, esbx, xesb, esb_1, résb, esbé", None),
    ("https://esb.wso2.com:443/", None),
    ("password esb", f"password {MASK}"),
    ("sudo: esb.", f"sudo: {MASK}."),  # a sentence's end is no join
    ("user:esb@host", f"user:{MASK}@host"),
    ("<Password>esb</Password>", f"<Password>{MASK}</Password>"),
    ('{"pw": "esb"}', f'{{"pw": "{MASK}"}}'),
    ("-esb\n+esb2\n", f"-{MASK}\n+esb2\n"),  # a diff's removed line
    ("esb", MASK),
])
def test_a_short_secret_is_masked_only_where_it_stands_as_a_word(fresh_masks, text, shown):
    Secrets({"SUDO_PASSWORD": "esb"})
    assert redact(text) == (text if shown is None else shown)


def test_a_short_secret_keeps_its_other_forms_masked_as_words(fresh_masks):
    Secrets({"SUDO_PASSWORD": "ñ&é"})  # non-ASCII and XML markup: escaped, URL and mis-decoded forms
    assert redact("pw=ñ&amp;é;") == f"pw={MASK};"
    assert redact("pw=%C3%B1%26%C3%A9 x") == f"pw={MASK} x"
    assert redact("pw=Ã±&Ã© x") == f"pw={MASK} x"
    assert redact('"\\u00f1&\\u00e9"') == f'"{MASK}"'


def test_a_secret_of_eight_or_more_is_masked_even_inside_a_word(fresh_masks):
    Secrets({"WSO2_DB_PASSWORD": "Secret-8"})
    assert redact("xSecret-8y and Secret-8") == f"x{MASK}y and {MASK}"


def test_a_dry_run_diff_masks_a_short_secret_as_a_word_and_a_long_one_anywhere(fresh_masks):
    from tasks.engine.plan import FileChange
    old = b"<a>host esb-w1</a>\n<pw>esb</pw>\n<k>xLongSecret9y</k>\n"
    new = b"<a>host esb-w1 </a>\n<pw>esb2</pw>\n<k>LongSecret9</k>\n"
    d = FileChange("/c.xml", old, new, secret_lines=("esb", "LongSecret9")).diff()
    assert "esb-w1" in d and f"<pw>{MASK}</pw>" in d and "<pw>esb2</pw>" in d, d
    assert f"<k>x{MASK}y</k>" in d and f"<k>{MASK}</k>" in d and "LongSecret9" not in d, d
