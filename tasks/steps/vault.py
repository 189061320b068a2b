"""secure-vault: every password the project writes, and the keystore passwords, read by Carbon from
Secure Vault (CONTRACT §8), as Carbon 4.4.1 and WSO2's cipher tool do it.

- Each password element gets `svns:secretAlias="<alias>"` and the text `password` (the 9443
  connector: its keystorePass attribute), the root declares `xmlns:svns`.  Aliases are the
  ones Carbon resolves: `Carbon.` + the element path for carbon.xml (ServerConfiguration),
  `Server.Service.Connector.keystorePass` (the Tomcat ServerManager),
  `UserManager.AdminUser.Password` (RealmConfigXMLProcessor), and the attribute's alias as
  is for datasources and axis2.xml.
- `cipher-text.properties` holds each value encrypted as the cipher tool does: RSA
  PKCS#1 v1.5 under the certificate of the node's key (wso2carbon in wso2carbon.jks),
  base64.  It gets no access for others.
- `cipher-tool.properties` lists each alias with its file and XPath;
  `secret-conf.properties` turns the file-based secret repository on with the node's
  keystore (the password asked at start: README).

Ciphertexts are random, so verify decrypts each value with the node's key (the keystore read over
SFTP, opened in memory with KEYSTORE_PASSWORD) and compares: a second run rewrites nothing.
"""
from __future__ import annotations

import base64
import binascii
import posixpath

from ..formats import jks, props
from ..config import Host, Inventory
from ..engine.plan import FileChange, Item, Plan
from ..remote import SMALL_LIMIT
from ..rules import (AXIS2, CARBON, CATALINA, CIPHER_TEXT, CIPHER_TOOL, KEY_ALIAS, KEYSTORE, MASTER,
                     SECRET_CONF, USER_MGT, vault_entries)
from ..secrets import Secrets
from .base import SECRET_MODE_MASK, XmlEdits, XmlStep, secret_file_mode
from ..engine.context import StepContext
from ..engine.keystore import SECRET, keystore_password, parse_store
from ..rules import is_shipped
from .protect import declare_svns, make_reference, plain_text

#: each file's root element, for cipher-tool.properties' XPaths
ROOTS = {CARBON: "Server", CATALINA: "Server", AXIS2: "axisconfig", USER_MGT: "UserManager",
         MASTER: "datasources-configuration"}
#: secret-conf.properties as WSO2's cipher tool writes it (CipherTool
#: Utils.writeToSecureConfPropertyFile)
SECRET_CONF_VALUES = {
    "carbon.secretProvider": "org.wso2.securevault.secret.handler.SecretManagerSecretCallbackHandler",
    "secretRepositories": "file",
    "secretRepositories.file.provider": "org.wso2.securevault.secret.repository.FileBaseSecretRepositoryProvider",
    "secretRepositories.file.location": CIPHER_TEXT,
    "keystore.identity.location": KEYSTORE,
    "keystore.identity.type": "JKS",
    "keystore.identity.alias": KEY_ALIAS,
    "keystore.identity.store.password": "identity.store.password",
    "keystore.identity.store.secretProvider": "org.wso2.carbon.securevault.DefaultSecretCallbackHandler",
    "keystore.identity.key.password": "identity.key.password",
    "keystore.identity.key.secretProvider": "org.wso2.carbon.securevault.DefaultSecretCallbackHandler",
}
NEW_SECRET_FILE_MODE = 0o640


def _vault_planner(e: XmlEdits, host: Host, inv: Inventory, secrets: Secrets) -> None:
    entries = [p for p in vault_entries(inv, host) if p.file == e.label]
    for p in entries:
        for _ in plain_text(e, p):
            e.advise(f"{p.path}{'/@' + p.attr if p.attr else ''}", "a Secure Vault reference", "a plain-text password")
    declare_svns(e)
    for p in entries:
        make_reference(e, p)


def cipher_state(text: str, key, cert, values: dict[str, str]) -> tuple[dict[str, str], list[Item]]:
    """Pure but for the fresh ciphertexts: the cipher-text.properties values to write
    (alias -> base64) and the items, for each alias whose value is absent or does not
    decrypt with this key to its secret."""
    write, items = {}, []
    for alias, secret in values.items():
        raw = props.value(text, alias)
        if raw is not None and key is not None:
            try:
                plain = jks.decrypt(key, base64.b64decode(raw, validate=True))
            except (binascii.Error, ValueError):
                plain = None
            if plain == secret:
                continue
        state = "absent" if raw is None else "plain text" if raw.startswith("[") else "another value, or another key's"
        items.append(Item(CIPHER_TEXT, alias, "encrypted for this node's key", state))
        write[alias] = base64.b64encode(jks.encrypt(cert, secret)).decode()
    return write, items


