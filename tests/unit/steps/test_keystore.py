"""create-keystore's own part (steps/keystore.py): the script that makes a node's key on the node."""
from __future__ import annotations

from tasks.rules import KEYSTORE
from tasks.steps.keystore import genkey_script
from tests.unit.helpers import inventory
import pytest

from tasks.secrets import SecretMissing
from tasks.engine.mode import Mode
from tasks.formats import jks
from tasks.rules import AXIS2, CARBON, CARBON_LOG, CATALINA, TRUSTSTORE
from tasks.steps.keystore import CreateKeystore
from tasks.steps.keystorecheck import own_cert
from tests.memnode import product_node
from tests.unit.helpers import STEP_SECRETS, answer_keytool, patch_on, plan_on, whats


def test_the_key_script_takes_the_password_on_stdin_only():
    inv = inventory()
    script = genkey_script(inv.hosts["esb-w1"], "/opt/wso2esb-4.9.0/" + KEYSTORE, "esb.wso2.com", 2048, 365)
    assert "IFS= read -r ESB_KSP" in script and "-storepass:env ESB_KSP -keypass:env ESB_KSP" in script
    assert "SAN=dns:esb.wso2.com,ip:192.168.1.13" in script and "umask 077" in script
    assert script.index("chmod 600") < script.index("mv -f")  # its mode before it replaces the keystore


# ---------------------------------------------------------------- the step on nodes in memory (tests/memnode.py)
# keytool's part (making the key on the node) is played by tests.unit.helpers.answer_keytool, which writes the
# JKS keytool would; the rest (the files, the trust stores across nodes) is the step's own code on MemoryNodes.

PW = STEP_SECRETS["KEYSTORE_PASSWORD"]


def cluster():
    inv = inventory()
    nodes = {n: product_node(inv.hosts[n]) for n in ("esb-mgr", "esb-w1", "esb-w2")}
    for node in nodes.values():
        answer_keytool(node)
    return inv, nodes


def trusted(node) -> set[bytes]:
    return set(jks.parse(node.data(f"{node.host.product_home}/{TRUSTSTORE}")).all_certs())


def test_create_keystore_plans_a_new_key_the_passwords_and_the_trust_store_on_the_shipped_files_and_converges():
    inv, nodes = cluster()
    w1 = nodes["esb-w1"]
    plan, _ = plan_on(CreateKeystore(), w1, inv, others=nodes)
    files = [f for f, _ in whats(plan)]
    assert whats(plan)[0] == (KEYSTORE, "private key") and plan.items[0].actual.startswith("the shipped one")
    assert files.count(CARBON) == 4 and files.count(CATALINA) == 2 and files.count(AXIS2) == 7
    assert whats(plan)[-2:] == [(TRUSTSTORE, "password"), (TRUSTSTORE, "trusts esb-w1's certificate")]
    assert [type(a).__name__ for a in plan.actions] == ["NewKey", "TrustNodes"] and plan.peers == {}
    assert PW not in "".join(f.diff() for f in plan.files) + "".join(a.describe() for a in plan.actions)
    patch_on(CreateKeystore(), w1, inv, others=nodes)
    command, sudo = next(c for c in w1.commands if "-genkeypair" in c[0])
    assert sudo and PW not in command and "CN=esb.wso2.com" in command  # the password went on stdin
    home = w1.host.product_home
    assert w1.stat(f"{home}/{KEYSTORE}").mode & 0o7777 == 0o640 and f"{home}/{KEYSTORE}" in w1.backups
    mine = own_cert(w1.data(f"{home}/{KEYSTORE}"), PW, KEYSTORE)
    assert mine is not None and mine in trusted(w1)
    again, _ = plan_on(CreateKeystore(), w1, inv, others=nodes)
    assert not again, [i.line() for i in again.items]


def test_a_second_node_with_a_new_key_is_trusted_by_the_node_that_took_its_turn_before():
    inv, nodes = cluster()
    patch_on(CreateKeystore(), nodes["esb-w1"], inv, others=nodes)
    memo: dict = {}
    plan, _ = plan_on(CreateKeystore(), nodes["esb-w2"], inv, others=nodes, memo=memo)
    assert list(plan.peers) == ["esb-w1"]  # reported under esb-w1, written there by esb-w2's turn
    assert ("trusts esb-w1's certificate" in [w for _, w in whats(plan)])
    patch_on(CreateKeystore(), nodes["esb-w2"], inv, others=nodes, memo=memo)
    w2_cert = own_cert(nodes["esb-w2"].data(f"{nodes['esb-w2'].host.product_home}/{KEYSTORE}"), PW, KEYSTORE)
    assert w2_cert in trusted(nodes["esb-w1"]) and nodes["esb-w2"].peers == ["esb-w1"]
    assert not plan_on(CreateKeystore(), nodes["esb-w1"], inv, others=nodes)[0]
    assert not plan_on(CreateKeystore(), nodes["esb-w2"], inv, others=nodes)[0]


def test_create_keystore_refuses_a_new_key_where_the_server_has_run_and_changes_nothing():
    inv, nodes = cluster()
    w1 = nodes["esb-w1"]
    w1.add_file(f"{w1.host.product_home}/{CARBON_LOG}", b"TID: [-1234] started\n")
    plan, _ = plan_on(CreateKeystore(), w1, inv, others=nodes, mode=Mode.VERIFY)
    assert plan.refusals and "has run" in plan.refusals[0]
    assert plan.items[0].what == "private key" and plan.items[0].fix == "fab -H esb-w1 rotate-keystore"
    with pytest.raises(AssertionError, match="patch would refuse"):
        patch_on(CreateKeystore(), w1, inv, others=nodes)
    assert w1.written == [] and w1.commands == []


def test_create_keystore_in_verify_without_the_password_reports_the_key_only():
    inv, nodes = cluster()
    secrets = {k: v for k, v in STEP_SECRETS.items() if k != "KEYSTORE_PASSWORD"}
    plan, _ = plan_on(CreateKeystore(), nodes["esb-w1"], inv, secrets, Mode.VERIFY, others=nodes)
    assert whats(plan) == [(KEYSTORE, "private key")] and plan.actions == []
    with pytest.raises(SecretMissing, match="KEYSTORE_PASSWORD is not set"):  # its plan is never applied
        CreateKeystore().apply(plan_on(CreateKeystore(), nodes["esb-w1"], inv, secrets, others=nodes)[1], plan)
