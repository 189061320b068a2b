"""Facts of one ESB node, as actually configured: what the cluster consistency checks compare.

`facts_of` is pure: it takes the documents of the node's axis2.xml, carbon.xml,
registry.xml and master-datasources.xml (read by the one reader of each layout in
tasks/formats/, which the planners use too) and returns a NodeFacts (`parse_facts`: the
same from bytes); `read_facts` takes the run's one parse of each file (StepContext.xml).
A value the file does not hold is None.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..config import Host
from ..secrets import register
from ..rules import AXIS2, CARBON, MASTER, REGISTRY, SHIPPED_PASSWORDS
from ..engine.context import StepContext
from ..formats import axis2xml, carbonxml, datasourcesxml, nginxconf, registryxml
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


def lb_facts_of(host: str, confs: dict[str, nginxconf.Conf]) -> LbFacts:
    """LbFacts from the parsed nginx files (configure-lb's or hand-written ones of the same shape); pure."""
    facts = LbFacts(host)
    for name in sorted(confs):
        conf = confs[name]
        upstreams = {up: [m.address for m in members] for up, members in conf.upstreams}
        for server in conf.servers:
            for scheme, up in server.passes:
                vhost = f"{scheme}://{server.name}:{server.port}"
                facts.vhosts.append(vhost)
                for member in upstreams.get(up, [up]):
                    facts.routes.append((vhost, member))
    facts.vhosts = sorted(set(facts.vhosts))
    return facts


def parse_lb(host: str, files: dict[str, bytes]) -> LbFacts:
    """LbFacts from nginx files' bytes (nginxconf.parse); pure."""
    return lb_facts_of(host, {name: nginxconf.parse(data, name) for name, data in files.items()})


def read_lb_facts(ctx: StepContext, conf_dir: str, names: tuple[str, ...]) -> LbFacts:
    """The balancer's files (those that exist), from the run's one read and parse of each."""
    confs = {}
    for n in names:
        path = f"{conf_dir}/{n}"
        data = ctx.remote.read(path)
        if data is not None:
            confs[n] = ctx.parsed(path, data, nginxconf.parse, n)
    return lb_facts_of(ctx.host.name, confs)
