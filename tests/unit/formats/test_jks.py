"""tasks.formats.jks against the keystores WSO2 ships (store and key password wso2carbon), and against keytool itself."""
from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tasks.formats import jks
from tasks.rules import KEYSTORE, TRUSTSTORE
from tests.unit.helpers import shipped

PW = "wso2carbon"


def test_the_shipped_keystore_opens_with_its_password_only():
    ks = jks.parse(shipped(KEYSTORE))
    assert list(ks.keys) == ["wso2carbon"] and ks.opens_with(PW)
    assert not ks.opens_with("wso2carbon ") and not ks.opens_with("")
    key = jks.private_key(ks.keys["wso2carbon"], PW)
    assert key.public_key().public_numbers() == ks.keys["wso2carbon"].cert.public_key().public_numbers()
    with pytest.raises(jks.JksError, match="does not open the key"):
        jks.unprotect(ks.keys["wso2carbon"], "wrong")


def test_encrypt_then_decrypt_with_the_key_in_any_alphabet():
    entry = jks.parse(shipped(KEYSTORE)).keys["wso2carbon"]
    key = jks.private_key(entry, PW)
    for text in ("wso2carbon", "Contraseña€", "日本語", ""):
        c = jks.encrypt(entry.cert, text)
        assert jks.decrypt(key, c) == text and c != jks.encrypt(entry.cert, text)  # random padding
    other = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    foreign = other.public_key().encrypt("Contraseña€".encode(), padding.PKCS1v15())
    assert jks.decrypt(key, foreign) != "Contraseña€"  # another key's value: None (or noise), never the secret


def test_the_shipped_trust_store_and_a_rewrite_that_keeps_every_entry():
    data = shipped(TRUSTSTORE)
    ts = jks.parse(data)
    assert ts.opens_with(PW) and not ts.keys and len(ts.certs) >= 2
    cert = jks.parse(shipped(KEYSTORE)).keys["wso2carbon"].chain[0]
    when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    new = jks.with_trusted(data, {"Esb-W1": cert}, "Nuevo€pass9", when)
    again = jks.parse(new)
    assert again.opens_with("Nuevo€pass9") and not again.opens_with(PW)
    assert again.certs["esb-w1"] == cert  # JKS aliases are lower case
    assert {a: c for a, c in again.certs.items() if a != "esb-w1"} == ts.certs
    # the same alias again replaces the entry instead of adding one
    assert len(jks.parse(jks.with_trusted(new, {"esb-w1": ts.all_certs()[0]}, PW)).certs) == len(again.certs)
    assert jks.with_trusted(data, {}, PW) == data  # nothing to add, same password: the same bytes


@pytest.mark.parametrize("data, says", [
    (b"PK\3\4 a zip", "not a JKS keystore"), (b"\x30\x82\x01\x00", "looks like PKCS12"),
    (b"\xce\xce\xce\xce\0\0\0\2", "looks like JCEKS"), (b"\xfe\xed\xfe\xed\0\0\0\2\0\0\0\5", "truncated"),
    (b"", "not a JKS keystore")])
def test_what_is_not_a_readable_jks_is_named(data, says):
    with pytest.raises(jks.JksError, match=says):
        jks.parse(data)


@pytest.mark.skipif(not shutil.which("keytool"), reason="needs keytool")
def test_keytool_reads_the_rewritten_trust_store_with_a_non_ascii_password(tmp_path):
    cert = jks.parse(shipped(KEYSTORE)).keys["wso2carbon"].chain[0]
    store = tmp_path / "t.jks"
    store.write_bytes(jks.with_trusted(shipped(TRUSTSTORE), {"esb-mgr": cert}, "Llavé€9xyz"))
    (tmp_path / "pw").write_text("Llavé€9xyz\n", encoding="utf-8")
    r = subprocess.run(["keytool", "-J-Dfile.encoding=UTF-8", "-list", "-keystore", str(store), "-storepass:file",
                        str(tmp_path / "pw")], capture_output=True, text=True, env={"LC_ALL": "C.UTF-8", "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0 and "esb-mgr, " in r.stdout, r.stdout + r.stderr


def test_a_certificate_of_another_kind_of_key_is_refused_for_secure_vault():
    """A node's keystore is untrusted input: an EC certificate gets a clear refusal, not a crash."""
    import datetime

    from cryptography import x509 as cx509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "esb-w1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (cx509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    with pytest.raises(jks.JksError, match="holds no RSA key"):
        jks.encrypt(cert, "secret-ñ-42")
