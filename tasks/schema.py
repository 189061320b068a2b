"""The hosts.toml schema machinery: one declaration per key (type,
default, check), validated generically.

A section is a frozen dataclass whose fields are its keys, each declared with `key()`: the
field's annotation is the TOML type, `default` its value when absent (`REQUIRED`: it must be
given), `check(at, value)` refuses a bad value with a ConfigError naming the file and the key
(or normalises it), `derive(at)` computes a default from other values. `build()` turns a TOML
table into the dataclass: unknown keys, types, required keys, then each key's check, in
declaration order. Checks run on the values the file gives and on derived ones, never on literal
defaults (they hold by construction).
"""
from __future__ import annotations

import functools
import ipaddress
import re
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Mapping


class ConfigError(Exception):
    """hosts.toml (or a value derived from it) is unusable; the message says why."""


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


#: the default of a key the file must give
REQUIRED: Any = _Required()

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\Z")
DNS_RE = re.compile(r"^(?=.{1,253}\Z)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\Z")
IDENT_RE = re.compile(r"^[A-Za-z0-9_]{1,64}\Z")
SAFE_PATH_RE = re.compile(r"^[A-Za-z0-9_./~+@:-]+\Z")
SECRET_LIKE = re.compile(r"pass(word)?|secret|token", re.I)


@dataclass(frozen=True)
class At:
    """Where a value sits (file and key) and what its check may consult: the table it came from
    (merged with [defaults] for a host), the names of [hosts], the [cluster] section."""

    path: Path
    where: str
    row: Mapping[str, Any] = field(default_factory=dict)
    hosts: Mapping[str, Any] = field(default_factory=dict)
    cluster: Any = None

    def err(self, msg: str) -> ConfigError:
        return ConfigError(f"{self.path}: {self.where}: {msg}")

    def key(self, name: str) -> "At":
        """The same place, one key further (`[svn]` -> `[svn].url`)."""
        return At(self.path, f"{self.where}.{name}", self.row, self.hosts, self.cluster)


Check = Callable[[At, Any], Any]


def key(default=REQUIRED, check: Check | None = None, doc: str = "", *, derive: Callable[[At], Any] | None = None,
        required_for: tuple[str, ...] = (), in_defaults: bool = True, toml: bool = True):
    """One hosts.toml key: its default (REQUIRED: the file must give it), its check, and for
    host keys: `derive` (a default computed from the host's other values), `required_for` (roles
    that must give it), `in_defaults` (may be set in [defaults]), `toml` (False: not a key of
    the file, e.g. a host's name)."""
    return field(default=default, metadata={"check": check, "doc": doc, "derive": derive,
                                            "required_for": required_for, "in_defaults": in_defaults, "toml": toml})


@functools.lru_cache(maxsize=None)
def toml_keys(cls, defaults: bool = False) -> dict[str, type]:
    """name -> TOML type (str, int, bool, list) of a section's keys (defaults: those [defaults] may
    set); worked out once per section (every host entry asks)."""
    hints = typing.get_type_hints(cls)
    out = {}
    for f in fields(cls):
        m = f.metadata
        if m.get("toml", True) and (not defaults or m.get("in_defaults", True)):
            out[f.name] = _toml_type(hints[f.name])
    return out


def _toml_type(hint) -> type:
    """The TOML type of an annotation: `str | None` -> str, `tuple[str, ...]` -> list."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if typing.get_origin(hint) in (tuple, list):
        return list
    return hint


def check_table(at: At, table: Any, spec: dict[str, type]) -> dict:
    """The table's keys are known and of their declared TOML type (a bool is not an int)."""
    if not isinstance(table, dict):
        raise at.err("must be a table")
    for name, value in table.items():
        if name not in spec:
            hint = (" (secrets belong in the environment or .env, never in hosts.toml)"
                    if SECRET_LIKE.search(name) else "")
            raise at.key(name).err(f"unknown key; known keys: {', '.join(sorted(spec))}{hint}")
        want = spec[name]
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            raise at.key(name).err(f"must be {want.__name__}, got {type(value).__name__} {value!r}")
    return table


def build(cls, at: At, table: Any, row: Mapping[str, Any] | None = None, **fixed):
    """A section (or a host) from its TOML table, validated generically. `row` is the table to take
    values from when it differs from the one checked (a host's table merged with [defaults]);
    `fixed` gives non-TOML fields."""
    check_table(at, table, toml_keys(cls))
    row = table if row is None else row
    at = At(at.path, at.where, row, at.hosts, at.cluster)
    values = dict(fixed)
    for f in fields(cls):
        m = f.metadata
        if not m.get("toml", True):
            continue
        here = at.key(f.name)
        given = f.name in row
        if given:
            v = row[f.name]
        elif m.get("derive") is not None:
            v = m["derive"](here)
        elif f.default is REQUIRED or row.get("role") in m.get("required_for", ()):
            raise here.err(_missing(m))
        else:
            values[f.name] = f.default
            continue
        if isinstance(v, list):
            v = tuple(v)
        if m.get("check") is not None:
            v = m["check"](here, v)
        values[f.name] = v
    return cls(**values)


def _missing(meta) -> str:
    if meta.get("required_for"):
        return "missing required key for a manager or worker (set it here or in [defaults])"
    return "missing required key"


# ---------------------------------------------------------------- checks shared by the sections

def is_ip(value: str) -> bool:
    """True for a plain IPv4 or IPv6 address. An IPv6 scope id (`fe80::1%eth0`) is refused:
    Python accepts any text after the `%`, line breaks included, and the address lands in the
    hosts file, nginx and axis2.xml."""
    if not isinstance(value, str) or "%" in value:
        return False
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


