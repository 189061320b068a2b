"""Node keys on day two (issue 23): verify warns 30 days before a node certificate expires and calls an expired one
drift; `fab rotate-keystore` renews the keys of running nodes (create-keystore refuses: their servers have run),
carries every Secure Vault value to the new key (Java decrypts them), updates every trust store, reports the
restart each node needs, and converges. Real sshd hosts, the node's own keytool, the product's start script with
the stand-in JDK and Carbon (with Secure Vault on it opens the keystore with password-tmp). Time passing is
libfaketime on the fab process: the node certificates are made with the real clock."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from cryptography import x509

from tasks.formats import jks
from tasks.rules import CIPHER_TEXT, KEYSTORE, TRUSTSTORE
from tests.acceptance.cluster import DB_PW, ESB, SVN_PW, node_config
from tests.acceptance.test_hardening import ADMIN_PW, JAVA, KEYTOOL, KS_PW, SECRETS, java_decrypt, pwfile
from tests.lab import REPO, Lab, fab_bin
from tests.standin.jdk import kill_servers, make_jdk

pytestmark = [pytest.mark.skipif(not (JAVA and KEYTOOL), reason="needs Java (default-jre-headless)"),
              pytest.mark.skipif(not shutil.which("faketime"), reason="needs faketime (libfaketime)")]
SETUP = ("configure-datasources", "enable-depsync", "patch-axis2", "set-hostnames", "set-worker-profile",
         "create-keystore", "secure-vault")


@pytest.fixture
def hardened(tmp_path):
    """Three ESB nodes with their own keys (certs.days = 365, the default) and Secure Vault, started."""
    lab = Lab.create(n_workers=2, first_octet=120)
    jdk = make_jdk(lab.dir / "jdk8-stand-in", start_delay=0.5, stop_delay=0.3)
    try:
        node_config(lab, tmp_path, "\n[security]\nkeystore = true\nvault = true\n"
                                   "\n[run]\nstart_timeout = 30\nstop_timeout = 10\ndrain_seconds = 0\n")
        lab.write_toml(lab.toml().replace("connect_timeout = 5\n", f'connect_timeout = 5\njava_home = "{jdk}"\n', 1))
        lab.write_env(WSO2_DB_PASSWORD=DB_PW, SVN_PASSWORD=SVN_PW, KEYSTORE_PASSWORD=KS_PW, ADMIN_PASSWORD=ADMIN_PW)
        r = lab.fab("-H", "manager,workers", *SETUP)
        assert r.returncode == 0, r.stdout + r.stderr
        r = lab.fab("start", "--force")  # SETUP writes what the stand-in reads; the other node steps drift
        assert r.returncode == 0, r.stdout + r.stderr
        yield lab
    finally:
        kill_servers(lab)
        lab.close()


def fab_at(lab, offset: str, *args: str) -> subprocess.CompletedProcess:
    """fab with this machine's clock moved by offset (libfaketime), as on the day it stands for."""
    return subprocess.run(["faketime", "-f", offset, fab_bin(), *args], cwd=REPO, env=lab.fab_env(),
                          capture_output=True, text=True, timeout=180)


def certs(lab) -> dict[str, bytes]:
    return {n: jks.parse((lab.hosts[n].home / KEYSTORE).read_bytes()).keys["wso2carbon"].chain[0] for n in ESB}


def no_secret(r) -> None:
    for s in SECRETS:
        assert s not in r.stdout + r.stderr


