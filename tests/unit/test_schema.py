"""The schema machinery (tasks/schema.py): a section declared once is validated generically."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tasks.schema import REQUIRED, At, ConfigError, between, build, key, remote_path, toml_keys

P = Path("/etc/esb/hosts.toml")
calls: list[str] = []


def _seen(at: At, v):
    calls.append(at.where)
    return v


@dataclass(frozen=True)
class Sample:
    name: str = key(REQUIRED, toml=False)
    host: str = key(REQUIRED, _seen)
    alias: str = key(REQUIRED, _seen, derive=lambda at: at.row["host"] + ".alias")
    size: int = key(3, between(1, 9))
    path: str = key("/plain", remote_path)
    tags: tuple[str, ...] = key(())
    home: str | None = key(None, required_for=("manager",))
    secret_free: bool = key(False, in_defaults=False)


def make(table: dict, **kw):
    return build(Sample, At(P, "[sample]"), table, name="s", **kw)


def test_toml_types_from_the_annotations():
    assert toml_keys(Sample) == {"host": str, "alias": str, "size": int, "path": str, "tags": list, "home": str,
                                 "secret_free": bool}
    assert "secret_free" not in toml_keys(Sample, defaults=True)


def test_given_derived_and_default_values():
    calls.clear()
    s = make({"host": "h", "path": "/x/", "tags": ["a", "b"]})
    assert (s.name, s.host, s.alias, s.size, s.path, s.tags, s.home) == ("s", "h", "h.alias", 3, "/x", ("a", "b"), None)
    assert calls == ["[sample].host", "[sample].alias"]  # a derived value is checked too; a literal default is not


def test_required_unknown_type_and_range_errors_name_the_key():
    with pytest.raises(ConfigError, match=r"^/etc/esb/hosts\.toml: \[sample\]\.host: missing required key$"):
        make({})
    with pytest.raises(ConfigError, match=r"\[sample\]\.colour: unknown key; known keys: alias, home, host"):
        make({"host": "h", "colour": 1})
    with pytest.raises(ConfigError, match=r"\[sample\]\.api_token: unknown key; .*secrets belong in the environment"):
        make({"host": "h", "api_token": "x"})
    with pytest.raises(ConfigError, match=r"\[sample\]\.size: must be int, got bool True"):
        make({"host": "h", "size": True})
    with pytest.raises(ConfigError, match=r"\[sample\]\.size: must be between 1 and 9"):
        make({"host": "h", "size": 10})
    with pytest.raises(ConfigError, match=r"\[sample\]: must be a table"):
        make([])


def test_required_for_a_role_and_a_merged_row():
    with pytest.raises(ConfigError, match=r"\[sample\]\.home: missing required key for a manager or worker"):
        make({"host": "h"}, row={"host": "h", "role": "manager"})
    # the checked table is the entry's own; values come from the merged row (its [defaults])
    s = make({"host": "h"}, row={"host": "h", "role": "manager", "home": "/opt/esb", "size": 4})
    assert (s.home, s.size) == ("/opt/esb", 4)
