"""create-keystore's pure verdicts (steps/keystorecheck.py): a keystore, a trust store (the password rule:
tests/unit/engine/test_keystore.py)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tasks.formats import jks
from tasks.rules import KEYSTORE, TRUSTSTORE
from tasks.engine.context import StepError
from tasks.rules import is_shipped
from tasks.steps.keystorecheck import check_keystore, check_truststore
from tests.unit.helpers import shipped

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)


def test_the_shipped_keystore_is_recognised_and_due_for_a_new_key():
    s = check_keystore(shipped(KEYSTORE), KEYSTORE, "Strong€Pass1", "mgt.esb.wso2.com", "192.168.1.12", 2048, NOW)
    assert s.shipped and s.renew and s.refuse is None and s.cert is None
    assert [i.actual for i in s.items] == ["the shipped one (CN=localhost, in every download)"]
    assert is_shipped(jks.parse(shipped(KEYSTORE)))


def test_an_absent_keystore_is_made_and_a_foreign_one_is_refused():
    s = check_keystore(None, KEYSTORE, "Strong€Pass1", "cn", "10.0.0.1", 2048, NOW)
    assert s.renew and s.refuse is None
    no_key = jks.with_trusted(shipped(TRUSTSTORE), {}, "Strong€Pass1")  # a JKS without the key entry
    s = check_keystore(no_key, KEYSTORE, "Strong€Pass1", "cn", "10.0.0.1", 2048, NOW)
    assert not s.renew and "holds no key 'wso2carbon'" in s.refuse


@pytest.mark.parametrize("data, says", [(b"\x30\x82junk", "looks like PKCS12"), (b"garbage!", "not a JKS keystore")])
def test_a_keystore_that_is_not_jks_is_a_clear_error(data, says):
    with pytest.raises(StepError, match=f"{says}.*nothing was changed"):
        check_keystore(data, KEYSTORE, "Strong€Pass1", "cn", "10.0.0.1", 2048, NOW)


def test_the_trust_store_must_trust_every_node_and_open_with_the_password():
    cert = jks.parse(shipped(KEYSTORE)).keys["wso2carbon"].chain[0]
    items, add, refuse = check_truststore(shipped(TRUSTSTORE), TRUSTSTORE, "Strong€Pass1",
                                          {"esb-mgr": cert, "esb-w1": None})
    assert refuse is None and add == {}  # the shipped certificate is a shipped entry already
    whats = [i.what for i in items]
    assert whats[0] == "password" and items[0].secret  # the shipped password, re-keyed to KEYSTORE_PASSWORD
    assert "trusts esb-w1's certificate" in whats  # its key is about to be made
    # the shipped certificate is in the shipped trust store already: nothing to add for it
    assert "esb-mgr" not in add
    other = jks.with_trusted(shipped(TRUSTSTORE), {}, "Another€Pass1")
    items, add, refuse = check_truststore(other, TRUSTSTORE, "Strong€Pass1", {})
    assert "opens neither" in refuse
    items, add, refuse = check_truststore(None, TRUSTSTORE, "Strong€Pass1", {})
    assert "is missing" in refuse


@pytest.mark.skipif(not __import__("shutil").which("keytool"), reason="needs keytool")
def test_a_keystore_of_another_password_is_refused_and_ours_is_kept(tmp_path):
    import subprocess
    ks = tmp_path / "k.jks"
    subprocess.run(["keytool", "-genkeypair", "-alias", "wso2carbon", "-keyalg", "RSA", "-keysize", "2048",
                    "-dname", "CN=esb.wso2.com", "-ext", "SAN=dns:esb.wso2.com,ip:192.168.1.13", "-keystore", str(ks),
                    "-storetype", "JKS", "-storepass", "Other-pass-1", "-keypass", "Other-pass-1"],
                   check=True, capture_output=True)
    now = datetime.now(timezone.utc) - timedelta(minutes=5)  # a host whose clock runs 5 minutes ahead of ours
    s = check_keystore(ks.read_bytes(), KEYSTORE, "Strong€Pass1", "esb.wso2.com", "192.168.1.13", 2048, now)
    assert not s.renew and "does not open with KEYSTORE_PASSWORD" in s.refuse  # never replaced: data would be lost
    s = check_keystore(ks.read_bytes(), KEYSTORE, "Other-pass-1", "esb.wso2.com", "192.168.1.13", 2048, now)
    assert s.items == [] and not s.renew and s.refuse is None and s.cert is not None  # the node's own: kept
    s = check_keystore(ks.read_bytes(), KEYSTORE, "Other-pass-1", "mgt.esb.wso2.com", "192.168.1.13", 2048, now)
    assert s.renew and [i.what for i in s.items][:2] == ["subject CN", "subjectAltName"]  # another name: a new key


def test_a_certificate_that_still_works_for_under_30_days_is_a_warning_an_expired_one_drift():
    from tasks.engine.plan import Item
    from tasks.steps.keystorecheck import split_expiring
    soon = Item("k", "notAfter", "more than 30 days ahead", "2027-01-01 00:00Z (expires in 12 days)")
    gone = Item("k", "notAfter", "more than 30 days ahead", "2026-01-01 00:00Z (expired)")
    cn = Item("k", "subject CN", "a", "b")
    assert split_expiring([cn, soon]) == ([cn], [soon])
    assert split_expiring([gone, cn]) == ([gone, cn], [])
