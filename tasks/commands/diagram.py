"""`fab diagram`: the cluster as its files configure it, drawn with
Graphviz, drift in red (CONTRACT §9).

Read-only, from what `verify` reads: every step's plan (drift items per host), the ESB nodes'
facts (tasks/probes/facts.py: WKA members, DepSync, registry mount, datasources) and the
consistency findings, plus the load balancer's files (tasks/probes/facts.py `read_lb_facts`).
`build_dot` is pure: the same facts and findings give the same DOT text, so the SVG is stable
and diffable.  Every drift item or finding is drawn on the element it is about (a WKA edge, a
DepSync edge, a registry mount, a datasource edge; else the host itself), in red, with its
label; a legend explains the colours.
"""
from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ..config import ConfigError, Host, Inventory
from ..probes.cluster import CLUSTER, cluster_results, gather
from ..probes.facts import LbFacts, NodeFacts
from ..steps import STEPS
from ..engine.plan import Item
from ..engine.results import Status
from ..rules import MGT_HTTP_PORT, MGT_HTTPS_PORT, PT_HTTP_PORT, PT_HTTPS_PORT

RED = "#d62728"
INK = "#333333"
#: Carbon's ports before the offset (tasks/rules.py): HTTPS/HTTP console, PassThrough HTTP/HTTPS
CARBON_PORTS = (("https", MGT_HTTPS_PORT), ("http", MGT_HTTP_PORT), ("pt-http", PT_HTTP_PORT),
                ("pt-https", PT_HTTPS_PORT))
_DB_NAME = re.compile(r"^jdbc:mysql://[^/]+/([^?;]+)")


def q(text: str) -> str:
    """A DOT double-quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


@dataclass
class Element:
    """A node or an edge of the picture: its id, DOT text and the findings drawn on it."""

    id: str
    head: str  # `"a"` or `"a" -> "b"`
    label: str
    attrs: dict[str, str] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)

    def dot(self) -> str:
        attrs = dict(self.attrs)
        label = self.label
        if self.findings:
            attrs.update(color=RED, fontcolor=RED, penwidth="2")
            label += "\n" + "\n".join(f"! {f}" for f in sorted(set(self.findings)))
        attrs["id"] = self.id
        attrs["label"] = label
        return f"  {self.head} [" + ", ".join(f"{k}={q(v)}" for k, v in sorted(attrs.items())) + "];"


def _short(item: Item) -> str:
    """A finding's label: what, wanted and actual (secrets never: items carry them masked)."""
    d = item.as_dict()
    what = d["what"].split(" (")[0]
    fmt = lambda v: "(absent)" if v is None else str(v)
    return f"{what}: {fmt(d['actual'])}, wanted {fmt(d['wanted'])}"


def target_of(item: Item) -> str:
    """Which kind of element an item is about: members, depsync, mount, datasources, or the node."""
    f, w = item.file, item.what
    if f.endswith("axis2.xml") and "members" in w:
        return "members"
    if f.endswith("carbon.xml") and ("DeploymentSynchronizer" in w or "AutoCommit" in w or "SvnUrl" in w):
        return "depsync"
    if f.endswith("registry.xml") and ("remoteInstance" in w or "mount" in w or "readOnly" in w or "cacheId" in w):
        return "mount"
    if f.endswith("master-datasources.xml") or (f.endswith("registry.xml") and "dbConfig" in w):
        return "datasources"
    return "node"


def ports(h: Host) -> str:
    return "  ".join(f"{n} {p + h.port_offset}" for n, p in CARBON_PORTS)


