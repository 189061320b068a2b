"""Reading hosts.toml (tasks/hoststoml.py): the file itself (missing, unreadable, not UTF-8, malformed TOML,
$ESB_HOSTS) and the rules across hosts, each error naming the file, the key and the fault."""
from __future__ import annotations

from pathlib import Path

import pytest

from tasks.config import ConfigError
from tasks.hoststoml import load_inventory
from tests.unit.helpers import BASE_TOML, base_data, inventory

FILE = "/etc/esb/hosts.toml"


def test_duplicate_member_port_on_one_address():
    d = base_data()
    d["hosts"]["esb-w2"].update(address="192.168.1.13", member_port=4200)
    with pytest.raises(ConfigError) as e:
        inventory(d, FILE)
    assert str(e.value) == f"{FILE}: [hosts.esb-w2].member_port: 4200 on 192.168.1.13 is already used by esb-w1"


def test_same_member_port_on_two_addresses_is_fine():
    d = base_data()
    d["hosts"]["esb-w2"]["member_port"] = 4200
    assert inventory(d).hosts["esb-w2"].member_port == 4200


# ---------------------------------------------------------------- the file itself

def test_file_not_found(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.toml: file not found \(set ESB_HOSTS or create \./hosts\.toml\)"):
        load_inventory(tmp_path / "nope.toml")


def test_unreadable_path(tmp_path):
    with pytest.raises(ConfigError, match=f"{tmp_path}: cannot read"):
        load_inventory(tmp_path)


def test_not_utf8(tmp_path):
    p = tmp_path / "hosts.toml"
    p.write_bytes(BASE_TOML.encode() + b"# caf\xe9\n")
    with pytest.raises(ConfigError, match=r"hosts\.toml: not UTF-8 text \(byte \d+\)"):
        load_inventory(p)


def test_malformed_toml_names_the_line(tmp_path):
    p = tmp_path / "hosts.toml"
    lines = BASE_TOML.splitlines()
    lines.insert(4, 'hostname = "a" "b"')
    p.write_text("\n".join(lines))
    with pytest.raises(ConfigError) as e:
        load_inventory(p)
    assert str(e.value).startswith(f"{p}: malformed TOML: ")
    assert "line 5" in str(e.value)


def test_esb_hosts_selects_the_file(tmp_path, monkeypatch):
    p = tmp_path / "other.toml"
    p.write_text(BASE_TOML)
    monkeypatch.setenv("ESB_HOSTS", str(p))
    inv = load_inventory()
    assert inv.path == p and inv.base_dir == tmp_path


def test_the_shipped_example_hosts_toml_is_valid():
    inv = load_inventory(Path(__file__).resolve().parents[2] / "hosts.toml")
    assert set(inv.hosts) >= {"esb-mgr", "esb-w1", "esb-w2"}



def test_a_missing_hosts_toml_names_the_folder_looked_in_or_the_variable_that_named_it(tmp_path, monkeypatch):
    """Run from a folder without hosts.toml (esb anywhere, fab -r): the error says where it looked and what to do."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ESB_HOSTS", raising=False)
    with pytest.raises(ConfigError) as e:
        load_inventory()
    assert str(e.value) == (f"hosts.toml: file not found (set ESB_HOSTS or create ./hosts.toml): no hosts.toml in "
                            f"{tmp_path}; run the command in the folder that holds the cluster's hosts.toml (and "
                            f".env), or set ESB_HOSTS=/path/to/hosts.toml")
    monkeypatch.setenv("ESB_HOSTS", str(tmp_path / "gone.toml"))
    with pytest.raises(ConfigError, match=r"gone\.toml: file not found \(set ESB_HOSTS or create \./hosts\.toml\); "
                                          r"ESB_HOSTS names it: correct ESB_HOSTS, or unset it"):
        load_inventory()
