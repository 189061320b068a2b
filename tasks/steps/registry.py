"""mount-registry: the shared config and governance registry mounts in registry.xml.

Guide: "Montando el registro en el manager y los nodos worker".

Blocks, from snippets/, placed as the guide shows them right after the shipped
wso2registry dbConfig (which stays): <dbConfig name="sharedregistry"> (owned by
configure-datasources; ensured here with the same function so that a remote
instance never points at a missing dbConfig), <remoteInstance> `instanceid`
(readOnly false on the manager, true on workers; cacheId <user>@<REGISTRY_DB url>),
and one <mount overwrite="true"> per path.  The commented examples of the shipped
file stay comments: new blocks are inserted, never uncommented.
"""
from __future__ import annotations

from typing import Callable

from .. import rules
from ..config import Host, Inventory
from ..secrets import Secrets
from ..formats import registryxml
from .base import XmlEdits, XmlStep
from .blocks import Block, Snippet, ensure_blocks, indent_unit
from .datasources import REGISTRY, SHARED_DBCONFIG, registry_anchor, sharedregistry_block

INSTANCE_ID = "instanceid"
MOUNTS = ("/_system/config", "/_system/governance")


def read_only(host: Host) -> str:
    """Only the manager writes to the shared registry (tasks/rules.py)."""
    return rules.read_only(host.role)


def plan_registry_mount(e: XmlEdits, host: Host, inv: Inventory, secrets: Secrets) -> None:
    """registry.xml: sharedregistry dbConfig, remoteInstance and the two mounts."""
    doc, root = e.doc, e.doc.root
    anchor = registry_anchor(doc)
    unit = indent_unit(doc, anchor)
    remote = {"id": INSTANCE_ID, "dbconfig": SHARED_DBCONFIG, "read_only": read_only(host),
              "cache_id": rules.cache_id(inv)}
    blocks = [
        sharedregistry_block(doc, unit),
        Block(f"remoteInstance[id='{INSTANCE_ID}']", Snippet("remote-instance.xml", remote, unit),
              lambda: [c for c in registryxml.remote_instances(doc) if registryxml.instance_id(doc, c) == INSTANCE_ID],
              f"{INSTANCE_ID} (readOnly {remote['read_only']})"),
    ]
    for path in MOUNTS:
        blocks.append(Block(f"mount[@path='{path}']",
                            Snippet("mount.xml", {"path": path, "instance_id": INSTANCE_ID}, unit),
                            _mount_at(doc, path),
                            f"{INSTANCE_ID}:{path}"))
    ensure_blocks(e, root, blocks, anchor=anchor)


def _mount_at(doc, path: str) -> Callable[[], list]:
    """A finder of the active <mount>s of `path`."""
    return lambda: [c for c in registryxml.mounts(doc) if c.get("path") == path]


class MountRegistry(XmlStep):
    name = "mount-registry"
    phase = "nodes"
    help = ("registry.xml remoteInstance (readOnly false on manager, true on workers, cacheId) and the "
            "/_system/config, /_system/governance mounts (guide: Montando el registro)")
    files = ((REGISTRY, plan_registry_mount),)
