"""create-certs: the pure pair check, openssl output parsing, the renewal script, targets, key_bits refusal."""
from __future__ import annotations

import re
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID

from tasks.config import ConfigError
from tasks.engine.context import StepError
from tasks.steps.certs import (CreateCerts, PairState, cert_hostnames, check_pair, chmod_command,
                               needs_renewal, parse_pubkeys, pubkey_command, renew_script)
from tests.unit.helpers import base_data, inventory
from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat, load_pem_private_key

from tests.memnode import MemoryNode
from tests.unit.helpers import patch_on, plan_on, whats

H = "esb.wso2.com"
D = "/etc/ssl/wso2"
NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def cert_pem(key, cn=H, san=(H,), days=365, algo=None, start=NOW - timedelta(days=1)) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    b = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
         .serial_number(1).not_valid_before(start).not_valid_after(start + timedelta(days=days)))
    if san:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in san]), critical=False)
    return b.sign(key, algo or hashes.SHA256()).public_bytes(Encoding.PEM)


def pub_pem(key) -> bytes:
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def lines(state: PairState, bits: int = 2048, now=NOW) -> list[str]:
    return [i.line() for i in check_pair(state, D, bits, now)]


def test_a_valid_pair_has_no_items(key):
    assert lines(PairState(H, 0o600, pub_pem(key), None, cert_pem(key))) == []


def test_absent_pair():
    assert lines(PairState(H)) == [f"{D}/{H}.key: private key: wanted 'present', actual (absent)",
                                   f"{D}/{H}.crt: certificate: wanted 'present', actual (absent)"]


def test_wrong_cn_san_mode_and_mismatched_key(key):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    got = lines(PairState(H, 0o644, pub_pem(other), None, cert_pem(key, cn="other.example.com", san=())))
    assert got == [
        f"{D}/{H}.key: mode: wanted '0600', actual '0644'",
        f"{D}/{H}.crt: subject CN: wanted 'esb.wso2.com', actual 'other.example.com'",
        f"{D}/{H}.crt: subjectAltName: wanted 'DNS:esb.wso2.com', actual (absent)",
        f"{D}/{H}.key: matches certificate: wanted 'yes', actual 'no'",
    ]


def test_extra_san_weak_hash_small_key_and_unreadable_key():
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = cert_pem(small, san=(H, "www.example.com"), algo=hashes.SHA224())
    got = lines(PairState(H, 0o600, None, "unreadable or encrypted (bad decrypt)", pem))
    assert got == [
        f"{D}/{H}.key: private key: wanted 'readable, unencrypted', actual 'unreadable or encrypted (bad decrypt)'",
        f"{D}/{H}.crt: signature hash: wanted 'sha256', actual 'sha224'",
        f"{D}/{H}.crt: RSA key bits: wanted '>= 2048', actual '1024'",
    ]


def test_other_names_beside_the_hostname_are_accepted(key):
    """A CA-issued certificate often names several hosts: the hostname among them is enough."""
    assert lines(PairState(H, 0o600, pub_pem(key), None, cert_pem(key, san=("www.example.com", H)))) == []
    assert lines(PairState(H, 0o600, pub_pem(key), None, cert_pem(key, san=("www.example.com",)))) == [
        f"{D}/{H}.crt: subjectAltName: wanted 'DNS:esb.wso2.com', actual 'DNS:www.example.com'"]


def test_only_a_wrong_key_mode_keeps_the_pair(key):
    """A loose mode is fixed with chmod; anything else about the pair makes a new one."""
    loose = check_pair(PairState(H, 0o640, pub_pem(key), None, cert_pem(key)), D, 2048, NOW)
    assert [i.what for i in loose] == ["mode"] and not needs_renewal(loose)
    expired = check_pair(PairState(H, 0o640, pub_pem(key), None, cert_pem(key, days=3)), D, 2048, NOW)
    assert [i.what for i in expired] == ["mode", "notAfter"] and needs_renewal(expired)
    assert needs_renewal(check_pair(PairState(H), D, 2048, NOW))
    assert not needs_renewal([])
    assert chmod_command([f"{D}/a b.key", f"{D}/c.key"]) == f"chmod 600 '{D}/a b.key' {D}/c.key"


