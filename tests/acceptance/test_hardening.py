"""Hardening (issue 13, CONTRACT §8): create-keystore, secure-vault and set-admin-password on real sshd hosts,
proved with Java itself: keytool lists every keystore and trust store, and a small Java program
(tests/java/VaultCheck.java: KeyStore.getInstance("JKS"), Cipher.getInstance("RSA")) opens each node's keystore
with KEYSTORE_PASSWORD and decrypts every value of cipher-text.properties back to the secrets.
"""
from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from lxml import etree

from tasks.formats import jks
from tasks.hoststoml import load_inventory
from tasks.rules import CIPHER_TEXT, KEYSTORE, TRUSTSTORE, vault_entries
from tests.acceptance.cluster import DB_PW, ESB, SVN_PW, cluster, node_config, svnserve  # noqa: F401
from tests.lab import REPO, Lab, product_fixture
from tests.acceptance.util import open_backups, recorded_modes

KS_PW = "Llavé€Almacén9"  # what an operator writes: letters outside ASCII and Latin-1
ADMIN_PW = "Admín€Clave7"
SECRETS = (KS_PW, ADMIN_PW, DB_PW, SVN_PW)
JAVA = shutil.which("java")
KEYTOOL = shutil.which("keytool")
pytestmark = pytest.mark.skipif(not (JAVA and KEYTOOL), reason="needs Java (default-jre-headless)")
JENV = {**os.environ, "LC_ALL": "C.UTF-8"}


def setup(lab: Lab, tmp_path, extra: str = "", **env) -> None:
    node_config(lab, tmp_path, extra)
    lab.write_env(WSO2_DB_PASSWORD=DB_PW, SVN_PASSWORD=SVN_PW, KEYSTORE_PASSWORD=KS_PW, ADMIN_PASSWORD=ADMIN_PW,
                  **env)


def pwfile(tmp_path, value: str = KS_PW) -> Path:
    f = tmp_path / "ks.pw"
    f.write_text(value + "\n", encoding="utf-8")
    return f


def keytool_list(store: Path, pw: Path) -> str:
    r = subprocess.run([KEYTOOL, "-J-Dfile.encoding=UTF-8", "-list", "-keystore", str(store), "-storepass:file",
                        str(pw)], capture_output=True, text=True, env=JENV)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def java_decrypt(keystore: Path, cipher_text: Path, pw: Path) -> dict[str, str]:
    """alias -> plain text, as Java decrypts cipher-text.properties with the node's key."""
    r = subprocess.run([JAVA, str(REPO / "tests" / "java" / "VaultCheck.java"), str(keystore), str(cipher_text),
                        str(pw)], capture_output=True, text=True, env=JENV, timeout=120)
    assert r.returncode == 0, r.stderr
    return {a: base64.b64decode(v).decode("utf-8") for a, v in (ln.split("\t") for ln in r.stdout.splitlines())}


def no_secret(r) -> None:
    for s in SECRETS:
        for form in (s, s.encode("utf-8").decode("latin-1")):
            assert form not in r.stdout and form not in r.stderr


def above_recap(r) -> str:
    """The output before the recap (whose counters name every status, drift=0 and changed=0 included)."""
    return r.stdout.split("\nrecap:\n")[0]


def shipped_entries() -> set[bytes]:
    return set(jks.parse((product_fixture() / TRUSTSTORE).read_bytes()).all_certs())


