"""create-keystore's verdicts, pure: whether a keystore is the node's own and fit for its names, what a
trust store lacks, and a keystore's own certificate (KEYSTORE_PASSWORD's rule and the parse:
tasks/engine/keystore.py; the shipped key: tasks/rules.py). The step (keystore.py), the trust
stores across nodes (truststore.py) and secure-vault (vault.py) read them."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from ipaddress import ip_address
from typing import Mapping


from ..formats import jks
from ..engine.plan import Item
from ..formats.jks import fingerprint
from ..engine.keystore import SECRET, parse_store
from ..rules import KEY_ALIAS, SHIPPED_STORE_PASSWORD, is_shipped
from .certs import check_cert, subject_alt_names

@dataclass
class KeystoreState:
    """Pure verdict on a node's keystore."""

    items: list[Item] = field(default_factory=list)
    renew: bool = False           # a new key is due
    refuse: str | None = None     # why patch must not replace it
    cert: bytes | None = None     # DER of the node's certificate when the keystore is the node's own and opens
    shipped: bool = False
    expiring: list[Item] = field(default_factory=list)  # valid now, not for 30 more days: a warning, not drift


def split_expiring(items: list[Item]) -> tuple[list[Item], list[Item]]:
    """Pure: (drift, warnings) of a node certificate's findings: one that expires within
    30 days but still works is a warning (the server runs; rotate-keystore renews it in
    time), an expired one is drift."""
    soon = [i for i in items if i.what == "notAfter" and "(expired)" not in (i.actual or "")]
    return [i for i in items if i not in soon], soon


def check_keystore(data: bytes | None, label: str, password: str | None, cn: str, ip: str, key_bits: int,
                   now: datetime) -> KeystoreState:
    """Pure: how a node's keystore differs from its own key for `cn` and `ip`."""
    s = KeystoreState()
    if data is None:
        s.items.append(Item(label, "keystore", "present", None))
        s.renew = True
        return s
    ks = parse_store(data, label)
    entry = ks.keys.get(KEY_ALIAS)
    if entry is None:
        s.items.append(Item(label, f"private key entry {KEY_ALIAS!r}", "present", None))
        s.refuse = f"{label} holds no key {KEY_ALIAS!r} and is not the shipped keystore: not replaced"
        return s
    if is_shipped(ks):
        s.shipped = s.renew = True
        s.items.append(Item(label, "private key", "the node's own",
                            "the shipped one (CN=localhost, in every download)"))
        return s
    if password is None:
        return s
    if not ks.opens_with(password):
        s.items.append(Item(label, f"opens with {SECRET}", "yes", "no"))
        s.refuse = (f"{label} does not open with {SECRET} and is not the shipped keystore: not replaced "
                    f"(what Carbon encrypted with its key would become unreadable)")
        return s
    try:
        jks.unprotect(entry, password)
    except jks.JksError:
        s.items.append(Item(label, f"key {KEY_ALIAS!r} opens with {SECRET}", "yes", "no"))
        s.refuse = f"the key {KEY_ALIAS!r} in {label} does not open with {SECRET}: not replaced"
        return s
    cert = entry.cert
    items, s.expiring = split_expiring(check_cert(cert, cn, label, key_bits, now))
    if f"IP:{ip_address(ip)}" not in (subject_alt_names(cert) or "").split(", "):
        items.append(Item(label, "subjectAltName", f"IP:{ip}", subject_alt_names(cert)))
    s.items += items
    s.renew = bool(items)
    s.cert = None if items else entry.chain[0]
    return s


def check_truststore(data: bytes | None, label: str, password: str,
                     wanted: Mapping[str, bytes | None]) -> tuple[list[Item], dict[str, bytes], str | None]:
    """Pure: (items, certificates to add by alias, why it cannot be fixed) for a trust store that
    must trust every node of `wanted` (name -> DER; None: the node's certificate is about to be
    made) and open with `password`."""
    items: list[Item] = []
    if data is None:
        return ([Item(label, "trust store", "present", None)], {},
                f"{label} is missing (the shipped trust store is expected)")
    ts = parse_store(data, label)
    if not ts.opens_with(password):
        if not ts.opens_with(SHIPPED_STORE_PASSWORD):
            return ([Item(label, f"opens with {SECRET}", "yes", "no")], {},
                    f"{label} opens neither with {SECRET} nor with the shipped password: not rewritten")
        items.append(Item(label, "password", password, SHIPPED_STORE_PASSWORD, secret=True))
    have = set(ts.all_certs())
    add = {}
    for name, der in wanted.items():
        if der is None:
            items.append(Item(label, f"trusts {name}'s certificate", "the new one", "not yet made"))
        elif der not in have:
            items.append(Item(label, f"trusts {name}'s certificate", fingerprint(der)[:16], None))
            add[name] = der
    return items, add, None


def own_cert(data: bytes | None, password: str, label: str) -> bytes | None:
    """The certificate of the key entry of a keystore that opens with password (and is not shipped), else None."""
    if data is None:
        return None
    try:
        ks = jks.parse(data)
    except jks.JksError:
        return None
    entry = ks.keys.get(KEY_ALIAS)
    if entry is None or is_shipped(ks) or not ks.opens_with(password):
        return None
    return entry.chain[0]
