"""configure-datasources: MySQL datasources, the user store's dataSource
and the shared registry's dbConfig.

Guide: "Configurando el nodo manager" / "Configurando los nodos worker", steps 1-3.

- master-datasources.xml: REGISTRY_LOCAL1 (manager) or REGISTRY_LOCAL2 (worker) under
  jdbc/WSO2CarbonDB, REGISTRY_DB under jdbc/WSO2RegistryDB, WSO2_USER_DB under jdbc/WSO2UMDB,
  from snippets/datasource.xml.  The shipped H2 datasource WSO2_CARBON_DB holds
  jdbc/WSO2CarbonDB, the JNDI name the local datasource must take: it is turned into the
  REGISTRY_LOCALn datasource in place (its values edited one by one), so exactly one
  datasource holds each JNDI name and the diff shows only the changed values.  Any other
  datasource that still claims one of the three JNDI names (or names) is refused, never
  deleted.
- user-mgt.xml: Realm/Configuration/Property[@name='dataSource'] = jdbc/WSO2UMDB.
- registry.xml: <dbConfig name="sharedregistry"> -> jdbc/WSO2RegistryDB after the shipped
  wso2registry dbConfig (which stays).  This step owns that block; mount-registry ensures
  the same block with the same function (see `sharedregistry_block`), so the two steps
  never disagree and never duplicate it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..config import Host, Inventory
from ..rules import MASTER, REGISTRY, USER_MGT, jdbc_url, local_registry_db
from ..secrets import Secrets
from ..formats import datasourcesxml as dsx, registryxml, usermgtxml
from ..formats.xmldoc import XmlDoc
from .base import XmlEdits, XmlStep
from ..engine.context import StepError
from .blocks import Block, Snippet, ensure_blocks, indent_unit, text_of


CARBON_JNDI = "jdbc/WSO2CarbonDB"
REGISTRY_JNDI = "jdbc/WSO2RegistryDB"
UM_JNDI = "jdbc/WSO2UMDB"
SHARED_DBCONFIG = "sharedregistry"
PASSWORD = "WSO2_DB_PASSWORD"


@dataclass(frozen=True)
class DatasourceSpec:
    """One wanted datasource: its name (= database name), JNDI name and description."""

    name: str
    jndi: str
    description: str


def wanted_datasources(host: Host, inv: Inventory) -> list[DatasourceSpec]:
    """The guide's three datasources for this node, in the guide's order."""
    d = inv.database
    local = local_registry_db(inv, host)
    return [
        DatasourceSpec(local, CARBON_JNDI, "The datasource used for registry- local"),
        DatasourceSpec(d.registry_db, REGISTRY_JNDI, "The datasource used for registry- config/governance"),
        DatasourceSpec(d.user_db, UM_JNDI, "The datasource used for registry and user manager"),
    ]


def match_datasources(e: XmlEdits, parent, specs: list[DatasourceSpec]) -> dict[str, object]:
    """Existing datasource per wanted one: by name, else by JNDI name (the shipped H2 one); refuse clashes."""
    active = dsx.datasources(e.doc, parent)
    found: dict[str, object] = {}
    for key in (dsx.NAME, dsx.JNDI):
        for s in specs:
            want = s.name if key == dsx.NAME else s.jndi
            for ds in active:
                if s.name not in found and ds not in found.values() and text_of(ds, key) == want:
                    found[s.name] = ds
    names, jndis = {s.name for s in specs}, {s.jndi for s in specs}
    for ds in active:
        if ds in found.values():
            continue
        name, jndi = text_of(ds, dsx.NAME), text_of(ds, dsx.JNDI)
        if name in names or jndi in jndis:
            clash = f"JNDI name {jndi!r}" if jndi in jndis else f"name {name!r}"
            raise StepError(f"{e.label}: datasource {name!r} (line {ds.sourceline}) also holds the {clash}, "
                            f"which would conflict at startup; remove or rename it by hand, then run again")
    return found


def plan_master_datasources(e: XmlEdits, host: Host, inv: Inventory, secrets: Secrets) -> None:
    """master-datasources.xml: the three MySQL datasources (the H2 one converted in place)."""
    password = secrets.require(PASSWORD)
    parent = dsx.parent(e.doc)
    if parent is None:
        raise StepError(f"{e.label}: no <datasources> element")
    specs = wanted_datasources(host, inv)
    found = match_datasources(e, parent, specs)
    sample = next(iter(found.values()), None)
    unit = indent_unit(e.doc, parent if sample is None else sample)
    blocks = []
    for s in specs:
        url = jdbc_url(inv, s.name)
        values = {"name": s.name, "description": s.description, "jndi": s.jndi, "url": url,
                  "username": inv.database.user, "password": password}
        el = found.get(s.name)
        blocks.append(Block(f"datasource[name='{s.name}']", Snippet("datasource.xml", values, unit),
                            _just(el), f"{s.jndi} -> {url}"))
    ensure_blocks(e, parent, blocks, secret_tags=frozenset({"password"}), secrets=(password,))


def _just(el) -> Callable[[], list]:
    """A finder of one element found already (none when it is None)."""
    return lambda: [] if el is None else [el]


def plan_user_mgt(e: XmlEdits, host: Host, inv: Inventory, secrets: Secrets) -> None:
    """user-mgt.xml: the realm's dataSource property names the user database's JNDI name."""
    cfg = usermgtxml.configuration(e.doc)
    if cfg is None:
        raise StepError(f"{e.label}: no <Realm>/<Configuration> element")
    name = usermgtxml.DATA_SOURCE
    e.child_text(cfg, "Property", UM_JNDI, f"{usermgtxml.CONFIGURATION}/Property[@name='{name}']",
                 attrs={"name": name})


def registry_anchor(doc: XmlDoc):
    """The shipped local dbConfig (wso2registry): new registry blocks go after it."""
    return registryxml.anchor(doc)


def sharedregistry_block(doc: XmlDoc, unit: str) -> Block:
    """registry.xml <dbConfig name="sharedregistry"> -> jdbc/WSO2RegistryDB (shared by both registry steps)."""
    return Block(f"dbConfig[@name='{SHARED_DBCONFIG}']",
                 Snippet("dbconfig.xml", {"name": SHARED_DBCONFIG, "datasource": REGISTRY_JNDI}, unit),
                 lambda: [c for c in registryxml.db_configs(doc) if c.get("name") == SHARED_DBCONFIG],
                 REGISTRY_JNDI)


def plan_registry_dbconfig(e: XmlEdits, host: Host, inv: Inventory, secrets: Secrets) -> None:
    """registry.xml: the sharedregistry dbConfig after the wso2registry one (which stays)."""
    anchor = registry_anchor(e.doc)
    ensure_blocks(e, e.doc.root, [sharedregistry_block(e.doc, indent_unit(e.doc, anchor))], anchor=anchor)


class ConfigureDatasources(XmlStep):
    name = "configure-datasources"
    phase = "nodes"
    secrets = ("WSO2_DB_PASSWORD",)
    help = ("master-datasources.xml REGISTRY_LOCAL1/2, REGISTRY_DB, WSO2_USER_DB; user-mgt.xml dataSource; "
            "registry.xml dbConfig sharedregistry (guide: Configurando el nodo manager / los nodos worker, 1-3)")
    files = ((MASTER, plan_master_datasources), (USER_MGT, plan_user_mgt), (REGISTRY, plan_registry_dbconfig))
