"""Day two (issue 23) on a real cluster lab (sshd hosts, MariaDB through db1, svnserve, Debian's nginx): a worker
added to hosts.toml and one taken away, with the README as the only guide. verify names the fix of every item
and ends with the command list; run as printed, it brings verify to exit 0, both ways."""
from __future__ import annotations

import json
import re
import shlex

import pytest

from tests.acceptance.cluster import DB_PW, SVN_PW, sections
from tests.lab import Lab
from tests.lblab import Nginx, free_port_on
from tests.svnlab import start_svnserve


@pytest.fixture
def four(mariadb, tmp_path):
    """A manager, three workers, db1 and lb1; MariaDB, svnserve, nginx; setup-cluster done without esb-w3."""
    lab = Lab.create(n_workers=3, extra_roles=("db", "lb"), first_octet=80)
    svn = start_svnserve(lab)
    nginx = Nginx.prepare(lab.dir / "nginx")
    try:
        mariadb.reset()
        lb = lab.hosts["lb1"]
        lab.http_port, lab.https_port = free_port_on(lb.address), free_port_on(lb.address)
        lab.extra_toml = sections(lab, tmp_path, mariadb.toml()) + nginx.toml(lb.address)
        lab.write_env(MYSQL_ADMIN_PASSWORD=mariadb.root_password, WSO2_DB_PASSWORD=DB_PW, SVN_PASSWORD=SVN_PW)
        lab.full = (lab.toml().replace("lb_http_port = 80\n", f"lb_http_port = {lab.http_port}\n")
                    .replace("lb_https_port = 443\n", f"lb_https_port = {lab.https_port}\n"))
        lab.without_w3 = re.sub(r"\[hosts\.esb-w3\]\n(?:[^\[\n][^\n]*\n|\n)*", "", lab.full)
        assert "esb-w3" not in lab.without_w3
        lab.write_toml(lab.without_w3)
        nginx.start()
        lab.nginx, lab.mariadb = nginx, mariadb
        r = lab.fab("setup-cluster")
        assert r.returncode == 0, r.stdout + r.stderr
        yield lab
    finally:
        nginx.stop()
        svn.proc.terminate()
        lab.close()


def run_next(lab: Lab) -> list[str]:
    """verify's command list (JSON `next`), then each command as printed; the commands."""
    r = lab.fab("verify", "--json")
    doc = json.loads(r.stdout)
    assert r.returncode == 2, json.dumps(doc, indent=1)[:3000]
    todo = doc.get("next", [])
    text = lab.fab("verify")
    assert "to bring the cluster in sync, run in this order:" in text.stdout
    for command in todo:
        assert f"  {command}" in text.stdout
        args = shlex.split(command)
        assert args[0] == "fab"
        r = lab.fab(*args[1:])
        assert r.returncode == 0, f"{command}\n{r.stdout}{r.stderr}"
    print("\nverify listed:", *todo, sep="\n  ")
    return todo


def accounts(lab: Lab) -> set[str]:
    return {h for (h,) in lab.mariadb.sql("SELECT Host FROM mysql.user WHERE User = 'regadmin'")}


def test_scale_out_then_in_by_what_verify_lists(four):
    lab = four
    w3 = lab.hosts["esb-w3"]
    # scale out: esb-w3 joins hosts.toml
    lab.write_toml(lab.full)
    r = lab.fab("verify")
    assert "(fix: fab -H esb-mgr patch-axis2)" in r.stdout, r.stdout  # the manager's members list
    todo = run_next(lab)
    assert "fab -H esb-mgr patch-axis2" in todo and "fab -H lb1 configure-lb" in todo, todo
    assert any(c.startswith("fab -H db1 create-dbs") for c in todo), todo
    assert "fab -H esb-w3 setup-worker" in todo, todo  # not its dozen steps one by one (issue 31)
    r = lab.fab("verify")
    assert r.returncode == 0, r.stdout + r.stderr
    assert w3.address in accounts(lab)
    assert f"server {w3.address}:8280;".encode() in (lab.nginx.conf_dir / "esb.http.conf").read_bytes()

    # scale in, in the README's order: out of the balancer, stop, out of hosts.toml, what verify lists
    r = lab.fab("-H", "esb-w3", "drain")
    assert r.returncode == 0 and "[esb-w3] drain: changed: out of lb1" in r.stdout, r.stdout
    assert f"server {w3.address}:8280 down;".encode() in (lab.nginx.conf_dir / "esb.http.conf").read_bytes()
    r = lab.fab("-H", "esb-w3", "stop")
    assert r.returncode == 0 and "[esb-w3] stop: ok: not running" in r.stdout, r.stdout
    lab.write_toml(lab.without_w3)
    r = lab.fab("verify")
    assert f"user 'regadmin'@'{w3.address}': account: wanted (absent)" in r.stdout, r.stdout
    todo = run_next(lab)
    assert "fab -H db1 create-dbs" in todo and "fab -H esb-mgr patch-axis2" in todo, todo
    r = lab.fab("verify")
    assert r.returncode == 0, r.stdout + r.stderr
    assert w3.address not in accounts(lab)
    assert w3.address.encode() not in (lab.nginx.conf_dir / "esb.http.conf").read_bytes()
