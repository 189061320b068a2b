"""enable-depsync and set-hostnames: carbon.xml (default namespace, ISO-8859-1 declaration).

Guide: "Habilitando el DepSync en el nodo manager / en los nodos worker" and
"Configuracion del nodo Manager/worker", steps 3 to 5.  AutoCommit is true on
the manager only; the guide's worker section is titled "AutoCommit true" but
shows false, and false is right.
"""
from __future__ import annotations

from ..config import Host, Inventory
from ..rules import CARBON, auto_commit, has_mgt_hostname
from ..secrets import Secrets
from ..formats import carbonxml
from .base import XmlEdits, XmlStep
from ..engine.context import StepError



def depsync_values(host: Host, inv: Inventory, password: str) -> list[tuple[str, str, bool]]:
    """(element, wanted text, secret) of <DeploymentSynchronizer>, in the file's order."""
    return [
        ("Enabled", "true", False),
        ("AutoCommit", auto_commit(host.role), False),
        ("AutoCheckout", "true", False),
        ("RepositoryType", "svn", False),
        ("SvnUrl", inv.svn.url, False),
        ("SvnUser", inv.svn.user, False),
        ("SvnPassword", password, True),
        ("SvnUrlAppendTenantId", "true", False),
    ]


def plan_depsync(e: XmlEdits, host: Host, inv: Inventory, secrets: Secrets) -> None:
    """The active <DeploymentSynchronizer> set for SVN; the commented registry example stays a comment."""
    if not inv.svn.url:
        raise StepError(f"{e.label}: [svn].url is not set in {inv.path}; enable-depsync needs it for SvnUrl")
    password = secrets.require("SVN_PASSWORD")
    doc = e.doc
    found = carbonxml.depsyncs(doc)
    if len(found) != 1:
        raise StepError(f"{e.label}: expected one active <DeploymentSynchronizer>, found {len(found)}")
    ds = found[0]
    prev = None  # a missing child goes after the last present one before it, keeping the guide's order
    for tag, wanted, secret in depsync_values(host, inv, password):
        e.child_text(ds, tag, wanted, f"DeploymentSynchronizer/{tag}", after=prev, secret=secret)
        prev = _first(carbonxml.child(doc, ds, tag), prev)


def plan_hostnames(e: XmlEdits, host: Host, inv: Inventory, secrets: Secrets) -> None:
    """HostName on every ESB node, MgtHostName on the manager (uncommented in place), Ports/Offset."""
    doc = e.doc
    root = doc.root
    version = doc.find(carbonxml.VERSION)
    host_name, mgt = carbonxml.HOSTNAME, carbonxml.MGT_HOSTNAME
    e.child_text(root, host_name, inv.cluster.hostname, host_name, after=version)
    if has_mgt_hostname(host):
        anchor = _first(doc.find(host_name), doc.commented(root, host_name), version)
        e.child_text(root, mgt, inv.cluster.mgt_hostname, mgt, after=anchor)
    ports = carbonxml.ports(doc)
    if ports is None:
        raise StepError(f"{e.label}: no <{carbonxml.PORTS}> element")
    e.child_text(ports, carbonxml.OFFSET, str(host.port_offset), f"{carbonxml.PORTS}/{carbonxml.OFFSET}")


class EnableDepsync(XmlStep):
    name = "enable-depsync"
    phase = "nodes"
    secrets = ("SVN_PASSWORD",)
    help = "carbon.xml DeploymentSynchronizer (SVN; AutoCommit on the manager only) (guide: Habilitando el DepSync)"
    files = ((CARBON, plan_depsync),)


class SetHostnames(XmlStep):
    name = "set-hostnames"
    phase = "nodes"
    help = ("carbon.xml HostName, MgtHostName (manager), Ports/Offset "
            "(guide: Configuracion del nodo Manager/worker, 3 and 5)")
    files = ((CARBON, plan_hostnames),)


def _first(*nodes):
    """The first node that is not None (lxml elements without children are falsy)."""
    return next((n for n in nodes if n is not None), None)
