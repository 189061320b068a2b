"""secure-vault's and set-admin-password's pure parts on the shipped files: references, ciphertexts, hashes."""
from __future__ import annotations

import base64
import hashlib

from lxml import etree

from tasks.formats import jks
from tasks.rules import CARBON, CATALINA, KEYSTORE, USER_MGT, vault_entries
from tasks.secrets import Secrets
from tasks.steps.adminpass import _admin_planner, carbon_hash
from tasks.formats.securevault import SVNS
from tasks.steps.keystore import _keystore_planner
from tasks.steps.vault import _vault_planner, cipher_state
from tests.unit.helpers import changed_lines, inventory, run_planner, shipped
import pytest
from cryptography import x509

from tasks.engine.mode import Mode
from tasks.rules import AXIS2, CIPHER_TEXT, CIPHER_TOOL, MASTER, SECRET_CONF, TRUSTSTORE
from tasks.steps.datasources import ConfigureDatasources
from tasks.steps.keystore import CreateKeystore
from tasks.probes.vaultvalues import resolved_values
from tasks.steps.vault import SecureVault
from tests.memnode import product_node
from tests.unit.helpers import STEP_SECRETS, answer_keytool, base_data, patch_on, plan_on, whats

PW = "Llavé€Almacén9"


def test_vault_references_as_carbon_resolves_them():
    edits, fc = run_planner(CARBON, _vault_planner, "esb-mgr")
    root = etree.fromstring(fc.new)
    ns = {"c": "http://wso2.org/projects/carbon/carbon.xml"}
    el = root.find("c:Security/c:KeyStore/c:Password", ns)
    assert el.text == "password" and el.get(f"{{{SVNS}}}secretAlias") == "Carbon.Security.KeyStore.Password"
    assert root.find("c:DeploymentSynchronizer/c:SvnPassword", ns).get(f"{{{SVNS}}}secretAlias") \
        == "Carbon.DeploymentSynchronizer.SvnPassword"
    assert fc.new.startswith(shipped(CARBON)[:60])  # the ISO-8859-1 declaration stays
    assert len(edits.advisories) == 4  # four plain-text passwords in carbon.xml
    _, again = run_planner(CARBON, _vault_planner, "esb-mgr", data=fc.new)
    assert again.new == fc.new  # converged


def test_the_connector_keeps_its_layout_and_gets_the_alias():
    _, fc = run_planner(CATALINA, _vault_planner, "esb-mgr")
    lines = changed_lines(fc)
    assert any('keystorePass="password"' in ln for ln in lines)
    assert any("svns:secretAlias=\"Server.Service.Connector.keystorePass\"" in ln for ln in lines)
    # the root gains xmlns:svns, the value changes, the alias goes on its own line after the last attribute
    assert len([ln for ln in lines if ln.startswith("+")]) == 4


def test_create_keystore_sets_the_password_masked_and_keeps_vault_references():
    secrets = Secrets({"KEYSTORE_PASSWORD": PW})
    edits, fc = run_planner(CATALINA, _keystore_planner, "esb-w1", secrets=secrets)
    assert etree.fromstring(fc.new).find(".//Connector[@keystorePass]").get("keystorePass") == PW
    assert PW not in fc.diff() and "********" in fc.diff()
    _, vaulted = run_planner(CATALINA, _vault_planner, "esb-w1")
    edits, fc = run_planner(CATALINA, _keystore_planner, "esb-w1", secrets=secrets, data=vaulted.new)
    assert edits.items == []  # the value lives in Secure Vault: left to secure-vault


def test_ciphertexts_decrypt_to_the_secrets_and_good_ones_are_kept():
    entry = jks.parse(shipped(KEYSTORE)).keys["wso2carbon"]
    key, cert = jks.private_key(entry, "wso2carbon"), entry.cert
    values = {"A.Password": PW, "B.Password": "Señal&Pw<7>q€"}
    write, items = cipher_state("A.Password=[wso2carbon]\n", key, cert, values)
    assert set(write) == {"A.Password", "B.Password"} and [i.actual for i in items] == ["plain text", "absent"]
    assert jks.decrypt(key, base64.b64decode(write["B.Password"])) == "Señal&Pw<7>q€"
    text = "".join(f"{a}={v}\n" for a, v in write.items())
    assert cipher_state(text, key, cert, values) == ({}, [])
    write, items = cipher_state(text, key, cert, {**values, "A.Password": "changed1"})
    assert list(write) == ["A.Password"] and items[0].actual == "another value, or another key's"


def test_every_alias_is_a_name_carbon_looks_up():
    inv = inventory()
    aliases = [p.alias for p in vault_entries(inv, inv.hosts["esb-w1"])]
    assert "Carbon.Security.KeyStore.Password" in aliases and "UserManager.AdminUser.Password" in aliases
    assert "Datasources.REGISTRY_LOCAL2.Configuration.Password" in aliases and len(set(aliases)) == len(aliases)
    shipped_tool = shipped("repository/conf/security/cipher-tool.properties").decode()
    for p in vault_entries(inv, inv.hosts["esb-w1"]):  # the shipped file's own lines, where it has the alias
        line = next((ln for ln in shipped_tool.splitlines() if ln.startswith(p.alias + "=")), None)
        if line and not p.alias.startswith("Datasources."):
            assert line == f"{p.alias}={p.tool_line({'repository/conf/carbon.xml': 'Server', 'repository/conf/user-mgt.xml': 'UserManager', 'repository/conf/tomcat/catalina-server.xml': 'Server'}[p.file])}"


