"""Secrets (CONTRACT §4): read from the environment or a .env beside hosts.toml, and masked.

Values never leave this module except to the code that needs them; every
string bound for output goes through `redact()`.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

from dotenv import dotenv_values

NAMES = ("MYSQL_ADMIN_PASSWORD", "WSO2_DB_PASSWORD", "SVN_PASSWORD", "SUDO_PASSWORD")
MASK = "********"

_known: set[str] = set()
_lock = threading.Lock()


class SecretMissing(Exception):
    """A step needs a secret that is neither in the environment nor in .env."""


class Secrets:
    """The four secret values, looked up lazily; `repr` never shows a value."""

    def __init__(self, values: dict[str, str]):
        self._values = {k: v for k, v in values.items() if v}
        for v in self._values.values():
            register(v)

    def get(self, name: str) -> str | None:
        return self._values.get(name)

    def require(self, name: str) -> str:
        """The value, or SecretMissing naming where to set it."""
        v = self._values.get(name)
        if not v:
            raise SecretMissing(f"{name} is not set (put it in the environment or in .env beside hosts.toml)")
        return v

    def __repr__(self) -> str:
        return f"Secrets({', '.join(sorted(self._values))})"


def load_secrets(base_dir: Path) -> Secrets:
    """Secrets from base_dir/.env, overridden by the environment."""
    env_file = Path(base_dir) / ".env"
    values: dict[str, str] = {}
    if env_file.is_file():
        file_values = dotenv_values(env_file)
        values.update({k: v for k, v in file_values.items() if k in NAMES and v})
    for n in NAMES:
        if os.environ.get(n):
            values[n] = os.environ[n]
    return Secrets(values)


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