def port(at: At, v: int) -> int:
    """A TCP port."""
    if not 1 <= v <= 65535:
        raise at.err(f"port {v} out of range 1-65535")
    return v


def between(lo: int, hi: int, unit: str = "", quote: bool = False) -> Check:
    """A check: an integer within [lo, hi] (quote: the message starts with the value)."""
    def check(at: At, v: int) -> int:
        if not lo <= v <= hi:
            raise at.err(f"{f'{v} ' if quote else ''}must be between {lo} and {hi}" + (f" {unit}" if unit else ""))
        return v
    return check


def matches(regex: re.Pattern | str, what: str, quote: bool = True) -> Check:
    """A check: the whole value matches `regex`; else "'value' <what>" (quote=False: "<what>")."""
    rx = re.compile(regex) if isinstance(regex, str) else regex

    def check(at: At, v: str) -> str:
        if not rx.match(v):
            raise at.err(f"{v!r} {what}" if quote else what)
        return v
    return check


def one_of(choices: tuple[str, ...]) -> Check:
    """A check: one of `choices`."""
    def check(at: At, v: str) -> str:
        if v not in choices:
            raise at.err(f"{v!r} is not one of {', '.join(choices)}")
        return v
    return check


def remote_path(at: At, v: str, absolute: bool = True) -> str:
    """A path on a host: no spaces or shell characters, no '..', absolute (normalised: no trailing '/')."""
    if not SAFE_PATH_RE.match(v):
        raise at.err(f"{v!r} contains spaces or characters not allowed in a path here")
    if ".." in v.split("/"):
        raise at.err(f"{v!r} contains '..'")
    if absolute and not v.startswith("/"):
        raise at.err(f"{v!r} must be an absolute path")
    return v.rstrip("/") or "/"


def relative_remote_path(at: At, v: str) -> str:
    """A path on a host that may be relative to the login's home."""
    return remote_path(at, v, absolute=False)


#: the root and the top-level system folders: a folder the project writes into, backs up, prunes and
#: rolls back is never one of these itself (a folder inside one is: /opt/wso2esb-4.9.0, /etc/ssl/wso2,
#: /etc/nginx/conf.d, /var/svn/depsyncrepo)
SYSTEM_DIRS = frozenset({"/", "/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot",
                         "/dev", "/proc", "/sys", "/var", "/root", "/home", "/tmp", "/run", "/opt", "/srv", "/mnt",
                         "/media"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _dir_fault(v: str) -> str | None:
    """Why v cannot be a folder the project owns (None: it can); v as the file gives it."""
    if _CONTROL.search(v):
        return f"{v!r} holds a control character (a line break, a tab, a NUL)"
    if v.startswith("-"):
        return f"{v!r} begins with '-': a command would take it for an option"
    if v.startswith("~"):
        return f"{v!r} begins with '~': a relative path is already taken from the login's home; leave out '~/'"
    parts = v.split("/")
    if ".." in parts:
        return f"{v!r} contains '..'"
    inner = parts[1:] if v.startswith("/") else parts
    if "." in parts or "" in inner[:-1] or v.endswith("/."):
        return f"{v!r} is not a normalised path ('//', '.' or a trailing '/.'): write it as {_normal(v)!r}"
    return None


def _normal(v: str) -> str:
    norm = "/".join(p for p in v.split("/") if p not in ("", "."))
    return ("/" + norm) if v.startswith("/") else (norm or ".")


def managed_dir(absolute: bool = True) -> Check:
    """A check: a folder on a host that the project writes into, backs up and rolls back (product_home,
    certs.dir, state_dir, svn repo_path, lb conf_dir): a remote_path that is normalised, begins with no
    '-' or '~', holds no control character, and is neither the root nor a top-level system folder itself."""
    def check(at: At, v: str) -> str:
        if not absolute and v == ".":
            raise at.err(f"{v!r} is the login's home itself: name a folder of the project's own (.esb-cluster)")
        fault = _dir_fault(v)
        if fault:
            raise at.err(fault)
        v = remote_path(at, v, absolute)
        if v in SYSTEM_DIRS:
            what = "the root folder" if v == "/" else "a system folder itself"
            raise at.err(f"{v!r} is {what}: the project writes, backs up and rolls back files in this folder; "
                         f"name a folder of its own inside it (such as {_example(at.where)})")
        return v
    return check


def _example(where: str) -> str:
    """A good value for the key at where (`[hosts.x].product_home` -> /opt/wso2esb-4.9.0), for a message."""
    examples = {"product_home": "/opt/wso2esb-4.9.0", "dir": "/etc/ssl/wso2", "state_dir": ".esb-cluster",
                "repo_path": "/var/svn/depsyncrepo", "conf_dir": "/etc/nginx/conf.d"}
    return examples.get(where.rsplit(".", 1)[-1], "/opt/wso2esb-4.9.0")


host_name = matches(DNS_RE, "is not a valid host name")
identifier = matches(IDENT_RE, "is not a plain identifier (letters, digits, _)")


__all__ = ["ConfigError", "REQUIRED", "At", "key", "build", "check_table", "toml_keys", "is_ip", "port",
           "between", "matches", "one_of", "remote_path", "relative_remote_path", "managed_dir", "SYSTEM_DIRS",
           "host_name", "identifier",
           "NAME_RE", "DNS_RE", "IDENT_RE", "SAFE_PATH_RE"]
