"""create-keystore: a node's own key in wso2carbon.jks, KEYSTORE_PASSWORD wherever the files name
it, and every node's certificate in every node's client-truststore.jks (CONTRACT §8).

The shipped keystore holds one private key for every download (CN=localhost, 1024 bits).  This step:

- makes a new RSA key of `certs.key_bits` ON the node with keytool (alias `wso2carbon`, CN =
  mgt_hostname on the manager and hostname on workers, subjectAltName = that name and the
  node's member_host, SHA-256, `certs.days`), so the private key is made where it is used;
  KEYSTORE_PASSWORD reaches keytool on stdin, never on a command line.  The new file has no
  access for others.  A keystore already replaced and matching is kept; one that is not JKS,
  or opens neither with KEYSTORE_PASSWORD nor as the shipped one, is refused; so is a node
  whose server has run (a non-empty repository/logs/wso2carbon.log): what Carbon encrypted
  with the old key would become unreadable (its items then name rotate-keystore, the command that
  works there). Where rollback --all kept the node's own key (kept_path: its server ran with it),
  that key is put back instead (RestoreKept), so the hardening converges again after rollback --all;
  rotate-keystore opens a shipped keystore with the shipped password.
- sets KEYSTORE_PASSWORD in carbon.xml (Security/KeyStore, Security/TrustStore), the
  9443 connector's keystorePass and axis2.xml's PassThrough HTTPS listener and sender (a
  value Secure Vault holds is kept);
- keeps every shipped entry of client-truststore.jks, adds each ESB node's certificate under the
  node's name and re-keys the store's integrity check to KEYSTORE_PASSWORD.  A trust store holds
  no private key: it is rewritten here (tasks.formats.jks) and written like any file (atomic,
  backed up).  In patch mode the nodes take turns; a node whose key is new adds its certificate to
  the nodes that already took theirs.

verify reads each node's keystore once per run (SFTP) to learn its certificate; the key inside
stays encrypted under KEYSTORE_PASSWORD and is never written on this machine.  The pure verdicts
are keystorecheck.py's, the trust stores across nodes truststore.py's; this module is the step, its
key and its Secure Vault carry-over.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import posixpath
import shlex
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from cryptography import x509

from ..formats import jks, props
from ..config import Host, Inventory
from ..engine.ops import Op, last_line
from ..engine.plan import Item, Plan
from ..remote import SMALL_LIMIT
from ..remote.replace import enter, install, work, work_name
from ..remote.replace import replace as replace_file
from ..rules import kept_path
from ..rules import (CARBON_LOG, CIPHER_TEXT, KEY_ALIAS, KEYSTORE, KEYSTORE_PASSWORDS, SHIPPED_STORE_PASSWORD,
                     TRUSTSTORE, keystore_cn)
from ..secrets import Secrets, register
from .base import SECRET_MODE_MASK, XmlEdits, XmlStep
from ..engine.context import StepContext, StepError
from ..engine.keystore import SECRET, check_password, keystore_password, parse_store
from .keystorecheck import check_keystore, check_truststore, own_cert
from .truststore import TrustNodes, node_cert, peers_to_tell, remember
from .protect import set_password


def keytool(host: Host) -> str:
    """keytool of the node's JDK (java_home), else the one on the login PATH."""
    return posixpath.join(host.java_home, "bin", "keytool") if host.java_home else "keytool"


def san(host: Host, cn: str) -> str:
    return f"SAN=dns:{cn},ip:{host.member_host}"


def genkey_script(host: Host, path: str, cn: str, bits: int, days: int, mode: int = 0o600,
                  real_dir: str | None = None) -> str:
    """One shell script: read the password from stdin, make the key inside a fresh private folder
    beside the keystore (random name, mode 0700: keytool writes where nothing of the node's can
    be), install it over the keystore with `mode` and the old file's owner (tasks/remote/replace.py;
    `real_dir`: the keystore folder's real path as checked)."""
    q = shlex.quote
    d, name = posixpath.split(path)
    real = real_dir or d
    return "; ".join([
        "set -e", "umask 077", enter(d, real), work(real, work_name(name)),
        "IFS= read -r ESB_KSP", "export ESB_KSP",
        f"LC_ALL=C.UTF-8 {q(keytool(host))} -J-Dfile.encoding=UTF-8 -genkeypair -alias {KEY_ALIAS} -keyalg RSA "
        f"-keysize {bits} -sigalg SHA256withRSA -validity {days} -dname {q('CN=' + cn)} -ext {q(san(host, cn))} "
        f"-keystore new -storetype JKS -storepass:env ESB_KSP -keypass:env ESB_KSP >/dev/null",
        install("new", name, mode, "target", tolerate_owner=True),
    ])


