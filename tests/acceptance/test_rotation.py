"""Rotating WSO2_DB_PASSWORD and SVN_PASSWORD on a running cluster (issue 23) with `fab rotate-passwords`, on a
real lab: sshd hosts, MariaDB through db1, svnserve, Debian's nginx, the product's own bin/wso2server.sh with the
stand-in JDK and Carbon (tests/standin/). The stand-in opens a new database connection every 0.5 s with the
password it read at its start, as Carbon's pools do, and logs a refused one; a client loop POSTs through nginx the
whole time. No request fails, no node logs a refused connection; afterwards only the new passwords work. A
password changed the old way (ALTER USER alone) is then shown to cut the running nodes off: the check can fail."""
from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pytest

from tests.acceptance.cluster import DB_PW, ESB, SVN_PW, sections
from tests.lab import REPO, Lab, fab_bin
from tests.lblab import Nginx, free_port_on
from tests.mariadb import APP_USER
from tests.standin.clients import Clients
from tests.standin.jdk import kill_servers, make_jdk
from tests.svnlab import start_svnserve

HOST = "esb.wso2.com"
NEW_DB_PW = "Nueva'Clave\"Db%7€ñ"  # what users write: quotes, percent, letters outside ASCII
NEW_SVN_PW = "Otra&Señal<8>pw€"
REFUSED = "Cannot get a connection"


VAULT = "\n[security]\nkeystore = true\nvault = true\n"  # the demo's configuration
KS_PW = "Llavé€Almacén9"


@pytest.fixture
def running(request, mariadb, tmp_path):
    """A manager, two workers, db1 and lb1; setup-cluster done, every node started and connected to MariaDB (with
    `request.param` = "vault": each node's own key and every password in Secure Vault, as the demo runs)."""
    vault = getattr(request, "param", "") == "vault"
    lab = Lab.create(n_workers=2, extra_roles=("db", "lb"), first_octet=100)
    svn = start_svnserve(lab)
    nginx = Nginx.prepare(lab.dir / "nginx")
    jdk = make_jdk(lab.dir / "jdk8-stand-in", start_delay=0.5, stop_delay=0.3,
                   hosts={"carbondb.mysql-wso2.com": "127.0.0.1"})  # the nodes' /etc/hosts, as update-hosts says
    try:
        mariadb.reset()
        lb = lab.hosts["lb1"]
        http, https = free_port_on(lb.address), free_port_on(lb.address)
        lab.extra_toml = (sections(lab, tmp_path, mariadb.toml()) + nginx.toml(lb.address)
                          + "\n[run]\nstart_timeout = 30\nstop_timeout = 10\ndrain_seconds = 1\n"
                          + (VAULT if vault else ""))
        lab.vault_env = {"KEYSTORE_PASSWORD": KS_PW, "ADMIN_PASSWORD": "Admín€Clave7"} if vault else {}
        lab.write_env(MYSQL_ADMIN_PASSWORD=mariadb.root_password, WSO2_DB_PASSWORD=DB_PW, SVN_PASSWORD=SVN_PW,
                      **lab.vault_env)
        lab.write_toml(lab.toml().replace("lb_http_port = 80\n", f"lb_http_port = {http}\n")
                       .replace("lb_https_port = 443\n", f"lb_https_port = {https}\n")
                       .replace("connect_timeout = 5\n", f'connect_timeout = 5\njava_home = "{jdk}"\n', 1))
        lab.http_port, lab.nginx, lab.mariadb, lab.svn = http, nginx, mariadb, svn
        r = lab.fab("setup-cluster")
        assert r.returncode == 0, r.stdout + r.stderr
        nginx.start()
        r = lab.fab("start")
        assert r.returncode == 0, r.stdout + r.stderr
        wait_connected(lab)
        yield lab
    finally:
        kill_servers(lab)
        nginx.stop()
        svn.proc.terminate()
        lab.close()


def log(lab, n: str) -> str:
    return (lab.hosts[n].home / "repository/logs/wso2carbon.log").read_text(errors="replace")


def wait_connected(lab, timeout: float = 20) -> None:
    """Until every node's pools logged a working connection (their first turn)."""
    deadline = time.monotonic() + timeout
    while not all("datasource" in log(lab, n) and "connected to" in log(lab, n) for n in ESB):
        if time.monotonic() > deadline:
            pytest.fail("no working database connection logged:\n" + "\n".join(
                f"--- {n}\n{log(lab, n)[-1500:]}\n{datasources(lab, n)}" for n in ESB), pytrace=False)
        time.sleep(0.3)