def build_dot(inv: Inventory, facts: dict[str, NodeFacts], lbs: dict[str, LbFacts],
              findings: dict[str, list[Item]], failures: dict[str, str]) -> str:
    """The DOT text of the cluster. findings: host -> drift items and consistency findings (not
    warnings); failures: host -> why its files could not be read."""
    nodes: list[Element] = []
    edges: list[Element] = []
    by_endpoint = {(f.member_host, f.member_port): n for n, f in facts.items() if f.member_host}
    db = inv.database
    db_id = "database"
    svn_id = "svn"
    for h in inv.hosts.values():
        label = f"{h.name} ({h.role})\n{h.member_host if h.is_esb else h.address}"
        if h.is_esb:
            label += f"\n{ports(h)}" + (f"  (offset {h.port_offset})" if h.port_offset else "")
            f = facts.get(h.name)
            if f and f.member_port:
                label += f"\nWKA {f.member_host}:{f.member_port}  {f.sub_domain or '?'}"
        if h.role == "lb" and h.name in lbs:
            label += "".join(f"\n{v}" for v in lbs[h.name].vhosts)
        el = Element(f"node:{h.name}", q(h.name), label, {"shape": "box", "style": "rounded,filled",
                                                           "fillcolor": {"manager": "#dbe8f7", "worker": "#e6f2e1",
                                                                         "lb": "#fbeed5"}.get(h.role, "#eeeeee")})
        if h.name in failures:
            el.findings.append(f"cannot read its files: {failures[h.name]}")
        el.findings += [_short(i) for i in findings.get(h.name, []) if target_of(i) == "node"]
        nodes.append(el)
    names = sorted({d for f in facts.values() for d in _db_names(f)})
    nodes.append(Element(f"node:{db_id}", q(db_id),
                         f"database {db.alias}:{db.port}\n(host {db.host or '?'})\n" + "\n".join(names),
                         {"shape": "cylinder", "style": "filled", "fillcolor": "#f3e6f7"}))
    if db.host in inv.hosts:  # the database runs on a host of hosts.toml
        edges.append(Element(f"serves:{db.host}", f"{q(db.host)} -> {q(db_id)}", "serves",
                             {"style": "dotted", "color": "#999999", "fontcolor": "#999999", "arrowhead": "none"}))
    svn_urls = sorted({f.svn_url for f in facts.values() if f.svn_url})
    if svn_urls or inv.svn.url:
        nodes.append(Element(f"node:{svn_id}", q(svn_id), "SVN (DepSync)\n" + "\n".join(svn_urls or [inv.svn.url]),
                             {"shape": "folder", "style": "filled", "fillcolor": "#f7f3d9"}))
    for name in sorted(facts):
        f, mine = facts[name], findings.get(name, [])
        red = {k: [_short(i) for i in mine if target_of(i) == k]
               for k in ("members", "depsync", "mount", "datasources")}
        for host, port in sorted(set(f.members)):
            peer = by_endpoint.get((host, port))
            if peer is None:  # a member no node listens as: its own (red) node
                peer = f"?{host}:{port}"
                nodes.append(Element(f"node:{peer}", q(peer), f"{host}:{port}\n(no node listens here)",
                                     {"shape": "box", "style": "dashed", "color": RED, "fontcolor": RED}))
            edges.append(Element(f"wka:{name}->{peer}", f"{q(name)} -> {q(peer)}", f"WKA {host}:{port}",
                                 {"style": "dashed", "color": "#1f77b4", "fontcolor": "#1f77b4"},
                                 (red["members"] or ["no node listens here"]) if peer.startswith("?")
                                 else red["members"]))
        if not f.members and red["members"]:
            nodes_el = next(e for e in nodes if e.id == f"node:{name}")
            nodes_el.findings += red["members"]
        if f.svn_url:
            commit = (f.auto_commit or "").lower() == "true"
            head = f"{q(name)} -> {q(svn_id)}" if commit else f"{q(svn_id)} -> {q(name)}"
            edges.append(Element(f"depsync:{name}", head, f"DepSync {'commit' if commit else 'checkout'} "
                                 f"(AutoCommit {f.auto_commit})", {"color": "#8c6d1f", "fontcolor": "#8c6d1f"},
                                 red["depsync"]))
        elif red["depsync"]:
            next(e for e in nodes if e.id == f"node:{name}").findings += red["depsync"]
        dbs = _db_names(f)
        edges.append(Element(f"datasources:{name}", f"{q(name)} -> {q(db_id)}",
                             "datasources\n" + "\n".join(dbs) if dbs else "datasources (none on MySQL)",
                             {"color": "#6f3f8f", "fontcolor": "#6f3f8f"}, red["datasources"]))
        ro = (f.read_only or "").lower()
        mount = "read-only" if ro == "true" else "read-write" if ro == "false" else "no remoteInstance"
        edges.append(Element(f"mount:{name}", f"{q(name)} -> {q(db_id)}",
                             f"registry mount {mount}\ncacheId {f.cache_id or '(none)'}",
                             {"style": "bold" if ro == "false" else "solid", "color": "#555555",
                              "fontcolor": "#555555", "arrowhead": "odot"}, red["mount"]))
    for lb_name in sorted(lbs):
        for vhost, upstream in lbs[lb_name].routes:
            target = _endpoint_host(inv, upstream)
            edges.append(Element(f"lb:{lb_name}:{vhost}->{upstream}", f"{q(lb_name)} -> {q(target or upstream)}",
                                 f"{vhost} -> {upstream}", {"color": "#d98c00", "fontcolor": "#d98c00"}))
            if target is None:
                nodes.append(Element(f"node:{upstream}", q(upstream), f"{upstream}\n(no node of hosts.toml)",
                                     {"shape": "box", "style": "dashed", "color": RED, "fontcolor": RED}))
    seen: set[str] = set()
    out = ["digraph cluster {",
           f"  graph [rankdir=LR, fontname=Helvetica, labelloc=t, label={q(title(inv, findings, failures))}];",
           f"  node [fontname=Helvetica, fontsize=10, color={q(INK)}];",
           "  edge [fontname=Helvetica, fontsize=9];"]
    for el in nodes + edges:
        if el.id not in seen:
            seen.add(el.id)
            out.append(el.dot())
    out += legend()
    out.append("}")
    return "\n".join(out) + "\n"