def _keystore_planner(e: XmlEdits, host: Host, inv: Inventory, secrets: Secrets) -> None:
    password = keystore_password(secrets)
    if password is None:
        return  # nothing to compare with: verify without the secret reports the key only
    for p in KEYSTORE_PASSWORDS:
        if p.file == e.label:
            set_password(e, p, password)


class CreateKeystore(XmlStep):
    name = "create-keystore"
    phase = "nodes"
    switch = "keystore"
    serial = True  # it adds its certificate to other nodes' trust stores
    secrets = (SECRET,)
    help = ("a new RSA key per node in wso2carbon.jks (made on the node, CN = its hostname), KEYSTORE_PASSWORD in "
            "carbon.xml/catalina/axis2, every node's certificate in client-truststore.jks ([security].keystore)")
    files = tuple((f, _keystore_planner) for f in dict.fromkeys(p.file for p in KEYSTORE_PASSWORDS))

    def preflight(self, inv: Inventory, secrets: Secrets) -> None:
        check_password(secrets.require(SECRET))

    def reads(self, host: Host, inv: Inventory) -> list[str]:
        return super().reads(host, inv) + [posixpath.join(host.product_home, r) for r in (KEYSTORE, TRUSTSTORE)]

    #: rotate-keystore: also renew a key that expires within 30 days (or any key: `force`), on a
    #: node whose server has run, its Secure Vault values re-encrypted for the new key
    rotate = False
    force = False

    def plan(self, ctx: StepContext) -> Plan:
        password = keystore_password(ctx.secrets)
        host, inv = ctx.host, ctx.inv
        path, tpath = ctx.home(KEYSTORE), ctx.home(TRUSTSTORE)
        cn = keystore_cn(inv, host)
        store = ctx.remote.read(path, SMALL_LIMIT, "a keystore")
        mine = check_keystore(store, KEYSTORE, password, cn, host.member_host, inv.certs.key_bits,
                              datetime.now(timezone.utc))
        plan = Plan()
        if self.rotate and mine.refuse is None and not mine.renew and (mine.expiring or self.force):
            mine.items += mine.expiring or [Item(KEYSTORE, "private key", "a new one (--force)", "the current one")]
            mine.renew, mine.expiring = True, []
        plan.items += mine.items
        plan.warnings += [replace(i, fix=f"fab -H {host.name} rotate-keystore") for i in mine.expiring]
        if mine.shipped:
            plan.advisories += mine.items
        carried: dict[str, str] = {}
        kept: tuple[bytes, bytes] | None = None
        if mine.renew and mine.refuse is None and self.rotate and password is not None:
            # the shipped keystore (rollback --all put it back) opens with the shipped password
            carried, why = vault_values(ctx, SHIPPED_STORE_PASSWORD if mine.shipped else password, store)
            mine.refuse = why
        elif mine.renew and mine.refuse is None:
            mine.refuse = server_has_run(ctx)
            kept = kept_key(ctx, password, cn) if mine.refuse and password is not None else None
            if kept is not None:  # the node's own key, which the server ran with: put back, nothing lost
                mine.refuse = None
                plan.notes.append(f"the node's own key, kept by rollback --all in {kept_path(host)}, is put back "
                                  f"(its server ran with it; a new key would lose what Carbon encrypted)")
            elif mine.refuse:  # verify names the command that works here (never this refused one)
                plan.items = [replace(i, fix=f"fab -H {host.name} rotate-keystore") for i in plan.items]
        if password is None:
            plan.refusals += [mine.refuse] if mine.refuse else []
            return plan
        plan.extend(super().plan(ctx))
        mine_cert = kept[1] if kept else None if mine.renew else mine.cert
        remember(ctx, host, mine_cert)
        wanted = {h.name: mine_cert if h.name == host.name else node_cert(ctx, h)
                  for h in inv.esb_nodes}
        wanted = {n: c for n, c in wanted.items() if c is not None or n == host.name}
        t_items, _, t_refuse = check_truststore(ctx.remote.read(tpath, SMALL_LIMIT, "a trust store"), TRUSTSTORE,
                                                password, wanted)
        plan.items += t_items
        if mine.renew:  # the key first (the files then name it), the trust stores last
            plan.actions.append(RestoreKept(kept_path(host), hashlib.sha256(kept[0]).hexdigest()) if kept else
                                NewKey(host.name, cn, san(host, cn), inv.certs.key_bits, inv.certs.days))
            if carried:
                plan.actions.append(ReEncrypt(tuple(sorted(carried.items()))))
            plan.peers = {n: [Item(TRUSTSTORE, f"certificate of {host.name}", "its new key, trusted",
                                   "its old key or none")] for n in peers_to_tell(ctx, password)}
        if t_items or mine.renew:
            plan.actions.append(TrustNodes(TRUSTSTORE, renewed=mine.renew))
        plan.refusals += [r for r in (mine.refuse, t_refuse) if r][:1]
        return plan

    def apply(self, ctx: StepContext, plan: Plan) -> None:
        """A plan made without KEYSTORE_PASSWORD (verify's: the key only) is refused before anything changes."""
        check_password(ctx.secrets.require(SECRET))
        super().apply(ctx, plan)


