"""`fab verify --live` (issue 12, CONTRACT §7) over real sshd, MariaDB and svnserve: one planted fault at a time,
each asserting the exact node, check and cause, the other nodes ok, and that the checks changed nothing.

On loopback a node's connections reach MariaDB from 127.0.0.1: the lab maps the database alias to 127.0.0.1
([hosts_map]) and grants that address ([database].grant_hosts); nothing of it is a product default. The JDK
is a stand-in `java` (java_home) that reports 1.8: Carbon 4.4 needs 1.7 or 1.8, Debian 12 ships 17."""
from __future__ import annotations

import json
import os

import pytest

from tests.acceptance.cluster import ESB, cluster, svnserve  # noqa: F401
from tests.acceptance.util import edit
from tests.lab import make_jar
from tests.mariadb import READ_COUNTERS
from tests.svnlab import start_svnserve

ALIAS = "carbondb.mysql-wso2.com"
SVNKIT = "repository/components/dropins/svnkit-all-1.8.7.wso2v1.jar"


def fake_jdk(d, version: str, release: bool = True):
    """A stand-in JDK: bin/java prints the version as java does; `release` as a JDK ships it (read first)."""
    (d / "bin").mkdir(parents=True, exist_ok=True)
    java = d / "bin" / "java"
    java.write_text(f'#!/bin/sh\necho \'java version "{version}"\' >&2\necho \'Java(TM) SE Runtime\' >&2\n')
    os.chmod(java, 0o755)
    if release:
        (d / "release").write_text(f'IMPLEMENTOR="Oracle Corporation"\nJAVA_VERSION="{version}"\nOS_NAME="Linux"\n')
    return d


@pytest.fixture
def live(cluster, tmp_path):  # noqa: F811
    """The cluster after setup-cluster, its database reachable from every node as the JVM would reach it."""
    lab = cluster
    jdk = fake_jdk(lab.dir / "jdk8", "1.8.0_392")
    lab.extra_toml += (f'\n[hosts_map]\n"{ALIAS}" = "127.0.0.1"\n')
    lab.extra_toml = lab.extra_toml.replace("\n[database]\n", '\n[database]\ngrant_hosts = ["127.0.0.1"]\n', 1)
    lab.write_toml(lab.toml().replace('connect_timeout = 5\n', f'connect_timeout = 5\njava_home = "{jdk}"\n', 1))
    r = lab.fab("setup-cluster")
    assert r.returncode == 0, r.stdout + r.stderr
    return lab


def run_live(lab, *extra: str) -> tuple[int, dict]:
    r = lab.fab("verify", "--live", "--steps", "cluster", "--json", *extra)
    assert "Traceback" not in r.stderr, r.stderr
    return r.returncode, json.loads(r.stdout)


def live_items(doc, host: str) -> list[dict]:
    return doc["hosts"][host]["live"]["items"]


def assert_only(doc, host: str, check: str, *causes: str) -> None:
    """host's live row is drift with an item of `check` holding every cause; the other nodes' rows are ok."""
    row = doc["hosts"][host]["live"]
    assert row["status"] == "drift", row
    mine = [i for i in row["items"] if i["file"] == f"live {check}"]
    assert mine, row["items"]
    text = json.dumps(mine)
    for c in causes:
        assert c in text, (c, mine)
    for other in ESB:
        if other != host:
            assert doc["hosts"][other]["live"]["status"] == "ok", (other, doc["hosts"][other]["live"])


def test_a_cluster_in_the_guide_state_passes_every_live_check_and_nothing_changes(live):
    lab = live
    before, svn_before, counters = lab.snapshot(), lab.svnserve.snapshot(), lab.mariadb.com_counters()
    code, doc = run_live(lab)
    assert code == 0, json.dumps(doc, indent=1)
    for h in ESB:
        row = doc["hosts"][h]["live"]
        assert row["status"] == "ok", row
        # the WKA members do not answer: the servers are not running (a warning, not drift)
        assert row["warnings"] and all("refused" in w["actual"] for w in row["warnings"]), row
        f = row["fields"]  # each check's outcome as data (issue 31)
        assert f["drift"] == [] and f["checks"]["members"] == "warning" and f["passed"] == len(row["passed"]), f
        assert f["checks"]["db"] == f["checks"]["java"] == f["checks"]["driver"] == "ok", f
    assert lab.snapshot() == before and lab.svnserve.snapshot() == svn_before
    writes = {k: v - counters.get(k, 0) for k, v in lab.mariadb.com_counters().items()
              if v != counters.get(k, 0) and k not in READ_COUNTERS and not k.startswith("Com_show")}
    assert set(writes) <= {"Com_change_db", "Com_select"}, writes  # reads only
    r = lab.fab("verify", "--live", "--steps", "patch-axis2")  # with --steps too: a table with the live row
    assert r.returncode == 0 and "\nlive " in r.stdout, r.stdout


