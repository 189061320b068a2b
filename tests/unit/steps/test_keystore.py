"""create-keystore's own part (steps/keystore.py): the script that makes a node's key on the node."""
from __future__ import annotations

from tasks.rules import KEYSTORE
from tasks.steps.keystore import genkey_script
from tests.unit.helpers import inventory


def test_the_key_script_takes_the_password_on_stdin_only():
    inv = inventory()
    script = genkey_script(inv.hosts["esb-w1"], "/opt/wso2esb-4.9.0/" + KEYSTORE, "esb.wso2.com", 2048, 365)
    assert "IFS= read -r ESB_KSP" in script and "-storepass:env ESB_KSP -keypass:env ESB_KSP" in script
    assert "SAN=dns:esb.wso2.com,ip:192.168.1.13" in script and "umask 077" in script
    assert script.index("chmod 600") < script.index("mv -f")  # its mode before it replaces the keystore