@dataclass(frozen=True)
class NewKey(Op):
    """A new key and certificate made on the node by its own keytool (the password on
    stdin), settled over the keystore with its old mode less others' access; the old
    keystore is backed up on the host first."""

    early = True  # before the files: a failure leaves every file as it was
    node: str
    cn: str
    san: str
    key_bits: int
    days: int

    def describe(self) -> str:
        return (f"keytool -genkeypair -alias {KEY_ALIAS} -keysize {self.key_bits} -dname CN={self.cn} -ext {self.san} "
                f"on {self.node}; add the new certificate to the trust stores of the nodes that have their own key")

    def perform(self, ctx: StepContext) -> None:
        password = ctx.secrets.require(SECRET)
        check_password(password)
        host, path = ctx.host, ctx.home(KEYSTORE)
        ctx.remote.backup_on_host([path], sudo=True)
        st = ctx.remote.known_stat(path)  # the old keystore's mode, less others' access (it holds a key)
        mode = (st.mode & 0o7777 & ~SECRET_MODE_MASK) if st is not None else 0o600
        real = ctx.remote.realpath(posixpath.dirname(path))
        script = genkey_script(host, path, self.cn, self.key_bits, self.days, mode, real)
        code, _, err = ctx.remote.run(f"sh -c {shlex.quote(script)}", stdin=(password + "\n").encode(),
                                      sudo=True, check=False, extra_time=(self.key_bits / 2048) ** 3 * 4 + 10)
        if code != 0:
            ctx.remote.forget_backup(path)  # the keystore is as it was: no backup run claims a change
            last = last_line(err)
            if code == 127 or "not found" in last:
                last = f"{keytool(host)} not found (install a Java runtime or set java_home for {host.name})"
            raise StepError(f"keytool on {host.name} could not make the key: {last}")
        new = ctx.remote.read(path, SMALL_LIMIT, "a keystore")
        remember(ctx, host, own_cert(new, password, KEYSTORE))


def kept_key(ctx: StepContext, password: str, cn: str) -> tuple[bytes, bytes] | None:
    """The keystore rollback --all kept (its bytes and certificate) when it is this node's own key, fit
    for its names and opening with KEYSTORE_PASSWORD; else None. A file of the node's state: read as
    untrusted (a plain file only, size-capped, checked like the keystore itself)."""
    path = kept_path(ctx.host)
    st = ctx.remote.lstat(path)
    if st is None or not st.is_file:
        return None
    data = ctx.remote.read(path, SMALL_LIMIT, "a kept keystore", cache=False)
    verdict = check_keystore(data, KEYSTORE, password, cn, ctx.host.member_host, ctx.inv.certs.key_bits,
                             datetime.now(timezone.utc))
    if data is None or verdict.renew or verdict.refuse or verdict.cert is None or verdict.items:
        return None
    return data, verdict.cert


@dataclass(frozen=True)
class RestoreKept(Op):
    """The node's own keystore, kept by rollback --all, installed over the (shipped) keystore on the
    host (the key never crosses the connection; the copy must have the bytes the plan checked); the
    keystore it replaces is backed up on the host first."""

    early = True
    kept: str
    sha256: str

    def describe(self) -> str:
        return f"put back the node's own keystore from {self.kept}"

    def perform(self, ctx: StepContext) -> None:
        path = ctx.home(KEYSTORE)
        ctx.remote.backup_on_host([path], sudo=True)
        st = ctx.remote.known_stat(path)
        mode = (st.mode & 0o7777 & ~SECRET_MODE_MASK) if st is not None else 0o600
        real = ctx.remote.realpath(posixpath.dirname(path))
        script = replace_file(self.kept, path, mode, "target", tolerate_owner=True, real_dir=real, sha256=self.sha256)
        code, _, err = ctx.remote.run(f"sh -c {shlex.quote(script)}", sudo=True, check=False)
        if code != 0:
            ctx.remote.forget_backup(path)
            raise StepError(f"putting back the kept keystore of {ctx.host.name} failed: {last_line(err)}")
        remember(ctx, ctx.host, own_cert(ctx.remote.read(path, SMALL_LIMIT, "a keystore"),
                                         ctx.secrets.require(SECRET), KEYSTORE))