def test_a_wrong_password_in_one_nodes_datasources(live):
    lab = live
    f = lab.hosts["esb-w1"].conf("datasources/master-datasources.xml")
    text = f.read_text(encoding="utf-8")
    start = text.index("<password>", text.index("<name>REGISTRY_DB</name>"))
    end = text.index("</password>", start)
    f.write_text(text[:start] + "<password>Wrong-pw-4711</password>" + text[end + len("</password>"):], encoding="utf-8")
    code, doc = run_live(lab)
    assert code == 2
    assert_only(doc, "esb-w1", "db", "datasource REGISTRY_DB", "Access denied")
    assert "Wrong-pw-4711" not in json.dumps(doc)  # a password read from a file is masked like any secret
    f = doc["hosts"]["esb-w1"]["live"]["fields"]
    assert f["drift"] == ["db"] and f["checks"]["db"] == "drift" and f["status"] == "drift", f


def test_the_alias_mapped_to_a_wrong_address_in_one_hosts_file(live):
    lab = live
    edit(lab.hosts["esb-w2"].hosts_file, f"127.0.0.1\t{ALIAS}", f"127.0.0.77\t{ALIAS}", "utf-8")
    code, doc = run_live(lab)
    assert code == 2
    assert_only(doc, "esb-w2", "db", "127.0.0.77", "database unreachable")


def test_the_alias_not_mapped_on_one_node(live):
    lab = live
    edit(lab.hosts["esb-w2"].hosts_file, f"127.0.0.1\t{ALIAS}\n", "", "utf-8")
    code, doc = run_live(lab)
    assert code == 2
    assert_only(doc, "esb-w2", "db", "not mapped on this node")


def test_a_grant_removed_for_the_managers_database(live):
    """On loopback every node connects from 127.0.0.1, so the grant that only one node needs is the one on its
    own database: REGISTRY_LOCAL1 is the manager's."""
    lab = live
    lab.mariadb.sql("REVOKE ALL PRIVILEGES ON `REGISTRY_LOCAL1`.* FROM 'regadmin'@'127.0.0.1'")
    code, doc = run_live(lab)
    assert code == 2
    assert_only(doc, "esb-mgr", "db", "datasource REGISTRY_LOCAL1", "database REGISTRY_LOCAL1 usable")


def test_the_workers_local_database_dropped(live):
    lab = live
    lab.mariadb.sql("DROP DATABASE REGISTRY_LOCAL2")
    code, doc = run_live(lab)
    assert code == 2
    for w in ("esb-w1", "esb-w2"):
        text = json.dumps(live_items(doc, w))
        assert "datasource REGISTRY_LOCAL2" in text and "REGISTRY_LOCAL2" in text, text
    assert doc["hosts"]["esb-mgr"]["live"]["status"] == "ok"


def test_svnserve_stopped(live):
    lab = live
    lab.svnserve.proc.terminate()
    lab.svnserve.proc.wait(5)
    try:
        code, doc = run_live(lab)
    finally:
        lab.svnserve.proc = start_svnserve(lab, lab.svnserve.port).proc
    assert code == 2
    for h in ESB:
        text = json.dumps([i for i in live_items(doc, h) if i["file"] == "live svn"])
        assert "no connection to" in text and "refused" in text.lower(), text


def test_a_wrong_svn_password_in_one_carbon_xml(live):
    lab = live
    f = lab.hosts["esb-w2"].conf("carbon.xml")
    data = f.read_bytes()
    start = data.index(b"<SvnPassword>") + len(b"<SvnPassword>")
    f.write_bytes(data[:start] + b"not-the-password" + data[data.index(b"</SvnPassword>"):])
    code, doc = run_live(lab)
    assert code == 2
    assert_only(doc, "esb-w2", "svn", "login as 'repouser' refused")
    assert "not-the-password" not in json.dumps(doc)


