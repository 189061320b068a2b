"""Facts of one ESB node, as actually configured: what the cluster consistency checks compare.

`parse_facts` is pure: it takes the bytes of the node's axis2.xml, carbon.xml,
registry.xml and master-datasources.xml (parsed with the project's safe XmlDoc, read
by the one reader of each layout in tasks/formats/, which the planners use too)
and returns a NodeFacts; `read_facts` fetches those files over the run's SFTP
session.  A value the file does not hold is None.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from ..config import Host
from ..secrets import register
from ..rules import AXIS2, CARBON, MASTER, REGISTRY, SHIPPED_PASSWORDS
from ..engine.context import StepContext
from ..formats import axis2xml, carbonxml, datasourcesxml, registryxml
from ..formats.datasourcesxml import Datasource
from ..formats.xmldoc import XmlDoc

#: the files the facts come from, relative to the product home
FACT_FILES = (AXIS2, CARBON, REGISTRY, MASTER)


@dataclass
class NodeFacts:
    """The clustering, DepSync and registry values of one node's files."""

    host: str
    role: str
    domain: str | None = None
    member_host: str | None = None   # axis2 localMemberHost
    member_port: str | None = None   # axis2 localMemberPort
    members: list[tuple[str, str]] = field(default_factory=list)  # WKA (hostName, port)
    sub_domain: str | None = None
    auto_commit: str | None = None
    svn_url: str | None = None
    depsync_enabled: str | None = None
    svn_user: str | None = None
    svn_password: str | None = field(default=None, repr=False)  # a secret: registered for masking when read
    svn_password_alias: str | None = None  # its Secure Vault alias, where it has one
    read_only: str | None = None     # registry remoteInstance readOnly
    cache_id: str | None = None
    remote_db_config: str | None = None  # remoteInstance dbConfig (a dbConfig name)
    db_configs: dict[str, str | None] = field(default_factory=dict)  # dbConfig name -> dataSource
    datasources: list[Datasource] = field(default_factory=list)

    @property
    def endpoint(self) -> tuple[str | None, str | None]:
        """(localMemberHost, localMemberPort): where this node listens for the cluster."""
        return (self.member_host, self.member_port)

    def datasource_by_jndi(self, jndi: str | None) -> Datasource | None:
        """The datasource holding this JNDI name, if any."""
        return next((d for d in self.datasources if jndi and d.jndi == jndi), None)


def _secret(value: str | None, alias: str | None) -> tuple[str | None, str | None]:
    """(a password read from a node's file, its Secure Vault alias). A real value is masked
    in every output from now on; a vault placeholder or a password WSO2 ships in every
    download is a word, not a secret."""
    if value and not alias and value not in SHIPPED_PASSWORDS:
        register(value)
    return (None if alias else value), alias


def parse_axis2(facts: NodeFacts, doc: XmlDoc) -> None:
    """Domain, local member host/port, WKA members, subDomain."""
    cl = axis2xml.read(doc)
    if cl is not None:
        facts.domain, facts.member_host, facts.member_port = cl.domain, cl.member_host, cl.member_port
        facts.members, facts.sub_domain = cl.members, cl.sub_domain


def parse_carbon(facts: NodeFacts, doc: XmlDoc) -> None:
    """The active DeploymentSynchronizer's AutoCommit and SvnUrl."""
    ds = carbonxml.read_depsync(doc)
    if ds is not None:
        facts.auto_commit, facts.svn_url, facts.depsync_enabled = ds.auto_commit, ds.svn_url, ds.enabled
        facts.svn_user = ds.svn_user
        facts.svn_password, facts.svn_password_alias = _secret(ds.svn_password, ds.svn_password_alias)


def parse_registry(facts: NodeFacts, doc: XmlDoc) -> None:
    """dbConfigs, and the remoteInstance the mounts use (else the first one)."""
    reg = registryxml.read(doc)
    facts.db_configs, facts.read_only, facts.cache_id = reg.db_configs, reg.read_only, reg.cache_id
    facts.remote_db_config = reg.remote_db_config