@pytest.mark.parametrize("lab", [True], indirect=True, ids=["default-state"])
def test_each_node_gets_its_own_key_then_secure_vault_and_java_reads_it_all(lab: Lab, tmp_path):
    setup(lab, tmp_path)
    pw = pwfile(tmp_path)
    for step in ("configure-datasources", "enable-depsync"):  # the guide's passwords, written in plain text
        assert lab.fab(step).returncode == 0
    # the guide's state: verify warns (ok*) on every node, exit 0, and changes nothing
    before = lab.snapshot()
    before_guide = lab.snapshot(state=False)
    r = lab.fab("verify", "--verbose", "--steps", "create-keystore,secure-vault,set-admin-password")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("the shipped one (CN=localhost") == 3, r.stdout
    inv = load_inventory(lab.hosts_toml)
    assert r.stdout.count("a plain-text password") == 3 * len(vault_entries(inv, inv.hosts["esb-mgr"])) and r.stdout.count("not the shipped 'admin'") == 3
    folded = lab.fab("verify", "--steps", "create-keystore,secure-vault,set-admin-password").stdout
    assert folded.count("secure-vault: ") == 3 and folded.count("--verbose lists them") == 3, folded  # a line a node
    assert lab.snapshot() == before
    no_secret(r)

    r = lab.fab("create-keystore", "--dry-run")
    assert r.returncode == 0 and r.stdout.count("would run: keytool -genkeypair") == 3, r.stdout
    assert "********" in r.stdout and lab.snapshot() == before  # the new passwords masked in the diff
    no_secret(r)
    r = lab.fab("create-keystore")
    assert r.returncode == 0 and r.stdout.count("create-keystore: changed") == 3, r.stdout + r.stderr
    no_secret(r)
    certs = {}
    for n in ESB:
        h = lab.hosts[n]
        listing = keytool_list(h.home / KEYSTORE, pw)
        assert "wso2carbon, " in listing and "PrivateKeyEntry" in listing
        ks = jks.parse((h.home / KEYSTORE).read_bytes())
        cert = ks.keys["wso2carbon"].cert
        cn = "mgt.esb.wso2.com" if n == "esb-mgr" else "esb.wso2.com"
        assert cert.subject.rfc4514_string() == f"CN={cn}"
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.DNSName) == [cn]
        assert [str(a) for a in san.get_values_for_type(x509.IPAddress)] == [h.address]
        assert cert.public_key().key_size == 2048
        assert os.stat(h.home / KEYSTORE).st_mode & 0o007 == 0  # a private key: no access for others
        certs[n] = ks.keys["wso2carbon"].chain[0]
    assert len(set(certs.values())) == 3  # three keys, none shipped
    for n in ESB:
        store = lab.hosts[n].home / TRUSTSTORE
        listing = keytool_list(store, pw)
        have = set(jks.parse(store.read_bytes()).all_certs())
        assert set(certs.values()) <= have and shipped_entries() <= have, n  # every node's, and the shipped ones
        assert all(f"{m}, " in listing for m in ESB)
        carbon = etree.parse(str(lab.hosts[n].conf("carbon.xml"))).getroot()
        ns = {"c": "http://wso2.org/projects/carbon/carbon.xml"}
        for path in ("KeyStore/c:Password", "KeyStore/c:KeyPassword", "TrustStore/c:Password"):
            assert carbon.findtext(f"c:Security/c:{path}", namespaces=ns) == KS_PW, (n, path)
        connector = etree.parse(str(lab.hosts[n].conf("tomcat/catalina-server.xml"))).find(".//Connector[@keystorePass]")
        assert connector.get("keystorePass") == KS_PW
        axis2 = etree.parse(str(lab.hosts[n].conf("axis2/axis2.xml")))
        assert [e.text for e in axis2.iter("Password", "KeyPassword")] == [KS_PW] * 6
    # a second run changes nothing, byte for byte
    after = lab.snapshot(state=False)
    r = lab.fab("create-keystore")
    assert r.returncode == 0 and r.stdout.count("create-keystore: ok") == 3, r.stdout
    assert lab.snapshot(state=False) == after

    r = lab.fab("set-admin-password")
    assert r.returncode == 0 and r.stdout.count("set-admin-password: changed") == 3, r.stdout + r.stderr
    r = lab.fab("secure-vault")
    assert r.returncode == 0 and r.stdout.count("secure-vault: changed") == 3, r.stdout + r.stderr
    no_secret(r)
    vaulted = lab.snapshot(state=False)
    r = lab.fab("secure-vault")
    assert r.returncode == 0 and r.stdout.count("secure-vault: ok") == 3, r.stdout
    assert lab.snapshot(state=False) == vaulted  # random ciphertexts, yet nothing rewritten: verify decrypts
    for n in ESB:
        h = lab.hosts[n]
        values = java_decrypt(h.home / KEYSTORE, h.home / CIPHER_TEXT, pw)
        inv = load_inventory(lab.hosts_toml)
        wanted = {p.alias: {"KEYSTORE_PASSWORD": KS_PW, "ADMIN_PASSWORD": ADMIN_PW, "WSO2_DB_PASSWORD": DB_PW,
                            "SVN_PASSWORD": SVN_PW}[p.secret] for p in vault_entries(inv, inv.hosts[n])}
        assert {a: values[a] for a in wanted} == wanted, n
        for f in ("carbon.xml", "user-mgt.xml", "axis2/axis2.xml", "tomcat/catalina-server.xml",
                  "datasources/master-datasources.xml", "security/cipher-text.properties"):
            data = h.conf(f).read_bytes()
            for s in SECRETS:
                assert s.encode("utf-8") not in data and s.encode("latin-1", "replace") not in data, (n, f)
        assert os.stat(h.home / CIPHER_TEXT).st_mode & 0o007 == 0
        conf = h.conf("security/secret-conf.properties").read_text()
        assert "\nsecretRepositories=file\n" in conf and "keystore.identity.alias=wso2carbon" in conf
    # the steps that wrote the passwords accept the vault references: verify of everything is clean
    r = lab.fab("verify", "--steps", "configure-datasources,enable-depsync,create-keystore,set-admin-password,"
                "secure-vault")
    assert r.returncode == 0 and "drift" not in above_recap(r) and "warning" not in r.stdout, r.stdout
    no_secret(r)
    # rollback undoes the three runs that changed files, newest first, byte for byte
    for _ in range(3):
        r = lab.fab("rollback")
        assert r.returncode == 0, r.stdout + r.stderr
    assert contents(lab.snapshot(state=False)) == contents(before_guide)