def test_expiry_within_30_days_is_drift_and_expired_says_so(key):
    pem = cert_pem(key, days=20, start=NOW - timedelta(days=1))
    assert lines(PairState(H, 0o600, pub_pem(key), None, pem)) == [
        f"{D}/{H}.crt: notAfter: wanted 'more than 30 days ahead', actual '2026-06-20 00:00Z (expires in 19 days)'"]
    assert "(expired)" in lines(PairState(H, 0o600, pub_pem(key), None, pem), now=NOW + timedelta(days=40))[0]
    assert lines(PairState(H, 0o600, pub_pem(key), None, cert_pem(key, days=32))) == []
    future = cert_pem(key, start=NOW + timedelta(days=2))
    assert "notBefore" in lines(PairState(H, 0o600, pub_pem(key), None, future))[0]


def test_garbage_certificate():
    assert lines(PairState(H, 0o600, None, None, b"not a pem")) == [
        f"{D}/{H}.crt: certificate: wanted 'a PEM X.509 certificate', actual 'unparsable'"]


def test_parse_pubkeys(key):
    out = (f"=== {D}/a.key\n{pub_pem(key).decode()}"
           f"=== {D}/b.key\nCould not read private key from {D}/b.key\n4027:error:bad decrypt\n")
    got = parse_pubkeys(out)
    assert got[f"{D}/a.key"] == (pub_pem(key).strip(), None)
    assert got[f"{D}/b.key"] == (None, f"unreadable or encrypted (Could not read private key from {D}/b.key)")


def test_renewal_script_and_pubkey_command_run_with_real_openssl(tmp_path):
    d = tmp_path / "certs" / "sub"
    script = renew_script(str(d), ["a.example.com"], 2048, 400)
    assert "-des3" not in script and "-nodes" in script and "-sha256" in script
    assert script.index("umask 077") < script.index("openssl req")
    subprocess.run(["sh", "-c", script], check=True, capture_output=True)
    assert sorted(p.name for p in d.iterdir()) == ["a.example.com.crt", "a.example.com.key"]
    assert (d / "a.example.com.key").stat().st_mode & 0o777 == 0o600
    assert (d / "a.example.com.crt").stat().st_mode & 0o777 == 0o644
    assert d.stat().st_mode & 0o777 == 0o755
    assert b"ENCRYPTED" not in (d / "a.example.com.key").read_bytes()
    out = subprocess.run(pubkey_command([str(d / "a.example.com.key")]), shell=True, capture_output=True,
                         text=True).stdout
    assert "PRIVATE" not in out
    pub, err = parse_pubkeys(out)[str(d / "a.example.com.key")]
    state = PairState("a.example.com", 0o600, pub, err, (d / "a.example.com.crt").read_bytes())
    assert check_pair(state, str(d), 2048, datetime.now(timezone.utc)) == []
    cert = x509.load_pem_x509_certificate(state.cert)
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days == 400


def test_key_bits_below_2048_is_refused_in_hosts_toml():
    data = base_data()
    data["certs"] = {"key_bits": 1024}
    with pytest.raises(ConfigError) as e:
        inventory(data)
    assert str(e.value).startswith("/etc/esb/hosts.toml: [certs].key_bits: 1024 is refused: RSA keys below 2048 bits")
    data["certs"] = {"key_bits": 4096}
    assert inventory(data).certs.key_bits == 4096


def test_default_targets_lb_else_manager_and_hostnames():
    data = base_data()
    step = CreateCerts()
    inv = inventory(data)
    assert [h.name for h in step.default_targets(inv)] == ["esb-mgr"]
    assert cert_hostnames(inv) == ["esb.wso2.com", "mgt.esb.wso2.com"]
    data["hosts"]["lb1"] = {"address": "192.168.1.10", "role": "lb"}
    inv = inventory(data)
    assert [h.name for h in step.default_targets(inv)] == ["lb1"]
    assert step.applies_to(inv.hosts["db1"], inv).startswith("certificates go on")
    assert step.applies_to(inv.hosts["esb-w1"], inv) is None


def test_a_host_clock_a_few_minutes_ahead_is_no_drift(key):
    """A pair made a moment ago on a host whose clock runs ahead: valid, not renewed on every run."""
    ahead = cert_pem(key, start=NOW + timedelta(minutes=5))
    assert lines(PairState(H, 0o600, pub_pem(key), None, ahead)) == []
    later = cert_pem(key, start=NOW + timedelta(minutes=11))
    assert "notBefore" in lines(PairState(H, 0o600, pub_pem(key), None, later))[0]


