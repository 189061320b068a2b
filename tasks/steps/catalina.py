"""set-proxyports: catalina-server.xml proxyPort on the HTTP and HTTPS connectors.

Guide: "Configuracion del nodo Manager", step 7: the management console is
reached only through the load balancer, so the 9763 connector gets
proxyPort = lb_http_port and the 9443 connector proxyPort = lb_https_port.
The new attribute gets its own line after port="...", like the guide shows.
"""
from __future__ import annotations

from ..config import Host, Inventory
from ..rules import CATALINA
from ..secrets import Secrets
from .base import XmlEdits, XmlStep
from ..engine.context import StepError



def wanted_proxy_ports(inv: Inventory) -> dict[str, str]:
    """Connector port -> wanted proxyPort."""
    return {"9763": str(inv.cluster.lb_http_port), "9443": str(inv.cluster.lb_https_port)}


def plan_catalina(e: XmlEdits, host: Host, inv: Inventory, secrets: Secrets) -> None:
    """proxyPort on the Connector with port 9763 (HTTP) and 9443 (HTTPS)."""
    for port, proxy in wanted_proxy_ports(inv).items():
        found = e.doc.findall(f".//Connector[@port='{port}']")
        if len(found) != 1:
            raise StepError(f"{e.label}: expected one <Connector port=\"{port}\">, found {len(found)}")
        e.attr(found[0], "proxyPort", proxy, f"Connector[@port='{port}']", after="port")


class SetProxyPorts(XmlStep):
    name = "set-proxyports"
    phase = "nodes"
    help = ("catalina-server.xml proxyPort on the 9763/9443 connectors "
            "(guide: Configuracion del nodo Manager, 7)")
    files = ((CATALINA, plan_catalina),)
    roles = ("manager",)  # the management console is served through the load balancer