def contents(snap) -> dict:
    """Path -> (bytes, mode) of every file of a snapshot (a restore makes new mtimes)."""
    return {p: (v[0], os.stat(p).st_mode & 0o7777) for p, v in snap.items() if v[1] >= 0}


def test_every_backup_of_a_keystore_and_trust_store_is_private_and_rollback_restores_the_shipped_mode(
        lab: Lab, tmp_path):
    """The keystores are backed up on the host (`cp -p`, the key never crosses SFTP) and kept their 0644:
    every file under a node's state dir is now private, the manifest still records the shipped mode, and
    rollback puts the shipped mode back."""
    setup(lab, tmp_path)
    stores = {n: [lab.hosts[n].home / KEYSTORE, lab.hosts[n].home / TRUSTSTORE] for n in ESB}
    for p in stores["esb-w1"]:
        os.chmod(p, 0o644)  # whatever the lab's copy has: the mode a download unpacks with
    shipped = {str(p): os.stat(p).st_mode & 0o7777 for n in ESB for p in stores[n]}
    r = lab.fab("create-keystore")
    assert r.returncode == 0 and r.stdout.count("create-keystore: changed") == 3, r.stdout + r.stderr
    for n in ESB:
        assert open_backups(lab, n) == {}, n
        modes = recorded_modes(lab, n)
        assert {str(p): modes[str(p)] for p in stores[n]} == {str(p): shipped[str(p)] for p in stores[n]}
    assert lab.fab("rollback").returncode == 0
    assert {str(p): os.stat(p).st_mode & 0o7777 for n in ESB for p in stores[n]} == shipped