def test_expiry_is_warned_then_drift_and_rotate_keystore_renews_running_nodes_and_converges(hardened, tmp_path):
    lab = hardened
    old = certs(lab)
    # 25 days before the certificates expire: a warning with its fix, exit 0
    r = fab_at(lab, "+340d", "verify", "--steps", "create-keystore", "--json")
    doc = json.loads(r.stdout)
    assert r.returncode == 0, json.dumps(doc, indent=1)
    for n in ESB:
        warned = doc["hosts"][n]["create-keystore"].get("warnings", [])
        assert any(w["what"] == "notAfter" and "expires in" in w["actual"] and w.get("fix") == f"fab -H {n} rotate-keystore"
                   for w in warned), warned
    # expired: drift; create-keystore refuses a node whose server has run and names rotate-keystore
    r = fab_at(lab, "+370d", "verify", "--steps", "create-keystore")
    assert r.returncode == 2 and "(expired)" in r.stdout, r.stdout
    before = lab.snapshot()
    r = fab_at(lab, "+370d", "-H", "esb-w1", "create-keystore")
    assert r.returncode == 1 and "rotate-keystore" in r.stdout, r.stdout
    assert lab.snapshot() == before
    # a dry-run changes nothing; rotate-keystore on the day the warning starts
    r = fab_at(lab, "+340d", "rotate-keystore", "--dry-run")
    assert r.returncode == 0 and r.stdout.count("rotate-keystore: would change") == 3, r.stdout
    assert lab.snapshot() == before
    r = fab_at(lab, "+340d", "rotate-keystore")
    assert r.returncode == 0, r.stdout + r.stderr
    no_secret(r)
    assert "restart needed on esb-mgr, esb-w1, esb-w2" in r.stdout, r.stdout
    new = certs(lab)
    assert all(new[n] != old[n] for n in ESB)
    for n in ESB:  # Java opens each keystore and decrypts every value back to the secrets, with the new key
        home = lab.hosts[n].home
        values = set(java_decrypt(home / KEYSTORE, home / CIPHER_TEXT, pwfile(tmp_path)).values())
        assert values and values <= set(SECRETS), n
        trusted = set(jks.parse((home / TRUSTSTORE).read_bytes()).all_certs())
        assert set(new.values()) <= trusted, n  # every node's new certificate, in every trust store
        assert x509.load_der_x509_certificate(new[n]).subject.rfc4514_string().startswith("CN=")
    r = lab.fab("verify", "--steps", "create-keystore,secure-vault", "--json")
    doc = json.loads(r.stdout)
    assert r.returncode == 0, json.dumps(doc, indent=1)
    assert not any(doc["hosts"][n][s].get("warnings") for n in ESB for s in ("create-keystore", "secure-vault")), doc
    # the running servers hold the old key until they restart; with it the cluster converges
    r = lab.fab("rolling-restart", "--needed")
    assert r.returncode == 0 and r.stdout.count("rolling-restart: changed") == 3, r.stdout + r.stderr
    for n in ESB:
        text = (lab.hosts[n].home / "repository/logs/wso2carbon.log").read_text()
        assert "keystore password read from password-tmp" in text.rsplit("Starting WSO2 Carbon", 1)[1]
    r = lab.fab("rotate-keystore")
    assert r.returncode == 0 and r.stdout.count("rotate-keystore: ok") == 3, r.stdout
    assert certs(lab) == new


def test_rotate_keystore_force_renews_one_node_now_and_refuses_a_value_it_cannot_carry(hardened, tmp_path):
    lab = hardened
    old = certs(lab)
    r = lab.fab("-H", "esb-w2", "rotate-keystore")
    assert r.returncode == 0 and "rotate-keystore: ok" in r.stdout, r.stdout  # not due: nothing
    r = lab.fab("-H", "esb-w2", "rotate-keystore", "--force")
    assert r.returncode == 0, r.stdout + r.stderr
    new = certs(lab)
    assert new["esb-w2"] != old["esb-w2"] and all(new[n] == old[n] for n in ("esb-mgr", "esb-w1"))
    for n in ESB:
        assert new["esb-w2"] in set(jks.parse((lab.hosts[n].home / TRUSTSTORE).read_bytes()).all_certs())
    # a value that does not decrypt with the current key would be lost with it: refused, nothing changed
    ct = lab.hosts["esb-w1"].home / CIPHER_TEXT
    ct.write_text(ct.read_text() + "Hand.Added.Secret=" + "QUJD" * 32 + "\n")
    before = lab.snapshot()
    r = lab.fab("-H", "esb-w1", "rotate-keystore", "--force")
    assert r.returncode == 1 and "Hand.Added.Secret" in r.stdout and "not replaced" in r.stdout, r.stdout
    assert lab.snapshot() == before
    # a cipher-text.properties a node planted as a link (to a root-only file) is refused before it is read
    secret = lab.dir / "root-only.properties"
    secret.write_text("planted.key.one=x\n")
    os.chmod(secret, 0o600)
    ct = lab.hosts["esb-mgr"].home / CIPHER_TEXT
    ct.unlink()
    ct.symlink_to(secret)
    before = lab.snapshot()
    r = lab.fab("-H", "esb-mgr", "rotate-keystore", "--force")
    assert r.returncode == 1 and "not a plain file" in r.stdout and "planted.key.one" not in r.stdout, r.stdout
    assert lab.snapshot() == before and certs(lab)["esb-mgr"] == new["esb-mgr"]
