"""StepContext's documents (tasks/engine/context.py on the run's ReadCache): each file of a host is read
once and parsed once per run whoever asks (every XML step, the facts, secure-vault's own look-up), and
no consumer's edits reach what the next one is handed."""
from __future__ import annotations

import collections

import pytest
from lxml import etree

from tasks.engine.context import StepContext, StepError
from tasks.engine.mode import Mode
from tasks.formats import nginxconf, xmldoc
from tasks.formats.xmldoc import XmlError
from tasks.probes.facts import FACT_FILES, read_facts
from tasks.remote.readcache import ReadCache
from tasks.rules import AXIS2, CARBON, CATALINA, MASTER, REGISTRY, USER_MGT
from tasks.secrets import Secrets
from tasks.steps import STEPS
from tasks.steps.base import XmlStep, plan_doc
from tasks.steps.carbon import plan_hostnames
from tasks.steps.vault import present_entries
from tests.unit.helpers import inventory, shipped

FILES = (AXIS2, CARBON, CATALINA, MASTER, USER_MGT, REGISTRY)
SECRETS = Secrets({"WSO2_DB_PASSWORD": "pw-db-42", "SVN_PASSWORD": "pw-svn-42", "ADMIN_PASSWORD": "pw-admin-42",
                   "KEYSTORE_PASSWORD": "pw-ks-42"})


class RecordedFiles:
    """A host's files as the run's read cache serves them (the reads RemoteHost makes through it are
    counted): only what a plan reads is here."""

    def __init__(self, host, files: dict[str, bytes]):
        self.host, self.files, self.cache = host, files, ReadCache()
        self.reads: collections.Counter = collections.Counter()

    def read(self, path, limit=0, kind="", cache=True):
        hit = self.cache.get(path) if cache else None
        if hit is not None:
            return hit.data
        self.reads[path] += 1
        data = self.files.get(path)
        self.cache.put(path, data, None, self.cache.generation())
        return data

    def stat(self, path, follow=True):
        return None

    def known_stat(self, path):
        return None


@pytest.fixture
def counted(monkeypatch):
    """Every parse of the XML layer and of nginx files, by label."""
    parses: collections.Counter = collections.Counter()
    for module in (xmldoc, nginxconf):
        real = module.parse

        def counting(data, path="<xml>", real=real):
            parses[path] += 1
            return real(data, path)
        monkeypatch.setattr(module, "parse", counting)
    return parses


def context(name: str = "esb-mgr", files: dict[str, bytes] | None = None, mode: Mode = Mode.VERIFY,
            secrets: Secrets | None = None) -> StepContext:
    inv = inventory()
    host = inv.hosts[name]
    rels = {rel: shipped(rel) for rel in FILES} if files is None else files
    remote = RecordedFiles(host, {f"{host.product_home}/{rel}": data for rel, data in rels.items()})
    return StepContext(host, inv, secrets or SECRETS, remote, mode.checks)  # type: ignore[arg-type]


def test_one_read_and_one_parse_of_each_file_per_run_whoever_asks(counted):
    ctx = context()
    readers = collections.Counter()
    for step in STEPS:
        if isinstance(step, XmlStep) and step.applies_to(ctx.host, ctx.inv) is None:
            XmlStep.plan(step, ctx)  # the XML part of each step's plan (verify: nothing rendered)
            readers.update(rel for rel, _ in step.planners(ctx.host))
    read_facts(ctx)
    readers.update(FACT_FILES)
    present_entries(ctx)
    assert readers[CARBON] >= 5 and readers[AXIS2] >= 3  # the file several consumers read ...
    node_files = {label: n for label, n in counted.items() if not label.startswith("snippets/")}  # not ours: the node's
    assert node_files == {rel: 1 for rel in FILES}  # ... parsed once
    assert set(ctx.remote.reads.values()) == {1} and len(ctx.remote.reads) == len(FILES)  # and read once


