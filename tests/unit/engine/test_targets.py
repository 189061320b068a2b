"""-H resolution (CONTRACT §1): hosts.toml names, role groups, [groups], `all`; never DNS."""
from __future__ import annotations

import pytest

from tasks.config import ConfigError
from tasks.engine.targets import group_members, known_names, resolve
from tests.unit.helpers import base_data, inventory

INV = inventory()


def names(spec, default=()):
    return [h.name for h in resolve(INV, spec, list(default))]


@pytest.mark.parametrize("spec,expected", [
    ("esb-w2", ["esb-w2"]),
    ("manager", ["esb-mgr"]),
    ("workers", ["esb-w1", "esb-w2"]),
    ("db", ["db1"]),
    ("svn", []),
    ("lb", []),
    ("canary", ["esb-w1"]),
    ("all", ["esb-mgr", "esb-w1", "esb-w2", "db1"]),
    ("workers,manager", ["esb-mgr", "esb-w1", "esb-w2"]),        # hosts.toml order
    ("esb-w1,canary,workers", ["esb-w1", "esb-w2"]),            # deduplicated
    (" esb-w2 , ,db1 ", ["esb-w2", "db1"]),                       # blanks ignored
])
def test_resolve(spec, expected):
    assert names(spec) == expected


def test_no_spec_means_the_step_default():
    default = [INV.hosts["esb-w1"]]
    assert resolve(INV, None, default) == default


@pytest.mark.parametrize("spec", ["", ",", " ", " , "])
def test_an_empty_spec_is_refused_not_taken_for_the_default(spec):
    """-H "$EMPTY" in a script must not run on the step's default targets (issue 24)."""
    with pytest.raises(ConfigError) as e:
        resolve(INV, spec, [INV.hosts["esb-w1"]])
    assert "names no target; known names: all," in str(e.value)


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ConfigError) as e:
        names("esb-mgr,localhost")
    assert str(e.value) == ("unknown target 'localhost'; known names: all, canary, db, db1, esb-mgr, esb-w1, "
                            "esb-w2, lb, manager, svn, workers")


def test_an_address_is_not_a_target():
    with pytest.raises(ConfigError, match="unknown target '192.168.1.12'"):
        names("192.168.1.12")


def test_known_names_and_group_members():
    d = base_data()
    d["hosts"]["lb1"] = {"address": "10.0.0.9", "role": "lb"}
    inv = inventory(d)
    assert "lb1" in known_names(inv)
    assert [h.name for h in group_members(inv, "lb")] == ["lb1"]
    assert group_members(inv, "nobody") is None


@pytest.mark.parametrize("spec", [",", " , ,"])
def test_a_list_of_only_commas_names_no_target(spec):
    with pytest.raises(ConfigError, match=r"-H .* names no target; known names: all, canary, db"):
        names(spec)
