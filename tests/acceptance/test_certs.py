"""create-certs against the real sshd lab with the real openssl: pairs made on the host, verify, renewal, bad input."""
from __future__ import annotations

import json
import subprocess

from tests.acceptance.util import open_backups, recorded_modes

HOSTNAMES = ("esb.wso2.com", "mgt.esb.wso2.com")


def use_certs_dir(lab, d, extra: str = "") -> None:
    lab.extra_toml = f'[certs]\ndir = "{d}"\ndays = 365\n{extra}'
    lab.write_toml()


def openssl(*args: str) -> str:
    return subprocess.run(["openssl", *args], check=True, capture_output=True, text=True).stdout


def test_makes_both_pairs_on_the_manager_then_changes_nothing(lab):
    d = lab.hosts["esb-mgr"].root / "ssl" / "wso2"
    use_certs_dir(lab, d)
    before = lab.snapshot()
    r = lab.fab("create-certs", "--dry-run")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "# would run: set -e; umask 022; mkdir -p" in r.stdout and "-nodes -sha256 -days 365" in r.stdout
    assert lab.snapshot() == before and not d.exists()

    r = lab.fab("create-certs")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "[esb-mgr] create-certs: changed (5 items)" in r.stdout and "esb-w1" not in r.stdout
    assert sorted(p.name for p in d.iterdir()) == sorted(f"{h}.{x}" for h in HOSTNAMES for x in ("crt", "key"))
    for h in HOSTNAMES:
        key, crt = d / f"{h}.key", d / f"{h}.crt"
        assert key.stat().st_mode & 0o777 == 0o600
        assert b"ENCRYPTED" not in key.read_bytes()
        text = openssl("x509", "-in", str(crt), "-noout", "-subject", "-ext", "subjectAltName", "-text")
        assert f"subject=CN = {h}" in text and f"DNS:{h}" in text
        assert "sha256WithRSAEncryption" in text and "Public-Key: (2048 bit)" in text
        assert openssl("pkey", "-in", str(key), "-pubout") == openssl("x509", "-in", str(crt), "-noout", "-pubkey")

    before = lab.snapshot()
    r = lab.fab("create-certs")
    assert r.returncode == 0 and "[esb-mgr] create-certs: ok" in r.stdout
    assert lab.snapshot() == before  # bytes and mtimes
    assert lab.fab("create-certs", "--verify").returncode == 0


def test_verify_flags_a_certificate_for_another_cn_and_patch_renews_only_that_pair(lab):
    d = lab.hosts["esb-mgr"].root / "ssl"
    use_certs_dir(lab, d)
    assert lab.fab("create-certs").returncode == 0
    crt = d / "esb.wso2.com.crt"
    openssl("req", "-x509", "-key", str(d / "esb.wso2.com.key"), "-subj", "/CN=other.example.com",
            "-days", "365", "-out", str(crt))
    mgt = {p: p.stat().st_mtime_ns for p in d.glob("mgt.*")}
    before = lab.snapshot()
    r = lab.fab("create-certs", "--verify")
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"{crt}: subject CN: wanted 'esb.wso2.com', actual 'other.example.com'" in r.stdout
    assert f"{crt}: subjectAltName: wanted 'DNS:esb.wso2.com', actual (absent)" in r.stdout
    assert lab.snapshot() == before
    j = json.loads(lab.fab("create-certs", "--verify", "--json").stdout)
    assert j["exit"] == 2 and j["hosts"]["esb-mgr"]["create-certs"]["status"] == "drift"

    r = lab.fab("create-certs")
    assert r.returncode == 0 and "changed (2 items)" in r.stdout
    assert "subject=CN = esb.wso2.com" in openssl("x509", "-in", str(crt), "-noout", "-subject")
    assert {p: p.stat().st_mtime_ns for p in d.glob("mgt.*")} == mgt  # the valid pair was left alone
    assert lab.fab("create-certs", "--verify").returncode == 0
    # the replaced pair was backed up on the host (key copied there, never read over SFTP)
    backups = sorted((lab.state_dir("esb-mgr") / "backups").glob("*/files/*"))
    assert [b.name.split("-", 1)[1] for b in backups[-2:]] == ["esb.wso2.com.key", "esb.wso2.com.crt"]
    assert "other.example.com" in openssl("x509", "-in", str(backups[-1]), "-noout", "-subject")
    # the certificate was 0644: its backup (made on the host by `cp -p`) is private all the same (it was
    # 0644), and the manifest records the certificate's own mode for rollback
    assert backups[-1].stat().st_mode & 0o777 == 0o600 and open_backups(lab, "esb-mgr") == {}
    assert recorded_modes(lab, "esb-mgr")[str(crt)] == 0o644


