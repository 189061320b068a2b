"""Pure planners for the passwords CONTRACT §8 names: set one to a secret, or turn
it into a Secure Vault reference.

Each password is a `rules.Protected` (alias, file, element path, attribute).  `set_password` is
what create-keystore and set-admin-password write; a value already moved into Secure Vault
(svns:secretAlias and the text `password`) is left to secure-vault.  `make_reference` is what
secure-vault writes: the alias on the element, the placeholder `password` as its value, the
svns namespace declared on the root.
"""
from __future__ import annotations

from ..rules import Protected
from .base import XmlEdits
from ..engine.context import StepError
from ..formats.securevault import SECRET_ALIAS, SVNS, VAULT_PLACEHOLDER, vault_alias


def elements(e: XmlEdits, p: Protected) -> list:
    """The elements holding the password (an absent one is an error naming the path)."""
    found = e.doc.findall(p.path)
    if not found and not p.optional:
        raise StepError(f"{e.label}: no <{p.path}> element; the file is not the shipped one")
    return found


def current(el, p: Protected) -> str:
    """The password as the file holds it (attribute or text)."""
    return (el.get(p.attr) if p.attr else el.text) or ""


def is_reference(el, p: Protected) -> bool:
    """True when the value is a Secure Vault reference (an alias, and the placeholder as its value)."""
    return vault_alias(el) is not None and current(el, p).strip() == VAULT_PLACEHOLDER


def set_password(e: XmlEdits, p: Protected, value: str) -> None:
    """Make the password `value` (masked everywhere), unless Secure Vault holds it."""
    for el in elements(e, p):
        if is_reference(el, p):
            continue
        if not p.attr:
            e.text(el, value, p.path, secret=True)
            continue
        actual = el.get(p.attr)
        e.secret(value, actual or "")
        if actual != value:
            e.item(f"{p.path}/@{p.attr}", value, actual, secret=True)
            e.doc.set_attr(el, p.attr, value)


def plain_text(e: XmlEdits, p: Protected) -> list:
    """The elements of p whose password is written in plain text (no Secure Vault reference)."""
    return [el for el in elements(e, p) if not is_reference(el, p)]


def declare_svns(e: XmlEdits) -> None:
    """The root declares xmlns:svns (Carbon's SecretResolver looks for the alias in that namespace)."""
    root = e.doc.root
    bound = root.nsmap.get("svns")
    if bound == SVNS:
        return
    if bound is not None:
        raise StepError(f"{e.label}: the prefix svns is bound to {bound!r}, not {SVNS}")
    e.item("xmlns:svns", SVNS, None)
    e.doc.set_attr(root, "xmlns:svns", SVNS)


def make_reference(e: XmlEdits, p: Protected) -> None:
    """svns:secretAlias = p.alias on the element and `password` as its value (the old value masked)."""
    for el in elements(e, p):
        alias = el.get(SECRET_ALIAS)
        if alias != p.alias:
            e.item(f"{p.path}/@svns:secretAlias", p.alias, alias)
            e.doc.set_attr(el, "svns:secretAlias", p.alias)
        old = current(el, p)
        if old.strip() != VAULT_PLACEHOLDER:
            e.secret(old, e.doc.source_text(el) if not p.attr else old)
            e.item(f"{p.path}{'/@' + p.attr if p.attr else ''}", "a Secure Vault reference", "plain text",
                   secret=False)
            if p.attr:
                e.doc.set_attr(el, p.attr, VAULT_PLACEHOLDER)
            else:
                e.doc.set_text(el, VAULT_PLACEHOLDER)


__all__ = ["set_password", "make_reference", "declare_svns", "plain_text", "is_reference", "elements"]
