"""patch-axis2: Hazelcast WKA clustering in axis2.xml (guide: "Configuracion del nodo Manager/worker", step 2)."""
from __future__ import annotations

from ..config import Host, Inventory
from ..rules import AXIS2, sub_domain, wka_peers
from ..secrets import Secrets
from ..formats import axis2xml
from ..formats.xmltext import element_markup
from .base import XmlEdits, XmlStep
from ..engine.context import StepError

LISTENERS = axis2xml.LISTENERS


def wanted_members(host: Host, inv: Inventory) -> list[tuple[str, str]]:
    """(hostName, port) of the WKA members: the other role's nodes, with their own member ports."""
    return [(p.member_host, str(p.member_port)) for p in wka_peers(inv, host)]


def wsdl_epr_prefix(inv: Inventory, scheme: str) -> str:
    port = inv.cluster.lb_http_port if scheme == "http" else inv.cluster.lb_https_port
    return f"{scheme}://{inv.cluster.hostname}:{port}"


def plan_axis2(e: XmlEdits, host: Host, inv: Inventory, secrets: Secrets) -> None:
    """Clustering enabled, wka, domain, this node's member host/port, peers, subDomain; WSDLEPRPrefix on workers."""
    doc = e.doc
    cl = axis2xml.clustering(doc)
    if cl is None:
        raise StepError(f"{e.label}: no <clustering> element")
    e.attr(cl, "enable", "true", "clustering")
    params = {
        "membershipScheme": "wka",
        "domain": inv.cluster.domain,
        "localMemberHost": host.member_host,
        "localMemberPort": str(host.member_port),
    }
    for name, value in params.items():
        e.child_text(cl, "parameter", value, f"clustering/parameter[@name='{name}']", attrs={"name": name})

    _members(e, cl, wanted_members(host, inv))
    _sub_domain(e, cl, sub_domain(host.role))

    if host.role == "worker":
        for scheme, cls in LISTENERS.items():
            tr = axis2xml.listener(doc, cls)
            if tr is None:
                raise StepError(f"{e.label}: no transportReceiver {cls}")
            prefix = axis2xml.WSDL_EPR_PREFIX
            e.child_text(tr, "parameter", wsdl_epr_prefix(inv, scheme),
                         f"transportReceiver[@name='{tr.get('name')}']/parameter[@name='{prefix}']",
                         attrs={"name": prefix, "locked": "false"}, match={"name": prefix},
                         after=tr.find("parameter[@name='non-blocking']"))


def _members(e: XmlEdits, cl, wanted: list[tuple[str, str]]) -> None:
    doc = e.doc
    members = axis2xml.members(doc, cl)
    if members is None:
        raise StepError(f"{e.label}: no clustering/<members> element")
    have = axis2xml.member_elements(doc, members)
    actual = [axis2xml.endpoint(doc, m) for m in have]
    if actual == wanted:
        return
    fmt = lambda ms: ", ".join(f"{h}:{p}" for h, p in ms) or "(none)"
    e.item("clustering/members", fmt(wanted), fmt(actual))
    for m, (h, p) in zip(have, wanted, strict=False):
        for tag, value in (("hostName", h), ("port", p)):
            el = m.find(tag)
            if el is None:
                doc.insert_child(m, element_markup(tag, value))
            elif (el.text or "").strip() != value:
                doc.set_text(el, value)
    for m in have[len(wanted):]:
        doc.remove(m)
    extra = wanted[len(have):]
    if extra:
        unit = _unit(doc, members, have)
        blocks = [f"<member>\n{unit}<hostName>{h}</hostName>\n{unit}<port>{p}</port>\n</member>" for h, p in extra]
        if have:
            doc.insert_after(have[-1], "\n".join(blocks))
        else:
            doc.insert_child(members, "\n".join(blocks), unit=unit)


def _unit(doc, members, have) -> str:
    """The file's indentation step, read from an existing member (default four spaces)."""
    if have:
        inner = [c for c in have[0] if isinstance(c.tag, str)]
        if inner:
            outer = doc.indent_of(have[0])
            child = doc.indent_of(inner[0])
            if child.startswith(outer) and len(child) > len(outer):
                return child[len(outer):]
    return "    "


def _sub_domain(e: XmlEdits, cl, wanted: str) -> None:
    doc = e.doc
    props = axis2xml.properties(doc, cl)
    if props is None:
        raise StepError(f"{e.label}: no clustering/parameter[@name='properties']")
    el = axis2xml.sub_domain(doc, props)
    what = axis2xml.SUB_DOMAIN_PATH
    if el is not None:
        e.attr(el, "value", wanted, what)
        return
    e.item(f"{what}/@value", wanted, None)
    active = [c for c in props if isinstance(c.tag, str)]
    markup = element_markup("property", None, {"name": "subDomain", "value": wanted})
    if active:
        doc.insert_after(active[-1], markup)
    else:
        doc.insert_child(props, markup)


class PatchAxis2(XmlStep):
    name = "patch-axis2"
    phase = "nodes"
    help = ("axis2.xml clustering: enable, wka, domain, localMemberHost/Port, members, subDomain, "
            "WSDLEPRPrefix on workers (guide: Configuracion del nodo Manager/worker, 2)")
    files = ((AXIS2, plan_axis2),)
