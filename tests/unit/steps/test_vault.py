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