def test_the_svnkit_jar_removed_on_one_worker(live):
    lab = live
    (lab.hosts["esb-w1"].home / SVNKIT).unlink()
    code, doc = run_live(lab)
    assert code == 2
    assert_only(doc, "esb-w1", "svn", "the SVNKit bundle", "No Repository found for type svn")


def test_a_connector_jar_that_provides_another_driver(live):
    lab = live
    jar = lab.hosts["esb-mgr"].home / "repository/components/lib/mysql-connector-java-5.1.49.jar"
    make_jar(jar, "mariadb connector", ("org.mariadb.jdbc.Driver",))  # named like Connector/J, is not
    code, doc = run_live(lab)
    assert code == 2
    assert_only(doc, "esb-mgr", "driver", "com.mysql.jdbc.Driver in a jar of repository/components/lib")


@pytest.mark.parametrize("release", [True, False], ids=["release-file", "java-version"])
def test_a_jdk_reporting_17(live, release):
    lab = live
    jdk17 = lab.dir / f"jdk17-{release}"
    fake_jdk(jdk17, "17.0.15", release)
    lab.write_toml(lab.hosts_toml.read_text().replace(
        "[hosts.esb-w2]\n", f"[hosts.esb-w2]\njava_home = \"{jdk17}\"\n", 1))
    code, doc = run_live(lab)
    assert code == 2
    assert_only(doc, "esb-w2", "java", "17.0.15", "JDK 1.7 or 1.8")


@pytest.mark.parametrize("java,release", [("17.0.15", "1.8.0_392"), ("1.8.0_392", "17.0.15")],
                         ids=["java-17-release-8", "java-8-release-17"])
def test_the_jdk_is_judged_by_java_version_as_start_runs_it_never_by_its_release_file(live, java, release):
    """The `release` file and `java -version` disagree: `java -version` of $JAVA_HOME/bin/java decides (what the
    start script runs, and what `start` checks: probes/jdk.py, one function for both)."""
    lab = live
    jdk = fake_jdk(lab.dir / f"jdk-{java}-{release}", java, release=False)
    (jdk / "release").write_text(f'JAVA_VERSION="{release}"\n')
    lab.write_toml(lab.hosts_toml.read_text().replace(
        "[hosts.esb-w2]\n", f"[hosts.esb-w2]\njava_home = \"{jdk}\"\n", 1))
    code, doc = run_live(lab)
    if java.startswith("17"):
        assert code == 2
        assert_only(doc, "esb-w2", "java", "17.0.15", "JDK 1.7 or 1.8")
    else:
        assert code == 0, json.dumps(doc["hosts"]["esb-w2"]["live"], indent=1)
        assert any(f"{jdk}/bin/java (java_home): 1.8.0_392" in p for p in doc["hosts"]["esb-w2"]["live"]["passed"])


def test_with_secure_vault_on_the_live_checks_log_in_with_what_carbon_resolves(live):
    """The demo's configuration: every password is a svns:secretAlias with the placeholder `password`; the live
    checks decrypt cipher-text.properties with the node's key (as Carbon does at its start) and log in with that,
    so the cluster passes; a value encrypted for another key on one node is drift naming the alias."""
    lab = live
    from tests.acceptance.test_hardening import ADMIN_PW, KS_PW
    from tests.acceptance.cluster import DB_PW, SVN_PW
    import shutil
    os.symlink(shutil.which("keytool"), lab.dir / "jdk8" / "bin" / "keytool")  # the stand-in JDK's keytool: Java's
    lab.write_toml(lab.hosts_toml.read_text() + "\n[security]\nkeystore = true\nvault = true\n")
    lab.write_env(MYSQL_ADMIN_PASSWORD=lab.mariadb.root_password, WSO2_DB_PASSWORD=DB_PW, SVN_PASSWORD=SVN_PW,
                  KEYSTORE_PASSWORD=KS_PW, ADMIN_PASSWORD=ADMIN_PW)
    for task in ("setup-manager", "setup-worker"):
        r = lab.fab(task)
        assert r.returncode == 0, r.stdout + r.stderr
    assert b'svns:secretAlias="Datasources.REGISTRY_DB.Configuration.Password"' in \
        lab.hosts["esb-w1"].conf("datasources/master-datasources.xml").read_bytes()
    code, doc = run_live(lab)
    assert code == 0, json.dumps(doc, indent=1)
    for s in (KS_PW, DB_PW, SVN_PW):
        assert s not in json.dumps(doc)
    cipher = lab.hosts["esb-w2"].conf("security/cipher-text.properties")
    w1 = lab.hosts["esb-w1"].conf("security/cipher-text.properties").read_text(encoding="utf-8")
    line = next(x for x in w1.splitlines() if x.startswith("Datasources.REGISTRY_DB.Configuration.Password"))
    text = cipher.read_text(encoding="utf-8").splitlines()
    cipher.write_text("\n".join(line if x.startswith(line.split("=")[0]) else x for x in text) + "\n",
                      encoding="utf-8")  # esb-w1's ciphertext: another node's key
    code, doc = run_live(lab)
    assert code == 2
    assert_only(doc, "esb-w2", "db", "Datasources.REGISTRY_DB.Configuration.Password", "decrypts with the node's key")