def test_admin_password_advises_on_admin_and_carbon_hash():
    edits, fc = run_planner(USER_MGT, _admin_planner, "esb-mgr")
    assert [i.actual for i in edits.advisories] == ["admin"] and edits.items == []
    edits, fc = run_planner(USER_MGT, _admin_planner, "esb-mgr", secrets=Secrets({"ADMIN_PASSWORD": "Admín€Clave7"}))
    assert edits.items and edits.items[0].secret and "Admín€Clave7" not in fc.diff()
    salt = "c2FsdHNhbHRzYWx0c2FsdA=="
    assert carbon_hash("admin", salt) == base64.b64encode(hashlib.sha256(b"admin" + salt.encode()).digest()).decode()


# ---------------------------------------------------------------- the step on a node in memory (tests/memnode.py)
# keytool's part of create-keystore is played by tests.unit.helpers.answer_keytool; secure-vault itself runs no
# command: it reads the keystore and writes the files, all of it here on a MemoryNode.

def keyed_node(host: str = "esb-w1"):
    """A node with the shipped files, configure-datasources and create-keystore applied (its own key)."""
    inv = inventory()
    nodes = {n: product_node(inv.hosts[n]) for n in ("esb-mgr", "esb-w1", "esb-w2")}
    node = nodes[host]
    answer_keytool(node)
    patch_on(ConfigureDatasources(), node, inv)
    patch_on(CreateKeystore(), node, inv, others=nodes)
    return inv, node


def test_secure_vault_refuses_the_shipped_key_in_patch_and_defers_to_create_keystore_in_a_setup_dry_run():
    inv = inventory()
    node = product_node(inv.hosts["esb-w1"])
    plan, _ = plan_on(SecureVault(), node, inv)
    assert whats(plan)[-1] == (KEYSTORE, "the node's own key, opening with KEYSTORE_PASSWORD")
    assert plan.refusals == [f"{KEYSTORE} is not the node's own keystore opening with KEYSTORE_PASSWORD (the shipped "
                             f"key is in every download): run create-keystore first"]
    data = base_data()
    data["security"] = {"keystore": True, "vault": True}
    plan, _ = plan_on(SecureVault(), node, inventory(data), mode=Mode.DRY_RUN)
    assert plan.refusals == [] and "create-keystore makes the node's own key first" in plan.notes[0]


def test_secure_vault_plans_every_password_and_the_three_properties_files_and_converges():
    inv, node = keyed_node()
    plan, _ = plan_on(SecureVault(), node, inv)
    files = {f for f, _ in whats(plan)}
    assert {CARBON, CATALINA, AXIS2, USER_MGT, MASTER, CIPHER_TEXT, CIPHER_TOOL, SECRET_CONF} <= files
    assert (MASTER, "datasources/datasource[name='WSO2_USER_DB']/definition/configuration/password") in whats(plan)
    assert (CIPHER_TEXT, "Datasources.REGISTRY_LOCAL2.Configuration.Password") in whats(plan)  # a worker's own
    assert (SECRET_CONF, "keystore.identity.location") in whats(plan)
    secrets = [v for v in STEP_SECRETS.values()]
    shown = "".join(f.diff() for f in plan.files) + "".join(i.line() for i in plan.items)
    assert not any(s in shown for s in secrets)
    patch_on(SecureVault(), node, inv)
    home = node.host.product_home
    assert node.stat(f"{home}/{CIPHER_TEXT}").mode & 0o007 == 0
    ctx = plan_on(SecureVault(), node, inv)[1]
    aliases = ["Carbon.Security.KeyStore.Password", "UserManager.AdminUser.Password"]
    assert resolved_values(ctx, aliases) == {a: v for a, v in zip(aliases, (STEP_SECRETS["KEYSTORE_PASSWORD"],
                                                                           STEP_SECRETS["ADMIN_PASSWORD"]))}
    again, _ = plan_on(SecureVault(), node, inv)
    assert not again, [i.line() for i in again.items]
    # create-keystore then leaves the values Secure Vault holds alone
    assert not [i for i in plan_on(CreateKeystore(), node, inv, others={})[0].items if i.file != TRUSTSTORE]


def test_a_value_encrypted_for_another_key_is_drift_and_written_again():
    inv, node = keyed_node()
    patch_on(SecureVault(), node, inv)
    path = f"{node.host.product_home}/{CIPHER_TEXT}"
    text = node.data(path).decode()
    other = jks.encrypt(x509.load_pem_x509_certificate(_other_cert()), "not it")
    line = next(ln for ln in text.splitlines() if ln.startswith("UserManager.AdminUser.Password="))
    node.add_file(path, text.replace(line, "UserManager.AdminUser.Password=" + base64.b64encode(other).decode())
                  .encode(), 0o640)
    plan, _ = plan_on(SecureVault(), node, inv)
    assert [i.line() for i in plan.items] == [f"{CIPHER_TEXT}: UserManager.AdminUser.Password: wanted \"encrypted for "
                                              f"this node's key\", actual \"another value, or another key's\""]
    patch_on(SecureVault(), node, inv)
    assert not plan_on(SecureVault(), node, inv)[0]


def _other_cert() -> bytes:
    from datetime import datetime, timedelta, timezone

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import Encoding
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "other")])
    now = datetime.now(timezone.utc)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(days=1))
            .sign(key, hashes.SHA256()).public_bytes(Encoding.PEM))
