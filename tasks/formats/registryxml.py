"""registry.xml as Carbon 4.4 reads it: dbConfigs, remoteInstances and mounts, defined once for the
cluster facts (probes/facts.py) and the planners of configure-datasources and mount-registry."""
from __future__ import annotations

from dataclasses import dataclass, field

from .xmldoc import XmlDoc

DBCONFIG = "dbConfig"
REMOTE_INSTANCE = "remoteInstance"
MOUNT = "mount"
#: the shipped local dbConfig; the registry blocks the guide adds go after it
LOCAL_DBCONFIG = "wso2registry"


def db_configs(doc: XmlDoc) -> list:
    """The active <dbConfig> elements."""
    return doc.children(doc.root, DBCONFIG)


def remote_instances(doc: XmlDoc) -> list:
    return doc.children(doc.root, REMOTE_INSTANCE)


def mounts(doc: XmlDoc) -> list:
    return doc.children(doc.root, MOUNT)


def instance_id(doc: XmlDoc, inst) -> str | None:
    """A <remoteInstance>'s <id> (a <mount>'s <instanceId> names it)."""
    return doc.find_text("id", inst)


def anchor(doc: XmlDoc):
    """The shipped local dbConfig (wso2registry), else the first one: new registry blocks go after it."""
    el = doc.find(f"{DBCONFIG}[@name='{LOCAL_DBCONFIG}']")
    return doc.find(DBCONFIG) if el is None else el


def used_instance(doc: XmlDoc):
    """The remoteInstance the mounts use (else the first one), or None."""
    instances = remote_instances(doc)
    used = {doc.find_text("instanceId", m) for m in mounts(doc)}
    return next((i for i in instances if instance_id(doc, i) in used), instances[0] if instances else None)


@dataclass
class Registry:
    """The dbConfigs (name -> dataSource) and the used remoteInstance's readOnly, cacheId and dbConfig."""

    db_configs: dict[str, str | None] = field(default_factory=dict)
    read_only: str | None = None
    cache_id: str | None = None
    remote_db_config: str | None = None


def read(doc: XmlDoc) -> Registry:
    out = Registry({d.get("name"): doc.find_text("dataSource", d) for d in db_configs(doc)})
    inst = used_instance(doc)
    if inst is not None:
        out.read_only = doc.find_text("readOnly", inst)
        out.cache_id = doc.find_text("cacheId", inst)
        out.remote_db_config = doc.find_text(DBCONFIG, inst)
    return out
