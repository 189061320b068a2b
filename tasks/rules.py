"""The product's rules in one place: which value each role gets, and where the files are.

Planners (what patch writes) and consistency checks (what verify compares across nodes) both ask
here, so that a rule is written once: AutoCommit true and readOnly false on the manager only, the
subDomain `mgt` for the manager and `worker` for the others, each node's WKA members the other
role's nodes, the local registry database per role, the management hostname on the manager only.
"""
from __future__ import annotations

from .config import Host, Inventory

#: the product files the steps edit, relative to the product home
AXIS2 = "repository/conf/axis2/axis2.xml"
CARBON = "repository/conf/carbon.xml"
CATALINA = "repository/conf/tomcat/catalina-server.xml"
MASTER = "repository/conf/datasources/master-datasources.xml"
USER_MGT = "repository/conf/user-mgt.xml"
REGISTRY = "repository/conf/registry.xml"

#: Carbon's ports before the offset: the console (HTTPS, HTTP) and PassThrough (HTTP, HTTPS)
MGT_HTTPS_PORT, MGT_HTTP_PORT, PT_HTTP_PORT, PT_HTTPS_PORT = 9443, 9763, 8280, 8243


def is_manager(host_or_role) -> bool:
    role = host_or_role if isinstance(host_or_role, str) else host_or_role.role
    return role == "manager"


def auto_commit(role: str) -> str:
    """DepSync AutoCommit: only the manager commits artifacts to the SVN repository."""
    return "true" if is_manager(role) else "false"


def read_only(role: str) -> str:
    """The shared registry's remoteInstance readOnly: only the manager writes to it."""
    return "false" if is_manager(role) else "true"


def sub_domain(role: str) -> str:
    """The Hazelcast subDomain of a node: `mgt` on the manager, `worker` elsewhere."""
    return "mgt" if is_manager(role) else "worker"


def wka_peers(inv: Inventory, host: Host) -> list[Host]:
    """A node's WKA members: the other role's ESB nodes (the manager lists the workers, a worker the manager)."""
    return inv.by_role("worker" if is_manager(host) else "manager")


def local_registry_db(inv: Inventory, host: Host) -> str:
    """The node's local registry database: REGISTRY_LOCAL1 on the manager, REGISTRY_LOCAL2 on workers."""
    return inv.database.local_db_manager if is_manager(host) else inv.database.local_db_worker


def has_mgt_hostname(host: Host) -> bool:
    """carbon.xml MgtHostName is the manager's only."""
    return is_manager(host)
