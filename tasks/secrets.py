"""Secrets (CONTRACT §4): read from the environment or a .env beside hosts.toml, and masked.

Values never leave this module except to the code that needs them; every
string bound for output goes through `redact()`.
"""
from __future__ import annotations

import difflib
import os
import threading
from pathlib import Path

from dotenv import dotenv_values

from .config import ConfigError

NAMES = ("MYSQL_ADMIN_PASSWORD", "WSO2_DB_PASSWORD", "SVN_PASSWORD", "SUDO_PASSWORD")
MASK = "********"
#: characters no secret may hold: they would split the line-based files a secret goes into
#: (svn passwd, sudo -S) or end a C string
FORBIDDEN = {"\n": "a line break", "\r": "a carriage return", "\0": "a NUL byte"}

_known: set[str] = set()
_lock = threading.Lock()


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


def load_secrets(base_dir: Path) -> Secrets:
    """Secrets from base_dir/.env, overridden by the environment."""
    env_file = Path(base_dir) / ".env"
    values: dict[str, str] = {}
    others: tuple[str, ...] = ()
    if env_file.is_file():
        try:
            file_values = dotenv_values(env_file, encoding="utf-8")
        except UnicodeDecodeError as e:
            raise ConfigError(f"{env_file}: not UTF-8 text (byte {e.start}); save it as UTF-8") from None
        except OSError as e:
            raise ConfigError(f"{env_file}: cannot read: {e.strerror or e}") from None
        values.update({k: v for k, v in file_values.items() if k in NAMES and v})
        others = tuple(k for k in file_values if k not in NAMES)
    for n in NAMES:
        if os.environ.get(n):
            values[n] = os.environ[n]
    return Secrets(values, others)


def register(value: str) -> None:
    """Remember a value so that redact() masks it everywhere."""
    if value and len(value) >= 3:
        with _lock:
            _known.add(value)


def redact(text: str) -> str:
    """Replace every known secret value in text by ********."""
    if not text:
        return text
    with _lock:
        values = sorted(_known, key=len, reverse=True)
    for v in values:
        if v in text:
            text = text.replace(v, MASK)
    return text
