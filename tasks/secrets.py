"""Secrets (CONTRACT §4): read from the environment or a .env beside hosts.toml, and masked.

Values never leave this module except to the code that needs them; every
string bound for output goes through `redact()`.
"""
from __future__ import annotations

import difflib
import io
import json
import os
import re
import threading
import urllib.parse
from pathlib import Path
from typing import Iterable


from .config import ConfigError

NAMES = ("MYSQL_ADMIN_PASSWORD", "WSO2_DB_PASSWORD", "SVN_PASSWORD", "SUDO_PASSWORD", "KEYSTORE_PASSWORD",
         "ADMIN_PASSWORD")
MASK = "********"
#: characters no secret may hold: they would split the line-based files a secret goes into
#: (svn passwd, sudo -S) or end a C string
FORBIDDEN = {"\n": "a line break", "\r": "a carriage return", "\0": "a NUL byte"}

#: the fewest characters a secret may have: shorter is no secret (and even as a whole word, one or two
#: letters would mask ordinary text). The database and SVN passwords the project sets need 8;
#: KEYSTORE_PASSWORD and ADMIN_PASSWORD have their steps' own stricter rules; sudo's and the
#: database admin's are given, not chosen here
MIN_LENGTH = {"WSO2_DB_PASSWORD": 8, "SVN_PASSWORD": 8}
MIN_ANY = 3

#: a secret (or a value read from a node's file) this long or longer is masked wherever it stands, even
#: inside a longer word; a shorter one (a sudo or database admin password the operator was given, a
#: 5-character Carbon admin password) only where it stands alone: `esb` is masked in `password esb`,
#: `user:esb@`, `>esb<`, and left in `esb-w1`, `w1.esb` or `esbx`, which are other words, not it
WHOLE_WORD_BELOW = 8

_known: set[str] = set()  # forms masked wherever they stand
_words: set[str] = set()  # forms masked only as a whole word
_lock = threading.Lock()
_word_pattern: "re.Pattern[str] | None" = None  # _words as one pattern, rebuilt when they change


class SecretMissing(Exception):
    """A step needs a secret that is neither in the environment nor in .env."""


class Secrets:
    """The four secret values, looked up lazily; `repr` never shows a value."""

    def __init__(self, values: dict[str, str], other_names: tuple[str, ...] = ()):
        self._values = {k: v for k, v in values.items() if v}
        self._other_names = other_names  # names in .env that are not secrets of ours (typos?)
        for v in self._values.values():
            register(v)

    def get(self, name: str) -> str | None:
        """The value or None; SecretMissing when it holds a character no secret may hold."""
        v = self._values.get(name)
        bad = [what for c, what in FORBIDDEN.items() if v and c in v]
        if bad:
            raise SecretMissing(f"{name} contains {bad[0]}; refused (it would break the files it is written to)")
        least = MIN_LENGTH.get(name, MIN_ANY)
        if v and len(v) < least:
            raise SecretMissing(f"{name} has {len(v)} character{'s' if len(v) != 1 else ''}; refused: a secret needs "
                                f"at least {least}")
        return v

    def require(self, name: str) -> str:
        """The value, or SecretMissing naming where to set it (and a near-miss name found in .env)."""
        v = self.get(name)
        if not v:
            near = difflib.get_close_matches(name, self._other_names, n=1, cutoff=0.8)
            hint = f"; .env sets {near[0]}, a misspelling?" if near else ""
            raise SecretMissing(f"{name} is not set (put it in the environment or in .env beside hosts.toml){hint}")
        return v

    def __repr__(self) -> str:
        return f"Secrets({', '.join(sorted(self._values))})"


def read_env_file(env_file: Path) -> dict[str, str | None]:
    """The NAME=value lines of a .env file, each value exactly as written: no `$VAR` or `${VAR}` is
    expanded (a secret is taken as it stands, `Pa${HOME}ss` is those nine characters). Quoting is
    dotenv's: an unquoted value loses its surrounding spaces and a ` #comment`; single quotes keep
    everything but \\' and \\\\; double quotes decode backslash escapes (\\n is a line break, refused).
    A line that is not NAME=value is an error naming its number (never its text: it may hold a secret),
    not a secret silently left out."""
    try:
        text = env_file.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{env_file}: not UTF-8 text (byte {e.start}); save it as UTF-8") from None
    except OSError as e:
        raise ConfigError(f"{env_file}: cannot read: {e.strerror or e}") from None
    from dotenv import dotenv_values  # here: a command that reads no .env never loads it
    from dotenv.parser import parse_stream
    bad = [b.original.line for b in parse_stream(io.StringIO(text)) if b.error]
    if bad:
        raise ConfigError(f"{env_file}: line {bad[0]} is not NAME=value (an unclosed quote, or text after the "
                          "closing one?); its text is not shown")
    return dict(dotenv_values(stream=io.StringIO(text), interpolate=False))


def load_secrets(base_dir: Path) -> Secrets:
    """Secrets from base_dir/.env (values as written, nothing expanded), overridden by the environment."""
    env_file = Path(base_dir) / ".env"
    values: dict[str, str] = {}
    others: tuple[str, ...] = ()
    if env_file.is_file():
        file_values = read_env_file(env_file)
        values.update({k: v for k, v in file_values.items() if k in NAMES and v})
        others = tuple(k for k in file_values if k not in NAMES)
    for n in NAMES:
        if os.environ.get(n):
            values[n] = os.environ[n]
    return Secrets(values, others)


