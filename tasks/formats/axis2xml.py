"""axis2.xml as Carbon 4.4 reads it: where each value lives, defined once. The clustering section
(the cluster facts, probes/facts.py, read it through `read`; patch-axis2's planner, steps/axis2.py,
finds what it edits through the locators, so the two never disagree on a path), the PassThrough
listeners' WSDLEPRPrefix, and the https transports' key and trust store passwords (the ones
rules.KEYSTORE_PASSWORDS protects; a unit test holds the two to one path)."""
from __future__ import annotations

from dataclasses import dataclass, field

from .xmldoc import XmlDoc

CLUSTERING = "clustering"
MEMBERS = "members"
MEMBER = "member"
PROPERTIES = "parameter[@name='properties']"
SUB_DOMAIN = "property[@name='subDomain']"
#: how a report names the subDomain property
SUB_DOMAIN_PATH = f"{CLUSTERING}/{PROPERTIES}/{SUB_DOMAIN}"
#: the PassThrough listeners by scheme (their WSDLEPRPrefix names the balancer on workers)
LISTENERS = {
    "http": "org.apache.synapse.transport.passthru.PassThroughHttpListener",
    "https": "org.apache.synapse.transport.passthru.PassThroughHttpSSLListener",
}
WSDL_EPR_PREFIX = "WSDLEPRPrefix"


def store_password(direction: str, kind: str, store: str, field: str) -> str:
    """The path of a password of the https listener's (direction Listener) or sender's key or trust store
    (kind keystore/truststore, store KeyStore/TrustStore, field Password/KeyPassword)."""
    el = "transportReceiver" if direction == "Listener" else "transportSender"
    return f"{el}[@name='https']/parameter[@name='{kind}']/{store}/{field}"


def clustering(doc: XmlDoc):
    """The <clustering> element, or None."""
    return doc.find(CLUSTERING)


def parameter(doc: XmlDoc, cl, name: str):
    """clustering/parameter[@name=name], or None."""
    return doc.find(f"parameter[@name='{name}']", cl)


def members(doc: XmlDoc, cl):
    """clustering/<members>, or None."""
    return doc.find(MEMBERS, cl)


def member_elements(doc: XmlDoc, members_el) -> list:
    """The active <member> children of <members>."""
    return doc.children(members_el, MEMBER)


def endpoint(doc: XmlDoc, member) -> tuple[str, str]:
    """(hostName, port) of one <member>, '' for a missing one."""
    return (doc.find_text("hostName", member) or "", doc.find_text("port", member) or "")


def properties(doc: XmlDoc, cl):
    """clustering/parameter[@name='properties'], or None."""
    return doc.find(PROPERTIES, cl)


def sub_domain(doc: XmlDoc, props):
    """The subDomain <property> of the properties parameter, or None."""
    return doc.find(SUB_DOMAIN, props)


def listener(doc: XmlDoc, cls: str):
    """The transportReceiver of class `cls`, or None."""
    return doc.find(f"transportReceiver[@class='{cls}']")


@dataclass(frozen=True)
class Clustering:
    """What the clustering section holds (None: the file does not say)."""

    domain: str | None = None
    member_host: str | None = None
    member_port: str | None = None
    members: list[tuple[str, str]] = field(default_factory=list)
    sub_domain: str | None = None


def wsdl_epr_prefixes(doc: XmlDoc) -> dict[str, str | None]:
    """scheme -> the WSDLEPRPrefix of its PassThrough listener (None: no such parameter), for the
    listeners the file has."""
    out = {}
    for scheme, cls in LISTENERS.items():
        tr = listener(doc, cls)
        if tr is not None:
            out[scheme] = doc.find_text(f"parameter[@name='{WSDL_EPR_PREFIX}']", tr)
    return out


def read(doc: XmlDoc) -> Clustering | None:
    """The clustering values of axis2.xml; None when it has no <clustering>."""
    cl = clustering(doc)
    if cl is None:
        return None
    param = lambda name: doc.find_text(f"parameter[@name='{name}']", cl)
    m = members(doc, cl)
    props = properties(doc, cl)
    prop = None if props is None else sub_domain(doc, props)
    return Clustering(param("domain"), param("localMemberHost"), param("localMemberPort"),
                      [] if m is None else [endpoint(doc, x) for x in member_elements(doc, m)],
                      None if prop is None else prop.get("value"))