def parse_datasources(facts: NodeFacts, doc: XmlDoc) -> None:
    """Every datasource's name, JNDI name, URL and user."""
    for d in datasourcesxml.read(doc):
        password, alias = _secret(d.password, d.password_alias)
        facts.datasources.append(replace(d, password=password, password_alias=alias))


PARSERS = {AXIS2: parse_axis2, CARBON: parse_carbon, REGISTRY: parse_registry, MASTER: parse_datasources}


def facts_of(host: Host, docs: dict[str, XmlDoc]) -> NodeFacts:
    """NodeFacts from the files' documents (keys: FACT_FILES)."""
    facts = NodeFacts(host.name, host.role)
    for rel, parse in PARSERS.items():
        if rel in docs:
            parse(facts, docs[rel])
    return facts


def parse_facts(host: Host, files: dict[str, bytes]) -> NodeFacts:
    """NodeFacts from the files' bytes (keys: FACT_FILES); XmlError when one does not parse."""
    return facts_of(host, {rel: XmlDoc(data, rel) for rel, data in files.items() if rel in PARSERS})


def read_facts(ctx: StepContext) -> NodeFacts:
    """The node's four files, from the run's one read and parse of each (StepContext.xml)."""
    return facts_of(ctx.host, {rel: ctx.xml(rel) for rel in FACT_FILES})


@dataclass
class LbFacts:
    """What the load balancer's nginx files route: vhost lines and (vhost, upstream server) pairs."""

    host: str
    vhosts: list[str] = field(default_factory=list)           # "https://esb.wso2.com:443"
    routes: list[tuple[str, str]] = field(default_factory=list)  # (vhost, "member_host:port")


_SERVER_LINE = re.compile(r"^\s*server\s+([^\s;]+)[^;]*;", re.M)
_BLOCK_START = re.compile(r"(?<![\w.$-])(server|upstream)\b\s*([^\s{;]*)\s*\{")


def nginx_blocks(text: str) -> list[tuple[str, str, str]]:
    """(kind, name, body) of every `server { }` and `upstream NAME { }` block at any depth (inside
    `http { }`, indented or not), braces matched; comments must be gone already."""
    out = []
    for m in _BLOCK_START.finditer(text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            out.append((m.group(1), m.group(2), text[m.end():i - 1]))
    return out


def parse_lb(host: str, files: dict[str, bytes]) -> LbFacts:
    """LbFacts from nginx files (configure-lb's or hand-written ones of the same shape); pure."""
    facts = LbFacts(host)
    for name in sorted(files):
        text = files[name].decode("utf-8", errors="replace")
        text = re.sub(r"#[^\n]*", "", text)
        blocks = nginx_blocks(text)
        upstreams = {name: _SERVER_LINE.findall(body) for kind, name, body in blocks if kind == "upstream"}
        for block in (body for kind, name, body in blocks if kind == "server" and not name):
            names = re.search(r"server_name\s+([^;]+);", block)
            listen = re.search(r"listen\s+([^;\s]+)(\s+ssl)?[^;]*;", block)
            passes = re.findall(r"proxy_pass\s+(https?)://([^;/\s]+)", block)
            if not (names and listen):
                continue
            port = listen.group(1).rsplit(":", 1)[-1]
            for scheme, up in passes:
                vhost = f"{scheme}://{names.group(1).split()[0]}:{port}"
                facts.vhosts.append(vhost)
                for server in upstreams.get(up, [up]):
                    facts.routes.append((vhost, server))
    facts.vhosts = sorted(set(facts.vhosts))
    return facts


def read_lb_facts(ctx: StepContext, conf_dir: str, names: tuple[str, ...]) -> LbFacts:
    """Read the balancer's files (those that exist) over the run's SFTP session and parse them."""
    files = {}
    for n in names:
        data = ctx.remote.read(f"{conf_dir}/{n}")
        if data is not None:
            files[n] = data
    return parse_lb(ctx.host.name, files)