def test_the_live_row_alone_its_passing_checks_shown_and_no_ssh_library_noise(live):
    """`--steps live` is the live row alone; the checks that held are listed (text and JSON), so one can tell they
    ran; a refused WKA channel (servers stopped) leaves no `Secsh channel ... open FAILED` line on stderr."""
    lab = live
    r = lab.fab("verify", "--live", "--steps", "live")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Secsh channel" not in r.stderr and "open FAILED" not in r.stderr, r.stderr
    assert "[esb-w1] live db: datasource REGISTRY_DB" in r.stdout and "login from esb-w1" in r.stdout, r.stdout
    assert "[esb-mgr] live svn: SvnUrl svn://" in r.stdout and "[esb-w2] live java:" in r.stdout, r.stdout
    assert "patch-axis2" not in r.stdout and "\ncluster " not in r.stdout
    code, doc = run_live(lab)
    passed = doc["hosts"]["esb-w2"]["live"]["passed"]
    assert any(p.startswith("driver: datasource") for p in passed) and any(p.startswith("db: ") for p in passed)
    r = lab.fab("verify", "--steps", "live")
    assert r.returncode == 1 and "the live checks run with --live" in r.stderr, r.stdout + r.stderr


@pytest.mark.skipif(not __import__("tests.svnhttp").svnhttp.available(), reason="needs apache2 and libapache2-mod-svn")
def test_an_http_svn_url_is_checked_over_webdav_from_the_node(live):
    """The guide's own SvnUrl is http://: the live svn check speaks WebDAV to a real Apache with mod_dav_svn from
    each node with its SvnUser/SvnPassword (OPTIONS, Basic, as SVNKit starts); a password the server does not
    take is drift naming it; svn+ssh:// is refused (DepSync does not support it)."""
    from tests.acceptance.cluster import SVN_PW
    from tests.svnhttp import SvnHttp
    lab = live
    server = SvnHttp()
    try:
        server.users({"repouser": SVN_PW})
        text = lab.hosts_toml.read_text()
        old = next(line for line in text.splitlines() if line.startswith("url = \"svn://"))
        lab.write_toml(text.replace(old, f'url = "{server.url}"'))
        assert lab.fab("enable-depsync").returncode == 0
        code, doc = run_live(lab)
        assert code == 0, json.dumps(doc, indent=1)
        assert any(p.startswith(f"svn: SvnUrl {server.url} as repouser: login accepted")
                   for p in doc["hosts"]["esb-w1"]["live"]["passed"]), doc["hosts"]["esb-w1"]["live"]
        server.users({"repouser": "another-password-9"})
        code, doc = run_live(lab)
        assert code == 2
        for h in ESB:
            items = [i for i in doc["hosts"][h]["live"]["items"] if i["file"] == "live svn"]
            assert items and "login as 'repouser' refused (HTTP 401)" in items[0]["actual"], items
        assert SVN_PW not in json.dumps(doc)
        lab.write_toml(text.replace(old, 'url = "svn+ssh://127.0.0.1/depsyncrepo/"'))
        assert lab.fab("enable-depsync").returncode == 0
        code, doc = run_live(lab)
        assert code == 2 and "svn+ssh:// is not supported by Carbon's deployment synchronizer" in json.dumps(doc)
    finally:
        server.close()
