"""A link planted at every name a command writes (issue 29): the user the server runs as replaces a file of its
product home, its state dir or certs.dir with a link to a file of root's. Whatever the command, that file is neither
written, chmod-ed, chown-ed nor shown: the command refuses naming the link (a file of the product home), or replaces
the link itself (a name only the project's own tools make), and every output is free of its bytes."""
from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.acceptance.cluster import certs_dir, node_config
from tests.lab import Lab

KS = "KsPw-0123456789"
#: (command line, the node, the file the command writes there, relative to its product home)
WRITERS = [
    (("set-hostnames",), "esb-w1", "repository/conf/carbon.xml"),
    (("enable-depsync",), "esb-w1", "repository/conf/carbon.xml"),
    (("patch-axis2",), "esb-w1", "repository/conf/axis2/axis2.xml"),
    (("configure-datasources",), "esb-w1", "repository/conf/datasources/master-datasources.xml"),
    (("configure-datasources",), "esb-w1", "repository/conf/user-mgt.xml"),
    (("mount-registry",), "esb-w1", "repository/conf/registry.xml"),
    (("set-proxyports",), "esb-mgr", "repository/conf/tomcat/catalina-server.xml"),
    (("set-worker-profile",), "esb-w1", "bin/wso2server.sh"),
    (("install-jdbc-driver",), "esb-w1", "repository/components/lib/mysql-connector-java-5.1.49.jar"),
    (("create-keystore",), "esb-w1", "repository/resources/security/wso2carbon.jks"),
    (("create-keystore",), "esb-w1", "repository/resources/security/client-truststore.jks"),
]


def victim_file(tmp_path, data: bytes):
    d = tmp_path / "root-only"
    d.mkdir()
    v = d / "victim"
    v.write_bytes(data)
    os.chmod(v, 0o600)
    os.chown(v, 0, 0)
    return v


def state_of(v):
    st = os.lstat(v)
    return v.read_bytes(), st.st_mode, st.st_uid, st.st_gid


@pytest.mark.parametrize("argv,node,rel", WRITERS, ids=[f"{a[0]}:{r.rsplit('/', 1)[1]}" for a, _, r in WRITERS])
def test_a_link_at_a_file_a_step_writes_is_refused_in_every_mode(lab: Lab, tmp_path, argv, node, rel):
    node_config(lab, tmp_path, '[security]\nkeystore = true\n')
    lab.write_env(WSO2_DB_PASSWORD="Db-Pw-0123456789", SVN_PASSWORD="Svn-Pw-0123456789", KEYSTORE_PASSWORD=KS)
    target = lab.hosts[node].home / rel
    victim = victim_file(tmp_path, (target.read_bytes() if target.exists() else b"x") + b"<!-- TOPSECRET -->")
    if target.exists():
        target.unlink()
    os.symlink(victim, target)
    before, was = lab.snapshot(), state_of(victim)
    for mode in (("--dry-run",), ("--verify",), (), ("--json",)):
        r = lab.fab("-H", node, *argv, *mode)
        out = r.stdout + r.stderr
        assert r.returncode == 1, out
        assert "TOPSECRET" not in out and "Traceback" not in out, out
        text = json.dumps(json.loads(r.stdout)) if mode == ("--json",) else out
        assert "through a symbolic link, outside what the project manages" in text, out
    assert state_of(victim) == was and lab.snapshot() == before


def test_a_link_at_a_certificate_or_key_name_is_replaced_not_followed(lab: Lab, tmp_path):
    """certs.dir belongs to the node too: a link planted at <hostname>.key (or .crt) is replaced by the new pair
    (the rename replaces the name), the file it led to keeps its bytes, mode and owner."""
    node_config(lab, tmp_path)
    d = certs_dir(lab)
    d.mkdir(parents=True, exist_ok=True)
    key_victim = victim_file(tmp_path, b"ROOT ONLY KEY")
    crt_victim = tmp_path / "root-only" / "crt"
    crt_victim.write_bytes(b"ROOT ONLY CRT")
    os.symlink(key_victim, d / "esb.wso2.com.key")
    os.symlink(crt_victim, d / "esb.wso2.com.crt")
    was = state_of(key_victim), state_of(crt_victim)
    r = lab.fab("-H", "esb-mgr", "create-certs")
    assert "ROOT ONLY" not in r.stdout + r.stderr and "Traceback" not in r.stdout + r.stderr, r.stdout
    assert (state_of(key_victim), state_of(crt_victim)) == was
    for name in ("esb.wso2.com.key", "esb.wso2.com.crt"):
        p = d / name
        if r.returncode == 0:
            assert not p.is_symlink() and b"BEGIN" in p.read_bytes()
    assert not [n for n in os.listdir(d) if "esb-tmp" in n or n.startswith(".")], os.listdir(d)


def test_a_link_in_the_state_dir_is_never_followed(lab: Lab, tmp_path):
    """The node's state (backups, the rolled-back mark) is the project's: a link planted at the mark rollback
    writes, or at a run's folder, is refused, naming it; the file it leads to is unchanged."""
    node_config(lab, tmp_path)
    assert lab.fab("-H", "esb-w1", "set-hostnames").returncode == 0
    runs = lab.state_dir("esb-w1") / "backups"
    run = runs / sorted(os.listdir(runs))[0]
    victim = victim_file(tmp_path, b"TOPSECRET mark victim")
    os.symlink(victim, run / "rolled-back.json")
    was = state_of(victim)
    r = lab.fab("-H", "esb-w1", "rollback")
    assert r.returncode == 1 and "through a symbolic link" in r.stdout, r.stdout
    assert state_of(victim) == was and "TOPSECRET" not in r.stdout + r.stderr


def test_a_folder_a_step_makes_is_not_made_through_a_planted_link(lab: Lab, tmp_path):
    """The folder a step creates (the JDBC driver's components/lib) under a folder the node linked to root's files:
    refused naming the link, nothing made there (mkdir -p follows links; the project's does not lead out)."""
    node_config(lab, tmp_path, "")
    lab.write_env(WSO2_DB_PASSWORD="Db-Pw-0123456789", SVN_PASSWORD="Svn-Pw-0123456789")
    outside = tmp_path / "root-only"
    outside.mkdir(mode=0o700)
    components = lab.hosts["esb-w1"].home / "repository" / "components"
    shutil.rmtree(components)
    os.symlink(outside, components)
    before = lab.snapshot()
    r = lab.fab("-H", "esb-w1", "install-jdbc-driver")
    out = r.stdout + r.stderr
    assert r.returncode == 1 and "Traceback" not in out, out
    assert "through a symbolic link, outside what the project manages" in out, out
    assert list(outside.iterdir()) == [] and lab.snapshot() == before