def datasources(lab, n: str) -> str:
    f = lab.hosts[n].home / "repository/conf/datasources/master-datasources.xml"
    return "\n".join(ln for ln in f.read_text(errors="replace").splitlines() if "jdbc:" in ln or "<name>" in ln)


def datasources_password_bytes(lab) -> dict[str, bytes]:
    """Every node file a rotation writes, as bytes."""
    rels = ("repository/conf/datasources/master-datasources.xml", "repository/conf/carbon.xml",
            "repository/conf/security/cipher-text.properties")
    return {f"{n}:{r}": (lab.hosts[n].home / r).read_bytes() for n in ESB for r in rels
            if (lab.hosts[n].home / r).exists()}


def refused_since(lab, sizes: dict[str, int]) -> dict[str, list[str]]:
    out = {}
    for n in ESB:
        lines = [ln for ln in log(lab, n)[sizes[n]:].splitlines() if REFUSED in ln]
        if lines:
            out[n] = lines[:3]
    return out


def login(lab, password: str, source: str) -> bool:
    import pymysql
    try:
        pymysql.connect(host="127.0.0.1", port=lab.mariadb.port, user=APP_USER, password=password.encode(),
                        bind_address=source, connect_timeout=3).close()
        return True
    except pymysql.MySQLError:
        return False


def svn_login(lab, password: str) -> bool:
    r = subprocess.run(["svn", "info", "--non-interactive", "--no-auth-cache", "--username", "repouser",
                        "--password-from-stdin", f"svn://{lab.svn.address}:{lab.svn.port}/depsyncrepo/"],
                       input=password, capture_output=True, text=True, timeout=30)
    return r.returncode == 0


@pytest.mark.parametrize("running", ["plain", "vault"], indirect=True)
def test_rotate_passwords_on_a_running_cluster_loses_no_request_and_no_database_access(running):
    lab = running
    pids = {n: (lab.hosts[n].home / "wso2carbon.pid").read_text().strip() for n in ESB}
    lab.write_env(MYSQL_ADMIN_PASSWORD=lab.mariadb.root_password, WSO2_DB_PASSWORD=NEW_DB_PW,
                  SVN_PASSWORD=NEW_SVN_PW, **lab.vault_env)
    r = lab.fab("rotate-passwords", "--dry-run")
    assert r.returncode == 0, r.stdout + r.stderr
    assert NEW_DB_PW not in r.stdout + r.stderr and NEW_SVN_PW not in r.stdout + r.stderr
    assert login(lab, DB_PW, lab.hosts["esb-w1"].address) and not login(lab, NEW_DB_PW, lab.hosts["esb-w1"].address)
    sizes = {n: len(log(lab, n)) for n in ESB}
    before_rotation = datasources_password_bytes(lab)
    with Clients(lab.hosts["lb1"].address, lab.http_port, HOST) as clients:
        time.sleep(1)
        r = lab.fab("rotate-passwords")
        time.sleep(1.5)  # the restarted pools' first turns
    out = r.stdout + r.stderr
    print(f"\nrotate-passwords under load: {clients.ok} requests answered, {clients.failed} failed\n{r.stdout}")
    assert r.returncode == 0, out
    assert NEW_DB_PW not in out and DB_PW not in out and NEW_SVN_PW not in out and SVN_PW not in out
    assert clients.ok > 20 and clients.failed == 0, clients.errors[:5]
    assert refused_since(lab, sizes) == {}, refused_since(lab, sizes)
    assert all((lab.hosts[n].home / "wso2carbon.pid").read_text().strip() != pids[n] for n in ESB)  # restarted
    assert all(log(lab, n)[sizes[n]:].count("connected to") >= 1 for n in ESB)  # the new password works
    for n in ESB:  # only the new passwords are accepted now
        source = lab.hosts[n].address
        assert login(lab, NEW_DB_PW, source) and not login(lab, DB_PW, source), n
    assert svn_login(lab, NEW_SVN_PW) and not svn_login(lab, SVN_PW)
    (older,) = lab.mariadb.sql("SELECT MAX(COALESCE(JSON_LENGTH(Priv, '$.auth_or'), 0)) FROM mysql.global_priv "
                               "WHERE User = %s", (APP_USER,))
    assert older[0] <= 1
    r = lab.fab("verify")
    assert r.returncode == 0, r.stdout + r.stderr
    r = lab.fab("status", "--json")
    doc = json.loads(r.stdout)
    assert r.returncode == 0 and not any(doc["hosts"][n]["status"].get("warnings") for n in ESB), doc
    r = lab.fab("rotate-passwords")  # again: nothing to do, no restart
    assert r.returncode == 0 and "no node needs a restart" in r.stdout, r.stdout
    assert not re.search(r"\] (create-dbs|configure-datasources|enable-depsync|create-svn-repo): changed", r.stdout)

    # rollback undoes the whole command line: the files, and both database changes, newest first; it says first
    # that the accounts go back, and ends with db1's row failed (issue 30): .env still holds the new password, the
    # restarted nodes run with it, the accounts now take the old one
    r = lab.fab("rollback")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "db1: this rollback puts the database accounts 'regadmin'@" in r.stdout, r.stdout
    assert re.search(r"\[db1\] rollback: failed: rolled back, but the database accounts 'regadmin'@.* now have the "
                     r"password of before the run, not \.env's WSO2_DB_PASSWORD", r.stdout), r.stdout
    assert "fix: put WSO2_DB_PASSWORD back to the old value in .env, then fab rolling-restart" in r.stdout
    assert all(f"[{n}] rollback: rolled back" in r.stdout for n in ESB), r.stdout
    for n in ESB:
        source = lab.hosts[n].address
        assert login(lab, DB_PW, source) and not login(lab, NEW_DB_PW, source), n
    assert datasources_password_bytes(lab) == before_rotation
    assert svn_login(lab, SVN_PW)

    # the check can fail: the password changed the old way (the account alone) cuts the running nodes off
    sizes = {n: len(log(lab, n)) for n in ESB}
    for (host,) in lab.mariadb.sql("SELECT Host FROM mysql.user WHERE User = %s", (APP_USER,)):
        lab.mariadb.sql("ALTER USER %s@%s IDENTIFIED BY %s", (APP_USER, host, "yet-another-pw-1"))
    time.sleep(1.5)
    assert set(refused_since(lab, sizes)) == set(ESB)