#: encodings a secret's bytes may be written in (a file's declared
#: encoding, or read back as another)
ENCODINGS = ("utf-8", "latin-1", "cp1252", "utf-16-le", "utf-16-be")


def _xml_forms(value: str) -> set[str]:
    """The value as XML may spell it: escaped markup, and character references for the non-ASCII
    letters or for every character (decimal and hex)."""
    esc = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    out = {esc, esc.replace('"', "&quot;").replace("'", "&apos;"), esc.replace('"', "&quot;")}
    for fmt in ("&#{:d};", "&#x{:x};", "&#x{:X};"):
        out.add("".join(fmt.format(ord(c)) if ord(c) > 127 else c for c in esc))
        out.add("".join(fmt.format(ord(c)) for c in value))
    return out


def text_forms(value: str) -> set[str]:
    """Every text a secret may show up as in output: itself, its XML spellings, its bytes in one
    encoding read as another (UTF-8 shown as Latin-1), JSON and URL escapes."""
    out = {value, value.strip()} | _xml_forms(value)
    for enc in ENCODINGS[:3]:
        try:
            raw = value.encode(enc)
        except UnicodeEncodeError:
            continue
        for other in ("latin-1", "cp1252", "utf-8"):
            try:
                out.add(raw.decode(other))
            except UnicodeDecodeError:
                pass
    out.add(json.dumps(value)[1:-1])
    out.add(json.dumps(value, ensure_ascii=False)[1:-1])
    out.add(urllib.parse.quote(value, safe=""))
    out.add(urllib.parse.quote_plus(value, safe=""))
    return {f for f in out if f and len(f) >= 3}


def byte_forms(value: str, encoding: str | None = None) -> set[bytes]:
    """Every byte string a secret may be written as in a file: each text form in the
    file's encoding (unencodable letters as character references, as the XML layer writes
    them) and in the usual encodings."""
    out: set[bytes] = set()
    encs = tuple(dict.fromkeys(((encoding,) if encoding else ()) + ENCODINGS))
    for form in text_forms(value):
        for enc in encs:
            try:
                out.add(form.encode(enc, errors="xmlcharrefreplace"))
            except (LookupError, UnicodeError):
                pass
    return {b for b in out if len(b) >= 3}


def register(value: str) -> None:
    """Remember a value so that redact() masks it everywhere, in every form it may be printed in
    (a value shorter than WHOLE_WORD_BELOW only where it stands as a whole word)."""
    global _word_pattern
    if value and len(value) >= 3:
        with _lock:
            if len(value) >= WHOLE_WORD_BELOW:
                _known.update(text_forms(value))
            elif not text_forms(value) <= _words:
                _words.update(text_forms(value))
                _word_pattern = whole_words(_words)


def whole_words(forms: Iterable[str]) -> "re.Pattern[str] | None":
    """One pattern matching any of forms (longest first) where it stands as a whole word: no letter,
    digit or `_` right before or after it, nor a `-` or `.` that joins it to one (`esb-w1`, `w1.esb` are
    other words; `esb.` at the end of a sentence is the word)."""
    alts = "|".join(re.escape(f) for f in sorted(set(forms), key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?<!\w[.\-])(?:{alts})(?!\w)(?![.\-]\w)") if alts else None


def whole_words_bytes(forms: Iterable[bytes]) -> "re.Pattern[bytes] | None":
    """whole_words for bytes (a file's lines in a diff); every non-ASCII byte counts as a letter (it is part
    of one in UTF-8 and in the single-byte encodings)."""
    alts = b"|".join(re.escape(f) for f in sorted(set(forms), key=len, reverse=True))
    w, j = rb"[\w\x80-\xff]", rb"[.\-]"
    return re.compile(rb"(?<!%s)(?<!%s%s)(?:%s)(?!%s)(?!%s%s)" % (w, w, j, alts, w, j, w)) if alts else None


def redact(text: str) -> str:
    """Replace every known secret value in text by ******** (a short one only where it is a whole word)."""
    if not text:
        return text
    with _lock:
        values = sorted(_known, key=len, reverse=True)
        words = _word_pattern
    for v in values:
        if v in text:
            text = text.replace(v, MASK)
    return words.sub(MASK, text) if words is not None else text


def redact_data(value: object) -> object:
    """A JSON value (dicts, lists, strings, numbers) with every string in it, keys included, redacted:
    what a row's `fields` carry never shows a secret either."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(str(k)): redact_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [redact_data(v) for v in (sorted(value, key=str) if isinstance(value, set) else value)]
    return value


def safe_error(e: BaseException) -> str:
    """An unexpected exception in words that cannot carry a secret: a UnicodeError quotes the
    character and the position it failed at (perhaps a secret's), so only its kind, codec and reason
    are kept; anything else is redacted."""
    if isinstance(e, UnicodeError):
        codec = getattr(e, "encoding", "?")
        return f"{type(e).__name__}: a value could not be converted with {codec} ({getattr(e, 'reason', 'invalid')})"
    return redact(f"{type(e).__name__}: {e}")