def test_a_planner_that_edits_works_on_its_own_copy(counted):
    ctx = context(mode=Mode.PATCH)
    first = ctx.xml(CARBON)
    tree_before = etree.tostring(first.root)
    edits = plan_doc(first, CARBON, plan_hostnames, ctx.host, ctx.inv, ctx.secrets)
    assert edits.items and first.changed  # shipped carbon.xml: HostName and MgtHostName are drift
    again = ctx.xml(CARBON)
    assert again.parsed is first.parsed  # the one parse, shared ...
    assert not again.changed and again.render() == shipped(CARBON)  # ... and none of the edits in it
    assert etree.tostring(again.root) == tree_before
    assert plan_doc(again, CARBON, plan_hostnames, ctx.host, ctx.inv, ctx.secrets).items == edits.items
    assert counted[CARBON] == 3  # the file's one parse; and each plan's proof that its edit converges (new bytes)


@pytest.mark.parametrize("name", ["esb-mgr", "esb-w1"])
def test_no_step_changes_the_shared_parse(name):
    """Every XML step plans (and renders) its edits of the shipped files on one run's documents: each
    file's shared tree is still the file's, byte for byte, for the next consumer."""
    ctx = context(name, mode=Mode.PATCH)
    changed = set()
    for step in STEPS:
        if isinstance(step, XmlStep) and step.applies_to(ctx.host, ctx.inv) is None:
            changed |= {fc.path for fc in XmlStep.plan(step, ctx).files}
    assert len(changed) == len(FILES)  # every file had edits to make
    for rel in FILES:
        doc = ctx.xml(rel)
        assert not doc.changed and doc.render() == shipped(rel)
        assert etree.tostring(doc.tree) == etree.tostring(xmldoc.parse(shipped(rel), rel).tree)


def test_a_document_handed_out_edited_is_refused():
    ctx = context()
    doc = ctx.xml(CARBON)
    doc.set_text(doc.find("Ports/Offset"), "7")
    with pytest.raises(StepError, match="another one edited"):
        plan_doc(doc, CARBON, plan_hostnames, ctx.host, ctx.inv, ctx.secrets)


def test_other_bytes_get_their_own_parse_and_a_write_drops_the_document(counted):
    cache = ReadCache()
    a, b = b"<a><b>1</b></a>", b"<a><b>2</b></a>"
    first = cache.document("/x.xml", a, xmldoc.parse, "x.xml")
    assert cache.document("/x.xml", bytes(a), xmldoc.parse, "x.xml") is first  # the same bytes, read again
    assert cache.document("/x.xml", b, xmldoc.parse, "x.xml").root.findtext("b") == "2"
    assert counted["x.xml"] == 2
    cache.forget("/x.xml")
    cache.document("/x.xml", b, xmldoc.parse, "x.xml")
    assert counted["x.xml"] == 3
    cache.clear()  # a remote command: the bytes are read again, an unchanged file keeps its document
    cache.document("/x.xml", b, xmldoc.parse, "x.xml")
    assert counted["x.xml"] == 3


def test_a_parse_that_fails_is_not_kept_and_fails_again(counted):
    cache = ReadCache()
    for _ in range(2):
        with pytest.raises(XmlError, match="not well-formed"):
            cache.document("/x.xml", b"<a>", xmldoc.parse, "x.xml")
    assert counted["x.xml"] == 2


def test_a_missing_file_is_a_step_error_naming_it():
    ctx = context(files={})  # no product home either: read_required says so
    with pytest.raises(StepError, match="product home /opt/wso2esb-4.9.0 does not exist on esb-mgr"):
        ctx.xml(CARBON)


def test_the_balancer_files_are_parsed_once_for_every_reader(counted):
    from tasks.steps.loadbalancer import FILES as LB_FILES, render
    from tasks.probes.facts import read_lb_facts
    inv = inventory()
    conf_dir = "/etc/nginx/conf.d"
    lb = inv.hosts["esb-mgr"]  # any host: the files are what matters
    remote = RecordedFiles(lb, {f"{conf_dir}/{n}": data for n, data in render(inv).items()})
    ctx = StepContext(lb, inv, SECRETS, remote, Mode.VERIFY.checks)  # type: ignore[arg-type]
    first = read_lb_facts(ctx, conf_dir, LB_FILES)
    assert read_lb_facts(ctx, conf_dir, LB_FILES) == first and first.routes
    for n in LB_FILES:  # the lifecycle's and configure-lb's look at the down marks: the same parse
        path = f"{conf_dir}/{n}"
        assert not ctx.parsed(path, remote.read(path), nginxconf.parse, n).marked_down
    assert counted == {n: 1 for n in LB_FILES}