def test_create_dbs_alone_keeps_the_old_password_for_running_nodes_and_verify_warns(running):
    """The way the issue found it: a new WSO2_DB_PASSWORD and `fab create-dbs` on a running cluster. The running
    nodes keep their database access; verify warns (not drift) until rotate-passwords ends the transition."""
    lab = running
    lab.write_env(MYSQL_ADMIN_PASSWORD=lab.mariadb.root_password, WSO2_DB_PASSWORD=NEW_DB_PW, SVN_PASSWORD=SVN_PW,
                  **lab.vault_env)
    sizes = {n: len(log(lab, n)) for n in ESB}
    r = lab.fab("create-dbs")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "the old password stays accepted" in r.stdout, r.stdout
    time.sleep(1.5)
    assert refused_since(lab, sizes) == {}
    r = lab.fab("verify", "--steps", "create-dbs", "--json")
    rows = json.loads(r.stdout)["hosts"]["db1"]["create-dbs"]
    assert r.returncode == 0 and rows["status"] == "ok", rows
    assert any("older password is still accepted" in (w["actual"] or "") for w in rows.get("warnings", [])), rows
    killed_mid_restart(lab)  # issue 30: a rotation killed with esb-w1 stopped and out of the balancer
    with Clients(lab.hosts["lb1"].address, lab.http_port, HOST) as clients:
        r = lab.fab("rotate-passwords")  # the rerun finishes it
        time.sleep(0.5)
    assert r.returncode == 0, r.stdout + r.stderr
    assert clients.ok > 5 and clients.failed == 0, clients.errors[:3]
    assert all(alive(lab, n) for n in ESB), r.stdout
    assert b" down;" not in (lab.nginx.conf_dir / "esb.http.conf").read_bytes(), r.stdout
    assert refused_since(lab, sizes) == {}
    for n in ESB:
        assert not login(lab, DB_PW, lab.hosts[n].address)


def alive(lab, n: str) -> bool:
    try:
        os.kill(int((lab.hosts[n].home / "wso2carbon.pid").read_text()), 0)
        return True
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return False


def killed_mid_restart(lab) -> None:
    """kill -9 of `fab rotate-passwords` once its restarts have esb-w1 stopped and marked down in nginx."""
    w1 = lab.hosts["esb-w1"]
    conf = lab.nginx.conf_dir / "esb.http.conf"
    proc = subprocess.Popen([fab_bin(), "rotate-passwords"], cwd=REPO, env=lab.fab_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline and not (
            f"server {w1.address}:8280 down;".encode() in conf.read_bytes() and not alive(lab, "esb-w1")):
        time.sleep(0.05)
    proc.kill()
    proc.wait(10)
    assert proc.returncode == -9 and not alive(lab, "esb-w1")  # killed half-way, not after it ended
