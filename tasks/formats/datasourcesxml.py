"""master-datasources.xml as Carbon 4.4 reads it: each <datasource>'s name, JNDI name and
RDBMS configuration, defined once for the cluster facts (probes/facts.py) and
configure-datasources' planner."""
from __future__ import annotations

from dataclasses import dataclass, field

from .securevault import vault_alias
from .xmldoc import XmlDoc

DATASOURCES = "datasources"
DATASOURCE = "datasource"
NAME = "name"
JNDI = "jndiConfig/name"
CONFIG = "definition/configuration"


def parent(doc: XmlDoc):
    """The <datasources> element, or None."""
    return doc.find(DATASOURCES)


def datasources(doc: XmlDoc, under) -> list:
    """The active <datasource> elements of <datasources>."""
    return doc.children(under, DATASOURCE)


@dataclass(frozen=True)
class Datasource:
    """One datasource as written. `password` is the text as written: a password, or Secure Vault's
    placeholder when `password_alias` is set (the caller decides what is a secret)."""

    name: str | None
    jndi: str | None
    url: str | None
    username: str | None
    driver: str | None = None
    password: str | None = field(default=None, repr=False)
    password_alias: str | None = None


def read(doc: XmlDoc) -> list[Datasource]:
    """Every active datasource, in the file's order."""
    top = parent(doc)
    if top is None:
        return []
    out = []
    for ds in datasources(doc, top):
        pw = doc.find(f"{CONFIG}/password", ds)
        out.append(Datasource(doc.find_text(NAME, ds), doc.find_text(JNDI, ds), doc.find_text(f"{CONFIG}/url", ds),
                              doc.find_text(f"{CONFIG}/username", ds), doc.find_text(f"{CONFIG}/driverClassName", ds),
                              None if pw is None else (pw.text or "").strip(), None if pw is None else vault_alias(pw)))
    return out