def test_tightening_a_key_that_became_a_link_is_refused(tmp_path):
    import os
    import subprocess
    from tasks.steps.certs import guarded
    victim = tmp_path / "victim"
    victim.write_text("x")
    os.chmod(victim, 0o644)
    key = tmp_path / "a.key"
    os.symlink(victim, key)
    r = subprocess.run(guarded(chmod_command([str(key)]), [str(key)]), shell=True, capture_output=True, text=True)
    assert r.returncode == 3 and "a symbolic link; refused" in r.stderr
    assert victim.stat().st_mode & 0o777 == 0o644


# ---------------------------------------------------------------- the step on a node in memory (tests/memnode.py)
# openssl's part is played by `cryptography` in the node's command answers: the renewal script makes
# each pair it names (ESB_CN=...), the public-key command prints each key's public half. What the real
# openssl does with the script is test_renewal_script_and_pubkey_command_run_with_real_openssl's.

MGT = "mgt.esb.wso2.com"


def openssl_node(host, key) -> MemoryNode:
    node = MemoryNode(host)
    node.add_dir("/etc", uid=0, gid=0)
    node.on(r"^test -w /etc$", (0, "", ""))
    now = datetime.now(timezone.utc)

    def renew(command, stdin, sudo):
        for cn in re.findall(r"ESB_CN=(\S+) openssl req", command):
            node.add_dir(D)
            node.add_file(f"{D}/{cn}.key", key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()), 0o600)
            node.add_file(f"{D}/{cn}.crt", cert_pem(key, cn, (cn,), start=now - timedelta(minutes=1)), 0o644)
        return 0, "", ""

    def pubkeys(command, stdin, sudo):
        out = ""
        for k in re.findall(r"(/\S+?\.key)", command.split("; do")[0]):
            out += f"=== {k}\n" + pub_pem(load_pem_private_key(node.data(k), None)).decode()
        return 0, out, ""
    node.on(r"ESB_CN=", renew)
    node.on(r"openssl pkey", pubkeys)
    return node


def test_create_certs_plans_both_pairs_on_a_new_host_and_a_made_pair_converges(key):
    inv = inventory()
    node = openssl_node(inv.hosts["esb-mgr"], key)
    plan, _ = plan_on(CreateCerts(), node, inv)
    assert whats(plan) == [(D, "directory")] + [
        (f"{D}/{n}.{ext}", what) for n in (H, MGT) for ext, what in (("key", "private key"), ("crt", "certificate"))]
    assert [a.describe().startswith("set -e; umask 022; mkdir -p -- /etc/ssl/wso2") for a in plan.actions] == [True]
    patch_on(CreateCerts(), node, inv)
    assert node.commands[-1][1] is True and "ESB_CN=mgt.esb.wso2.com" in node.commands[-1][0]
    again, _ = plan_on(CreateCerts(), node, inv)
    assert not again, [i.line() for i in again.items]
    assert node.commands[-1][1] is True and "openssl pkey" in node.commands[-1][0]  # the key read as root, on the host


def test_create_certs_tightens_a_loose_key_alone_and_renews_a_pair_that_does_not_match(key):
    inv = inventory()
    node = openssl_node(inv.hosts["esb-mgr"], key)
    patch_on(CreateCerts(), node, inv)
    node.chmod(f"{D}/{H}.key", 0o644)
    plan, _ = plan_on(CreateCerts(), node, inv)
    assert [i.line() for i in plan.items] == [f"{D}/{H}.key: mode: wanted '0600', actual '0644'"]
    assert [a.describe() for a in plan.actions] == [f"chmod 600 {D}/{H}.key"]
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    node.add_file(f"{D}/{MGT}.crt", cert_pem(other, MGT, (MGT,), start=datetime.now(timezone.utc)))
    plan, _ = plan_on(CreateCerts(), node, inv)
    assert whats(plan)[-1] == (f"{D}/{MGT}.key", "matches certificate")
    assert "ESB_CN=mgt.esb.wso2.com" in plan.actions[0].describe() and "ESB_CN=esb.wso2.com " not in \
        plan.actions[0].describe()


def test_create_certs_refuses_a_certs_dir_it_cannot_make(key):
    inv = inventory()
    node = openssl_node(inv.hosts["esb-mgr"], key)
    node.answers.clear()
    node.on(r"^test -w /etc$", (1, "", ""))
    with pytest.raises(StepError, match=r"\[certs\].dir /etc/ssl/wso2 cannot be created on esb-mgr: /etc is not "
                                        r"writable by wso2 \(set sudo = true"):
        plan_on(CreateCerts(), node, inv)
    node.add_file(D, b"a file")
    with pytest.raises(StepError, match="is not a directory"):
        plan_on(CreateCerts(), node, inv)
