"""The [database] section the datasource, registry and hosts-file tests add to the lab's hosts.toml."""
from __future__ import annotations

from tests.acceptance.util import edit, run_clean, statuses
from tests.lab import Lab

ALIAS = "carbondb.mysql-wso2.com"
DB_PW = "Db&P4ss<word>'x"            # WSO2_DB_PASSWORD: needs escaping in XML
DB_PW_XML = "Db&amp;P4ss&lt;word&gt;'x"
DB_SECRETS = (DB_PW, DB_PW_XML)


def db_address(lab: Lab) -> str:
    """The address map-hosts should give the alias: the lab's db host (its member_host = address)."""
    return lab.hosts["db1"].address if "db1" in lab.hosts else "127.0.0.99"


def use_database(lab: Lab, extra: str = "", password: bool = True) -> None:
    """Point [database] at the lab's db host (or a plain IP when the lab has none) and set the password."""
    host = "db1" if "db1" in lab.hosts else db_address(lab)
    lab.extra_toml = f'[database]\nhost = "{host}"\nport = 3306\nalias = "{ALIAS}"\nuser = "regadmin"\n{extra}\n'
    lab.write_toml()
    if password:
        lab.write_env(WSO2_DB_PASSWORD=DB_PW)


def run_db(lab: Lab, *args: str):
    """fab with the database password set; asserts the password shows in no output of any mode."""
    return run_clean(lab, *args, secrets=DB_SECRETS)


def assert_idempotent(lab: Lab, step: str, hosts: int = 3) -> None:
    """Patch, then a second run: every host ok, no byte and no mtime changed, verify exits 0."""
    r = run_db(lab, step)
    assert r.returncode == 0, r.stdout + r.stderr
    before = lab.snapshot()
    r = run_db(lab, step)
    assert r.returncode == 0 and r.stdout.count(": ok") == hosts, r.stdout
    assert lab.snapshot() == before  # bytes and mtimes
    assert run_db(lab, step, "--verify").returncode == 0


def assert_hand_edit_is_drift(lab: Lab, step: str, host: str, rel: str, old: str, new: str, item: str) -> None:
    """Patch; change one value by hand on one host; --verify (text and JSON) exits 2 naming the item there
    only and writes nothing; patch then restores the patched bytes exactly."""
    assert run_db(lab, step).returncode == 0
    f = lab.hosts[host].conf(rel)
    good = f.read_bytes()
    edit(f, old, new)
    before = lab.snapshot()
    r = run_db(lab, step, "--verify")
    assert r.returncode == 2, r.stdout
    assert f"[{host}] {step}: drift (1 item)\n    {item}\n" in r.stdout
    want = {h: "drift" if h == host else "ok" for h, lh in lab.hosts.items() if lh.role in ("manager", "worker")}
    assert statuses(run_db(lab, step, "--verify", "--json"), step) == want
    assert lab.snapshot() == before
    assert run_db(lab, step).returncode == 0
    assert f.read_bytes() == good
