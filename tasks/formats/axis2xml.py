"""axis2.xml's clustering section as Carbon 4.4 reads it: where each value lives, defined once. The
cluster facts (probes/facts.py) read it through `read`; patch-axis2's planner (steps/axis2.py) finds
what it edits through the locators, so the two never disagree on a path."""
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


@dataclass
class Clustering:
    """What the clustering section holds (None: the file does not say)."""

    domain: str | None = None
    member_host: str | None = None
    member_port: str | None = None
    members: list[tuple[str, str]] = field(default_factory=list)
    sub_domain: str | None = None


def read(doc: XmlDoc) -> Clustering | None:
    """The clustering values of axis2.xml; None when it has no <clustering>."""
    cl = clustering(doc)
    if cl is None:
        return None
    param = lambda name: doc.find_text(f"parameter[@name='{name}']", cl)
    out = Clustering(param("domain"), param("localMemberHost"), param("localMemberPort"))
    m = members(doc, cl)
    if m is not None:
        out.members = [endpoint(doc, x) for x in member_elements(doc, m)]
    props = properties(doc, cl)
    prop = None if props is None else sub_domain(doc, props)
    out.sub_domain = None if prop is None else prop.get("value")
    return out