def title(inv: Inventory, findings: dict[str, list[Item]], failures: dict[str, str]) -> str:
    n = sum(len(v) for v in findings.values()) + len(failures)
    state = "in sync" if not n else f"{n} finding(s), in red"
    return f"WSO2 ESB cluster {inv.cluster.domain}: {inv.cluster.hostname} / {inv.cluster.mgt_hostname} ({state})"


def legend() -> list[str]:
    rows = [("WKA member (axis2.xml)", "#1f77b4", "dashed"), ("DepSync (carbon.xml)", "#8c6d1f", "solid"),
            ("datasources (master-datasources.xml)", "#6f3f8f", "solid"),
            ("registry mount (registry.xml; bold = read-write)", "#555555", "solid"),
            ("load balancer route (nginx)", "#d98c00", "solid"), ("drift or inconsistency (fab verify)", RED, "solid")]
    cells = "".join(f'<TR><TD><FONT COLOR="{c}">{"- - -" if s == "dashed" else "-----"}</FONT></TD>'
                    f'<TD ALIGN="LEFT">{t}</TD></TR>' for t, c, s in rows)
    return ["  subgraph cluster_legend {", '    label="legend"; fontname=Helvetica; fontsize=10; color="#bbbbbb";',
            f'    legend [id="legend", shape=plaintext, label=<<TABLE BORDER="0" CELLSPACING="0">{cells}</TABLE>>];',
            "  }"]


def _db_names(f: NodeFacts) -> list[str]:
    out = []
    for d in f.datasources:
        m = _DB_NAME.match(d.url or "")
        if m:
            out.append(f"{d.name}: {m.group(1)}")
    return sorted(out)


def _endpoint_host(inv: Inventory, upstream: str) -> str | None:
    """The ESB node an upstream `member_host:port` names (port after its offset), if any."""
    host, _, port = upstream.rpartition(":")
    host = host.strip("[]")
    for h in inv.esb_nodes:
        if h.member_host == host and port.isdigit() and \
                int(port) - h.port_offset in (MGT_HTTPS_PORT, PT_HTTP_PORT, PT_HTTPS_PORT):
            return h.name
    return None


def check_output(output: Path) -> None:
    """The picture's path is usable (.svg or .png, in a folder that exists): checked before any host."""
    if output.suffix.lower() not in (".svg", ".png"):
        raise ConfigError(f"--output {output}: the picture must be .svg or .png")
    if not output.parent.is_dir():
        raise ConfigError(f"--output {output}: folder {output.parent} does not exist")


def render(dot: str, output: Path) -> None:
    """Write output (.svg or .png) with Graphviz's dot; a clear error when dot is missing or fails."""
    check_output(output)
    fmt = output.suffix.lower().lstrip(".")
    try:
        r = subprocess.run(["dot", f"-T{fmt}", "-o", str(output)], input=dot.encode(), capture_output=True,
                           timeout=120)
    except FileNotFoundError:
        raise ConfigError("Graphviz's dot is not installed (apt-get install graphviz)") from None
    if r.returncode != 0:
        raise ConfigError(f"dot could not draw {output}: {r.stderr.decode(errors='replace').strip()[-300:]}")


def diagram(inv: Inventory, hosts: list[Host], session, reporter, output: Path) -> None:
    """Read what verify reads, draw it to output, and hand the reporter verify's results (its exit status)."""
    results = []

    def emit(r) -> None:
        results.append(r)
        reporter.emit(r)

    steps = list(STEPS)
    facts, errors, lbs = gather(inv, hosts, steps, True, session, emit, with_lb=True)
    for r in cluster_results(inv, facts, {h: e for h, e in errors.items() if h in facts or inv.hosts[h].is_esb}):
        emit(r)
    findings: dict[str, list[Item]] = {}
    failures: dict[str, str] = {}
    for r in results:
        if r.status == Status.DRIFT:
            findings.setdefault(r.host, []).extend(r.items)
        elif r.status == Status.FAILED:
            failures.setdefault(r.host, f"{r.step}: {r.message}")
    render(build_dot(inv, facts, lbs, findings, failures), output)
    reporter.table = ([s.name for s in steps] + [CLUSTER], [h.name for h in hosts])
    reporter.extra["picture"] = str(output)
    reporter.footer.append(f"picture: {output}")