def test_bad_input_is_refused_and_nothing_changes(lab: Lab, tmp_path):
    setup(lab, tmp_path)
    before = lab.snapshot()
    for weak in ("short7", "wso2carbon"):
        lab.write_env(WSO2_DB_PASSWORD=DB_PW, SVN_PASSWORD=SVN_PW, KEYSTORE_PASSWORD=weak, ADMIN_PASSWORD=ADMIN_PW)
        for step in ("create-keystore", "secure-vault"):
            r = lab.fab(step)
            assert r.returncode == 1 and "KEYSTORE_PASSWORD is too weak" in r.stdout + r.stderr, r.stdout + r.stderr
            assert weak not in r.stdout + r.stderr and lab.snapshot() == before
    for bad in ("admin", "has space1", "x" * 31, "abcd"):
        lab.write_env(WSO2_DB_PASSWORD=DB_PW, SVN_PASSWORD=SVN_PW, KEYSTORE_PASSWORD=KS_PW, ADMIN_PASSWORD=bad)
        r = lab.fab("set-admin-password")
        assert r.returncode == 1 and "ADMIN_PASSWORD" in r.stdout + r.stderr and lab.snapshot() == before, r.stdout
        assert (bad not in r.stdout + r.stderr) or bad == "admin"
    lab.write_env(WSO2_DB_PASSWORD=DB_PW, SVN_PASSWORD=SVN_PW, ADMIN_PASSWORD=ADMIN_PW)
    r = lab.fab("create-keystore")
    assert r.returncode == 1 and "KEYSTORE_PASSWORD is not set" in r.stdout + r.stderr and lab.snapshot() == before
    setup(lab, tmp_path)
    before = lab.snapshot()
    # secure-vault before create-keystore: the shipped key is in every download
    r = lab.fab("secure-vault")
    assert r.returncode == 1 and "failed on: esb-mgr, esb-w1, esb-w2" in r.stdout and "run create-keystore first" in r.stdout
    assert lab.snapshot() == before
    # a node whose server has run: its key is not replaced
    w1 = lab.hosts["esb-w1"]
    log = w1.home / "repository/logs/wso2carbon.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("TID: [-1234] [] [2026-12-01 10:00:00,000]  INFO {org.wso2.carbon.core.init} - Starting\n")
    before = lab.snapshot()
    r = lab.fab("-H", "esb-w1", "create-keystore")
    assert r.returncode == 1 and "has run" in r.stdout and "nothing was changed" in r.stdout, r.stdout
    assert lab.snapshot() == before
    log.unlink()
    # no keytool where the node's JDK should be: said, and nothing changed (no backup run left behind)
    lab.write_toml(lab.toml().replace("connect_timeout = 5\n", 'connect_timeout = 5\njava_home = "/nonexistent/jdk"\n', 1))
    before = lab.snapshot()
    r = lab.fab("-H", "esb-w1", "create-keystore")
    assert r.returncode == 1 and "/nonexistent/jdk/bin/keytool not found" in r.stdout, r.stdout
    assert lab.snapshot() == before
    setup(lab, tmp_path)
    # keystores that are not JKS: PKCS12 (what keytool makes by default) and a damaged file
    ks = w1.home / KEYSTORE
    shipped = ks.read_bytes()
    p12 = tmp_path / "k.p12"
    subprocess.run([KEYTOOL, "-genkeypair", "-alias", "wso2carbon", "-keyalg", "RSA", "-keysize", "2048", "-dname",
                    "CN=x", "-keystore", str(p12), "-storetype", "PKCS12", "-storepass", "changeit1"],
                   check=True, capture_output=True)
    for data, says in ((p12.read_bytes(), "not a JKS keystore (it looks like PKCS12)"),
                       (shipped[:1000], "truncated keystore")):
        ks.write_bytes(data)
        before = lab.snapshot()
        r = lab.fab("-H", "esb-w1", "create-keystore")
        assert r.returncode == 1 and says in r.stdout and "nothing was changed" in r.stdout, r.stdout
        assert lab.snapshot() == before
        r = lab.fab("-H", "esb-w1", "secure-vault")
        assert r.returncode == 1 and lab.snapshot() == before
    ks.write_bytes(shipped)