def present_entries(ctx: StepContext) -> list:
    """The passwords of vault_entries the node's files hold (a datasource configure-datasources has
    not written yet is left out, and said in a note by the caller)."""
    out = []
    for p in vault_entries(ctx.inv, ctx.host):
        if p.optional and not ctx.xml(p.file).findall(p.path):  # the run's one read and parse of the file
            continue
        out.append(p)
    return out


class SecureVault(XmlStep):
    name = "secure-vault"
    phase = "nodes"
    switch = "vault"
    secrets = (SECRET, "ADMIN_PASSWORD", "WSO2_DB_PASSWORD", "SVN_PASSWORD")
    help = ("every password in the config files as a Secure Vault alias, encrypted for the node's key in "
            "cipher-text.properties; cipher-tool and secret-conf.properties ([security].vault)")
    files = tuple((f, _vault_planner) for f in ROOTS)

    def preflight(self, inv: Inventory, secrets: Secrets) -> None:
        super().preflight(inv, secrets)
        keystore_password(secrets)

    def reads(self, host: Host, inv: Inventory) -> list[str]:
        return super().reads(host, inv) + [posixpath.join(host.product_home, r)
                                           for r in (KEYSTORE, CIPHER_TEXT, CIPHER_TOOL, SECRET_CONF)]

    def plan(self, ctx: StepContext) -> Plan:
        plan = Plan()
        plan.extend(super().plan(ctx))
        password = keystore_password(ctx.secrets)
        if password is None:
            plan.notes.append(f"{SECRET} is not set: the encrypted values are not checked")
            return plan
        data = ctx.remote.read(ctx.home(KEYSTORE), SMALL_LIMIT, "a keystore")
        key = cert = None
        refuse = None
        if data is None:
            refuse = f"{KEYSTORE} is missing: run create-keystore first"
        else:
            ks = parse_store(data, KEYSTORE)
            entry = ks.keys.get(KEY_ALIAS)
            if entry is None or is_shipped(ks) or not ks.opens_with(password):
                refuse = (f"{KEYSTORE} is not the node's own keystore opening with {SECRET} (the shipped key "
                          f"is in every download): run create-keystore first")
            else:
                try:
                    key, cert = jks.private_key(entry, password), entry.cert
                    jks.rsa_public(cert)  # what the values are encrypted with: refused here, not half-way
                except jks.JksError as e:
                    refuse = f"{KEYSTORE}: {e}"
        if refuse:
            plan.items.append(Item(KEYSTORE, "the node's own key, opening with KEYSTORE_PASSWORD", "yes", "no"))
            if not ctx.checks.applies and ctx.inv.security.keystore:
                # a dry-run of setup-*: create-keystore, earlier in the
                # same run, makes the key first
                plan.notes.append("create-keystore makes the node's own key first in setup-* ([security].keystore); "
                                  "the values are then encrypted for it (secure-vault alone refuses without it)")
            else:
                plan.refusals.append(refuse)
            return plan
        entries = present_entries(ctx)
        values = {p.alias: ctx.secrets.get(p.secret) for p in entries}
        missing = [a for a, v in values.items() if not v]
        if missing:
            plan.notes.append(f"not checked (secret not set): {', '.join(missing)}")
        known: dict[str, str] = {a: v for a, v in values.items() if v}
        self._properties(ctx, plan, CIPHER_TEXT, lambda text: cipher_state(text, key, cert, known), secret=True)
        tool = {p.alias: p.tool_line(ROOTS[p.file]) for p in entries}
        self._properties(ctx, plan, CIPHER_TOOL, lambda text: ({k: v for k, v in tool.items()
                                                               if props.value(text, k) != v}, []))
        self._properties(ctx, plan, SECRET_CONF, lambda text: ({k: v for k, v in SECRET_CONF_VALUES.items()
                                                               if props.value(text, k) != v}, []))
        return plan

    @staticmethod
    def _properties(ctx: StepContext, plan: Plan, rel: str, wanted, secret: bool = False) -> None:
        """One properties file: the keys `wanted(text)` says to set (and its own items), as one FileChange."""
        path = ctx.home(rel)
        old = ctx.remote.read(path)
        text = (old or b"").decode("utf-8", errors="surrogateescape")
        write, items = wanted(text)
        if not items:
            items = [Item(rel, k, v, props.value(text, k)) for k, v in write.items()]
        new_text, _ = props.set_values(text, write)
        mode = None
        if secret:
            if old is None:
                mode = NEW_SECRET_FILE_MODE
            else:
                mode, item = secret_file_mode(ctx.remote.known_stat(path), rel)
                if item is not None:
                    items.append(item)
        plan.items += items
        if write or mode is not None:
            plan.files.append(FileChange(path, old, new_text.encode("utf-8", errors="surrogateescape"), mode=mode))


__all__ = ["SecureVault", "cipher_state", "SECRET_CONF_VALUES", "ROOTS", "SECRET_MODE_MASK"]