def server_has_run(ctx: StepContext) -> str | None:
    """Why a key must not be replaced: the node's server has run (its wso2carbon.log is not empty)."""
    st = ctx.remote.stat(ctx.home(CARBON_LOG))
    if st is not None and st.size:
        return (f"the server on {ctx.host.name} has run ({CARBON_LOG} is not empty): a new key would make what "
                f"Carbon encrypted with the old one unreadable; not replaced (fab -H {ctx.host.name} "
                f"rotate-keystore renews it and re-encrypts its Secure Vault values)")
    return None


def vault_values(ctx: StepContext, password: str, store: bytes | None) -> tuple[dict[str, str], str | None]:
    """Every value of the node's cipher-text.properties decrypted with its current key (`store`: the
    keystore's bytes, as the plan read them) (alias -> plain text, each registered as a secret:
    never shown), to be encrypted again for the new key; or why the key must not be replaced (a
    value that does not decrypt would be lost). A cipher-text.properties that is not a plain file (a
    link a node planted) is refused before it is read: its keys would reach the message."""
    st = ctx.remote.lstat(ctx.home(CIPHER_TEXT))
    if st is None:
        return {}, None
    if not st.is_file:
        return {}, f"{CIPHER_TEXT} is not a plain file (a link?): not read, the key not replaced"
    data = ctx.remote.read(ctx.home(CIPHER_TEXT)) or b""
    try:
        key = jks.private_key(parse_store(store or b"", KEYSTORE).keys[KEY_ALIAS], password)
    except (jks.JksError, KeyError, StepError) as e:
        return {}, f"{KEYSTORE}: {e}: its Secure Vault values cannot be carried to a new key; not replaced"
    out, lost = {}, []
    for alias, raw in props.items(data.decode("utf-8", "replace")):
        if raw.startswith("["):  # plain text waiting for cipher-tool: it does not depend on the key
            continue
        try:
            plain = jks.decrypt(key, base64.b64decode(raw, validate=True))
        except (binascii.Error, ValueError):
            plain = None
        if plain is None:
            lost.append(alias)
        else:
            register(plain)
            out[alias] = plain
    if lost:
        return {}, (f"{CIPHER_TEXT}: {', '.join(lost)} do not decrypt with the current key: a new key would "
                    f"lose them; not replaced (fix them with secure-vault first)")
    return out, None


@dataclass(frozen=True)
class ReEncrypt(Op):
    """After NewKey: every Secure Vault value the old key decrypted, encrypted again for the
    new certificate, in cipher-text.properties (written like any file: atomic, backed up,
    mode kept less others' access)."""

    values: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        return f"re-encrypt {len(self.values)} Secure Vault values in {CIPHER_TEXT} for the new key"

    def perform(self, ctx: StepContext) -> None:
        password = ctx.secrets.require(SECRET)
        cert_der = own_cert(ctx.remote.read(ctx.home(KEYSTORE), SMALL_LIMIT, "a keystore"), password, KEYSTORE)
        if cert_der is None:
            raise StepError(f"the new key of {ctx.host.name} does not open with {SECRET}; {CIPHER_TEXT} not changed")
        cert = x509.load_der_x509_certificate(cert_der)
        path = ctx.home(CIPHER_TEXT)
        old = ctx.remote.read(path) or b""
        text, _ = props.set_values(old.decode("utf-8", "surrogateescape"),
                                   {a: base64.b64encode(jks.encrypt(cert, v)).decode() for a, v in self.values})
        st = ctx.remote.known_stat(path)
        mode = (st.mode & 0o7777 & ~SECRET_MODE_MASK) if st is not None else 0o600
        ctx.remote.write(path, text.encode("utf-8", "surrogateescape"), mode=mode)


class RotateKeystore(CreateKeystore):
    """rotate-keystore: create-keystore that also renews a key expiring within 30 days (any key with
    --force) on a node whose server has run, carrying its Secure Vault values to the new key; every
    trust store follows; the node then needs a restart (its server holds the old key until then)."""

    name = "rotate-keystore"
    rotate = True
    help = ("renew a node's key when it expires within 30 days (--force: now): Secure Vault values re-encrypted, "
            "every node's trust store updated; then rolling-restart --needed")

    def reads(self, host: Host, inv: Inventory) -> list[str]:
        return super().reads(host, inv) + [posixpath.join(host.product_home, CIPHER_TEXT)]


__all__ = ["CreateKeystore", "RotateKeystore", "genkey_script"]