def test_expiring_soon_and_a_readable_key_are_drift(lab):
    d = lab.hosts["esb-mgr"].root / "ssl"
    use_certs_dir(lab, d)
    assert lab.fab("create-certs").returncode == 0
    openssl("req", "-x509", "-key", str(d / "esb.wso2.com.key"), "-subj", "/CN=esb.wso2.com", "-addext",
            "subjectAltName=DNS:esb.wso2.com", "-days", "10", "-out", str(d / "esb.wso2.com.crt"))
    (d / "mgt.esb.wso2.com.key").chmod(0o644)
    mgt = {p.name: p.read_bytes() for p in d.glob("mgt.*")}
    old_key = (d / "esb.wso2.com.key").read_bytes()
    r = lab.fab("create-certs", "--verify")
    assert r.returncode == 2
    assert "esb.wso2.com.crt: notAfter: wanted 'more than 30 days ahead', actual" in r.stdout
    assert "(expires in 9 days)" in r.stdout
    assert f"{d}/mgt.esb.wso2.com.key: mode: wanted '0600', actual '0644'" in r.stdout
    r = lab.fab("create-certs", "--dry-run")
    assert f"# would run: chmod 600 {d}/mgt.esb.wso2.com.key" in r.stdout
    assert lab.fab("create-certs").returncode == 0
    assert (d / "mgt.esb.wso2.com.key").stat().st_mode & 0o777 == 0o600
    # the loose key was kept (only its mode changed); the expiring pair was renewed
    assert {p.name: p.read_bytes() for p in d.glob("mgt.*")} == mgt
    assert (d / "esb.wso2.com.key").read_bytes() != old_key
    assert lab.fab("create-certs", "--verify").returncode == 0
    assert open_backups(lab, "esb-mgr") == {}  # the loose key's backup and the pair's: private
    crt_mode = (d / "esb.wso2.com.crt").stat().st_mode & 0o777
    r = lab.fab("rollback")  # puts back the expiring pair and the old mode
    assert r.returncode == 0, r.stdout + r.stderr
    assert (d / "mgt.esb.wso2.com.key").stat().st_mode & 0o777 == 0o644
    assert (d / "esb.wso2.com.crt").stat().st_mode & 0o777 == crt_mode == 0o644  # not its backup's 0600
    assert (d / "esb.wso2.com.key").read_bytes() == old_key


def test_key_bits_1024_is_refused_before_anything_changes(lab):
    d = lab.hosts["esb-mgr"].root / "ssl"
    use_certs_dir(lab, d, "key_bits = 1024\n")
    before = lab.snapshot()
    r = lab.fab("create-certs")
    assert r.returncode == 1
    assert "[certs].key_bits: 1024 is refused: RSA keys below 2048 bits can be factored" in r.stderr
    assert lab.snapshot() == before and not d.exists()


def test_a_certs_dir_that_cannot_be_created_fails_cleanly(lab):
    d = lab.hosts["esb-mgr"].hosts_file / "ssl"  # below a regular file
    use_certs_dir(lab, d)
    before = lab.snapshot()
    r = lab.fab("create-certs")
    assert r.returncode == 1
    assert (f"[esb-mgr] create-certs: failed: [certs].dir {d} cannot be created on esb-mgr: "
            f"{lab.hosts['esb-mgr'].hosts_file} is not a directory") in r.stdout
    assert lab.snapshot() == before
