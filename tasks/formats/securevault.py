"""Secure Vault's marks in Carbon 4.4's XML files (formats: no I/O): the namespace, the
attribute that makes an element's value a vault reference, and the placeholder text WSO2's
cipher tool leaves in its place."""
from __future__ import annotations

#: Secure Vault's namespace and the attribute that makes an element's
#: value a vault reference (Carbon 4.4)
SVNS = "http://org.wso2.securevault/configuration"
SECRET_ALIAS = f"{{{SVNS}}}secretAlias"
#: the text a vault-protected element carries instead of its value (WSO2's cipher tool writes it)
VAULT_PLACEHOLDER = "password"


def vault_alias(el) -> str | None:
    """The Secure Vault alias an element's value is read from (svns:secretAlias), or None."""
    return el.get(SECRET_ALIAS)