@pytest.mark.parametrize("lab", [True], indirect=True, ids=["default-state"])
def test_setup_cluster_with_the_security_switches(lab: Lab, tmp_path):
    """[security] puts the three steps into setup-manager and setup-worker, exactly as the README shows."""
    setup(lab, tmp_path, extra="\n[security]\nkeystore = true\nvault = true\nadmin_password = true\n")
    r = lab.fab("setup-manager")
    assert r.returncode == 0, r.stdout + r.stderr
    for step in ("set-admin-password", "create-keystore", "secure-vault"):
        assert f"esb-mgr {step}: changed" in r.stdout or f"{step}: changed" in r.stdout, r.stdout
    r = lab.fab("setup-worker")
    assert r.returncode == 0 and r.stdout.count("secure-vault: changed") == 2, r.stdout + r.stderr
    no_secret(r)
    pw = pwfile(tmp_path)
    certs = {n: jks.parse((lab.hosts[n].home / KEYSTORE).read_bytes()).keys["wso2carbon"].chain[0] for n in ESB}
    for n in ESB:  # the workers took their turn after the manager: every trust store has all three
        assert set(certs.values()) <= set(jks.parse((lab.hosts[n].home / TRUSTSTORE).read_bytes()).all_certs()), n
        java_decrypt(lab.hosts[n].home / KEYSTORE, lab.hosts[n].home / CIPHER_TEXT, pw)
    r = lab.fab("verify", "--steps", "configure-datasources,enable-depsync,set-admin-password,create-keystore,"
                "secure-vault")
    assert r.returncode == 0 and "warning" not in r.stdout and "drift" not in above_recap(r), r.stdout
    # a second setup-worker rewrites nothing
    files = lab.snapshot(state=False)
    r = lab.fab("setup-worker")
    assert r.returncode == 0 and "changed" not in above_recap(r) and lab.snapshot(state=False) == files, r.stdout


