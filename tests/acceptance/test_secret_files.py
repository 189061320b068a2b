"""Files that hold passwords (issue 9): master-datasources.xml (WSO2_DB_PASSWORD) and carbon.xml (SvnPassword)
ship 0644; the step that writes a password into one takes others' access away (0640: the group keeps what it had),
verify reports such a file that others can read, patch fixes a mode-only drift, rollback restores the old mode.
"""
from __future__ import annotations

import os

from tests.acceptance.cluster import node_config
from tests.lab import Lab, product_fixture

FILES = {"configure-datasources": "datasources/master-datasources.xml", "enable-depsync": "carbon.xml"}
ESB = ("esb-mgr", "esb-w1", "esb-w2")


def mode(p) -> int:
    return os.stat(p).st_mode & 0o7777


def test_a_file_that_gains_a_password_loses_access_for_others(lab: Lab, tmp_path):
    node_config(lab, tmp_path)
    other = lab.hosts["esb-w2"].conf("user-mgt.xml")  # a file the two steps do not write
    for step, rel in FILES.items():
        for n in ESB:
            assert mode(lab.hosts[n].conf(rel)) == 0o644
        r = lab.fab(step)
        assert r.returncode == 0 and r.stdout.count(f"{step}: changed") == 3, r.stdout + r.stderr
        for n in ESB:
            assert mode(lab.hosts[n].conf(rel)) == 0o640, (n, rel)
        assert lab.fab(step, "--verify").returncode == 0
    assert mode(other) == 0o644
    # an operator (or an unzip) makes one file world-readable again: verify says so, patch changes the mode only
    f = lab.hosts["esb-w1"].conf(FILES["enable-depsync"])
    data = f.read_bytes()
    os.chmod(f, 0o664)
    before = lab.snapshot()
    r = lab.fab("enable-depsync", "--verify")
    assert r.returncode == 2, r.stdout
    assert ("carbon.xml: mode (holds a secret: no access for others): wanted '0660', actual '0664'"
            in r.stdout), r.stdout
    assert r.stdout.count("enable-depsync: drift") == 1 and lab.snapshot() == before
    dry = lab.fab("enable-depsync", "--dry-run")
    assert dry.returncode == 0 and "@@" not in dry.stdout and lab.snapshot() == before  # no byte would change
    r = lab.fab("enable-depsync")
    assert r.returncode == 0 and r.stdout.count("enable-depsync: changed") == 1, r.stdout
    assert mode(f) == 0o660 and f.read_bytes() == data
    assert lab.fab("enable-depsync", "--verify").returncode == 0
    # rollback undoes the mode fix, then (one run further back) the password and its mode
    assert lab.fab("rollback").returncode == 0
    assert mode(f) == 0o664 and f.read_bytes() == data
    assert lab.fab("rollback").returncode == 0
    assert mode(f) == 0o644 and f.read_bytes() == (product_fixture() / "repository/conf/carbon.xml").read_bytes()