def java_hash(tmp_path, password: str, salt: str) -> str:
    """Carbon's stored hash of password + salt, computed by Java (tests/java/CarbonHash.java)."""
    f = tmp_path / "admin.pw"
    f.write_text(password + "\n", encoding="utf-8")
    r = subprocess.run([JAVA, "-Dfile.encoding=UTF-8", str(REPO / "tests" / "java" / "CarbonHash.java"), str(f), salt],
                       capture_output=True, text=True, env=JENV, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_the_admin_user_in_the_user_store_no_longer_has_admin(cluster, tmp_path):
    """The admin row Carbon wrote at first start (salted SHA-256 of 'admin', made by Java here) is found through
    db1's SSH, reported, and given ADMIN_PASSWORD with a fresh salt; the next run finds nothing to do."""
    lab = cluster
    env = dict(MYSQL_ADMIN_PASSWORD=lab.mariadb.root_password, WSO2_DB_PASSWORD=DB_PW, SVN_PASSWORD=SVN_PW,
               KEYSTORE_PASSWORD=KS_PW, ADMIN_PASSWORD=ADMIN_PW)
    lab.write_env(**env)
    assert lab.fab("create-dbs").returncode == 0
    assert lab.fab("configure-datasources").returncode == 0
    r = lab.fab("-H", "esb-mgr", "set-admin-password", "--verify")
    assert "UM_USER" not in r.stdout and "no user 'admin' yet" in r.stdout, r.stdout  # the server never started
    salt = "c2FsdHNhbHRzYWx0c2FsdA=="
    lab.mariadb.sql("INSERT INTO UM_USER (UM_USER_NAME, UM_USER_PASSWORD, UM_SALT_VALUE, UM_REQUIRE_CHANGE, "
                    "UM_CHANGED_TIME, UM_TENANT_ID) VALUES ('admin', %s, %s, 0, NOW(), -1234)",
                    (java_hash(tmp_path, "admin", salt), salt), database="WSO2_USER_DB")
    # switched off, verify only warns; the step's own verify reports the drift
    r = lab.fab("verify", "--verbose", "--steps", "set-admin-password")
    assert r.returncode == 0 and "WSO2_USER_DB.UM_USER: password of 'admin'" in r.stdout, r.stdout
    r = lab.fab("-H", "esb-mgr", "set-admin-password", "--verify")
    assert r.returncode == 2 and "WSO2_USER_DB.UM_USER: password of 'admin'" in r.stdout, r.stdout
    r = lab.fab("-H", "esb-mgr", "set-admin-password")
    assert r.returncode == 0 and "set-admin-password: changed" in r.stdout, r.stdout
    no_secret(r)
    (stored, new_salt), = lab.mariadb.sql("SELECT UM_USER_PASSWORD, UM_SALT_VALUE FROM UM_USER WHERE "
                                          "UM_USER_NAME='admin'", database="WSO2_USER_DB")
    assert new_salt != salt and stored == java_hash(tmp_path, ADMIN_PW, new_salt)  # what Carbon checks at login
    r = lab.fab("-H", "esb-mgr", "set-admin-password")
    assert r.returncode == 0 and "set-admin-password: ok" in r.stdout, r.stdout
    # rollback puts the row back as it was, from the undo kept with the run's backups (issue 23)
    r = lab.fab("-H", "esb-mgr", "rollback")
    assert r.returncode == 0 and "database (set-admin-password)" in r.stdout, r.stdout + r.stderr
    no_secret(r)
    (stored, back_salt), = lab.mariadb.sql("SELECT UM_USER_PASSWORD, UM_SALT_VALUE FROM UM_USER WHERE "
                                           "UM_USER_NAME='admin'", database="WSO2_USER_DB")
    assert (stored, back_salt) == (java_hash(tmp_path, "admin", salt), salt)


def test_a_targeted_run_reports_its_writes_on_other_nodes_under_them_and_its_rollback_undoes_them(lab: Lab, tmp_path):
    """`fab -H esb-w2 setup-worker` with the keystore on adds esb-w2's new certificate to the trust stores of the
    nodes that already took their turn: the dry-run shows those writes under esb-mgr and esb-w1, patch reports
    them there, and `fab -H esb-w2 rollback` undoes them too, byte for byte (issue 24)."""
    setup(lab, tmp_path, extra="\n[security]\nkeystore = true\n")
    assert lab.fab("setup-manager").returncode == 0
    assert lab.fab("-H", "esb-w1", "setup-worker").returncode == 0
    stores = {n: (lab.hosts[n].home / TRUSTSTORE).read_bytes() for n in ESB}
    before = lab.snapshot()
    r = lab.fab("-H", "esb-w2", "setup-worker", "--dry-run")
    assert r.returncode == 0, r.stdout + r.stderr
    for n in ("esb-mgr", "esb-w1"):
        assert f"[{n}] create-keystore (from esb-w2): would change (1 item)" in r.stdout, r.stdout
    assert lab.snapshot() == before
    r = lab.fab("-H", "esb-w2", "setup-worker")
    assert r.returncode == 0, r.stdout + r.stderr
    for n in ("esb-mgr", "esb-w1"):
        assert f"[{n}] create-keystore (from esb-w2): changed (1 item)" in r.stdout, r.stdout
        assert (lab.hosts[n].home / TRUSTSTORE).read_bytes() != stores[n]
    no_secret(r)
    # a keystore is binary: a diff never prints its bytes, only sizes and digests (issue 31)
    r = lab.fab("-H", "esb-w2", "rollback", "--dry-run")
    assert r.returncode == 0 and "\0" not in r.stdout, r.stdout
    now = (lab.hosts["esb-mgr"].home / TRUSTSTORE).read_bytes()
    digest = lambda b: hashlib.sha256(b).hexdigest()[:12]
    assert (f"binary, {len(now):,} -> {len(stores['esb-mgr']):,} bytes, sha256 {digest(now)}.. -> "
            f"{digest(stores['esb-mgr'])}..") in r.stdout, r.stdout
    r = lab.fab("-H", "esb-w2", "rollback")
    assert r.returncode == 0, r.stdout + r.stderr
    for n in ESB:
        assert (lab.hosts[n].home / TRUSTSTORE).read_bytes() == stores[n], n
    assert "[esb-mgr] rollback: rolled back (1 item)" in r.stdout, r.stdout


VAULT_ON = "\n[security]\nkeystore = true\nvault = true\n"


def server_has_run(lab: Lab, name: str) -> None:
    log = lab.hosts[name].home / "repository/logs/wso2carbon.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("TID: [-1234] [] [2026-12-07 10:00:00,000]  INFO {x} -  WSO2 Carbon started in 12 sec {x}\n")


def test_after_rollback_all_a_node_whose_server_has_run_gets_its_own_key_back(lab: Lab, tmp_path):
    """rollback --all puts the shipped keystore back as the contract says, and keeps the node's own key (its server
    ran with it: what Carbon encrypted with it must stay readable); create-keystore then puts that key back instead
    of refusing, so the hardening converges again with no hand edit; the runs rollback --all undid are consumed."""
    setup(lab, tmp_path, VAULT_ON)
    r = lab.fab("-H", "manager,workers", "create-keystore", "secure-vault")
    assert r.returncode == 0, r.stdout + r.stderr
    ks = lab.hosts["esb-w1"].home / KEYSTORE
    own = ks.read_bytes()
    server_has_run(lab, "esb-w1")
    r = lab.fab("rollback", "--all")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "the node's own keystore is kept in" in r.stdout and ks.read_bytes() == (product_fixture() / KEYSTORE) \
        .read_bytes(), r.stdout
    kept = lab.state_dir("esb-w1") / "keystore-kept.jks"
    assert kept.read_bytes() == own and kept.stat().st_mode & 0o777 == 0o600
    r = lab.fab("rollback")
    assert r.returncode == 0 and "nothing to roll back" in r.stdout, r.stdout  # consumed by --all
    r = lab.fab("-H", "manager,workers", "create-keystore", "secure-vault")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "the node's own key, kept by rollback --all in" in r.stdout, r.stdout
    assert ks.read_bytes() == own
    no_secret(r)
    r = lab.fab("verify", "--steps", "create-keystore,secure-vault")
    assert r.returncode == 0, r.stdout + r.stderr


def test_without_a_kept_key_verify_recommends_rotate_keystore_and_it_works_from_the_shipped_key(lab: Lab, tmp_path):
    """The shipped key back (rollback --all of an older release kept none) on a node whose server has run:
    create-keystore refuses (a new key would lose what Carbon encrypted with the shipped one), verify names the
    command that works (rotate-keystore, never the refused create-keystore), and rotate-keystore opens the shipped
    keystore with the shipped password and carries its Secure Vault values to the new key."""
    setup(lab, tmp_path, VAULT_ON)
    assert lab.fab("-H", "manager,workers", "create-keystore", "secure-vault").returncode == 0
    server_has_run(lab, "esb-w1")
    assert lab.fab("rollback", "--all").returncode == 0
    (lab.state_dir("esb-w1") / "keystore-kept.jks").unlink()
    r = lab.fab("-H", "esb-w1", "create-keystore")
    assert r.returncode == 1 and "has run" in r.stdout and "rotate-keystore renews it" in r.stdout, r.stdout
    r = lab.fab("verify", "--steps", "create-keystore")
    assert r.returncode == 2 and "fab -H esb-w1 rotate-keystore" in r.stdout, r.stdout
    todo = r.stdout.split("to bring the cluster in sync, run in this order:")[1]
    assert "create-keystore" not in todo.replace("fab -H esb-mgr,esb-w2 create-keystore", ""), todo
    r = lab.fab("-H", "esb-w1", "rotate-keystore")
    assert r.returncode == 0, r.stdout + r.stderr
    r = lab.fab("-H", "manager,workers", "create-keystore", "secure-vault")
    assert r.returncode == 0, r.stdout + r.stderr
    no_secret(r)
    r = lab.fab("verify", "--steps", "create-keystore,secure-vault")
    assert r.returncode == 0, r.stdout + r.stderr
