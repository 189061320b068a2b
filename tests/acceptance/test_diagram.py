"""`fab diagram` over the real lab (issue 14, CONTRACT §9): the SVG is XML, so the tests parse it and find every
host, edge and label; planted faults are drawn red on exactly their element and nowhere else."""
from __future__ import annotations

from lxml import etree

from tests.acceptance.cluster import ESB, cluster, svnserve  # noqa: F401
from tests.acceptance.util import edit

SVG = "{http://www.w3.org/2000/svg}"
RED = "#d62728"


def parse(path) -> dict[str, dict]:
    """id -> {texts, red} for every node and edge group of a Graphviz SVG."""
    root = etree.parse(str(path)).getroot()
    out = {}
    for g in root.iter(f"{SVG}g"):
        if g.get("class") not in ("node", "edge"):
            continue
        texts = [t.text or "" for t in g.iter(f"{SVG}text")]
        strokes = {e.get("stroke") for e in g.iter() if e.get("stroke")} | {e.get("fill") for e in g.iter(f"{SVG}text")}
        out[g.get("id")] = {"class": g.get("class"), "texts": texts, "red": RED in strokes}
    return out


def red(pic: dict) -> set[str]:
    """The elements drawn red (the legend shows the colour, so it is not one)."""
    return {k for k, v in pic.items() if v["red"] and k != "legend"}


def draw(lab, *args: str, code: int = 0):
    r = lab.fab("diagram", *args)
    assert r.returncode == code, r.stdout + r.stderr
    return r


def test_the_picture_of_the_cluster_and_faults_in_red(cluster):  # noqa: F811
    lab = cluster
    assert lab.fab("setup-cluster").returncode == 0
    before = lab.snapshot()
    r = draw(lab)  # the default: cluster.svg beside hosts.toml
    out = lab.hosts_toml.parent / "cluster.svg"
    assert f"picture: {out}" in r.stdout
    assert lab.snapshot() == before  # read-only
    pic = parse(out)
    mgr, w1, w2 = (lab.hosts[n] for n in ESB)
    for h in (mgr, w1, w2):
        texts = " ".join(pic[f"node:{h.name}"]["texts"])
        assert f"{h.name} ({h.role})" in texts and h.address in texts and "https 9443" in texts
    assert "db1 (db)" in " ".join(pic["node:db1"]["texts"])
    # WKA edges as each axis2.xml lists them: each worker -> the manager, the manager -> each worker
    for w in ("esb-w1", "esb-w2"):
        assert f"wka:{w}->esb-mgr" in pic and f"wka:esb-mgr->{w}" in pic
        assert pic[f"wka:{w}->esb-mgr"]["texts"] == [f"WKA {mgr.address}:4100"]
    # DepSync: the manager commits, the workers check out
    assert "DepSync commit (AutoCommit true)" in pic["depsync:esb-mgr"]["texts"]
    assert "DepSync checkout (AutoCommit false)" in pic["depsync:esb-w1"]["texts"]
    # datasources with the database names, registry mounts read-only on workers only
    assert any("REGISTRY_LOCAL2" in t for t in pic["datasources:esb-w1"]["texts"])
    assert any("REGISTRY_LOCAL1" in t for t in pic["datasources:esb-mgr"]["texts"])
    assert any("read-write" in t for t in pic["mount:esb-mgr"]["texts"])
    assert any("read-only" in t for t in pic["mount:esb-w2"]["texts"])
    assert red(pic) == set()  # in sync: nothing red
    assert "legend" in {k for k in pic if k}
    # stable: the same cluster draws the same bytes
    first = out.read_bytes()
    draw(lab)
    assert out.read_bytes() == first
    png = lab.dir / "pic.png"
    draw(lab, "--output", str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    faults = [
        # a worker listing a wrong member port: its edge to a member no node is, red; nothing else of WKA
        ("esb-w1", "axis2/axis2.xml", "<port>4100</port>", "<port>4999</port>",
         {f"wka:esb-w1->?{mgr.address}:4999", f"node:?{mgr.address}:4999"}),
        # a worker made read-write: its mount
        ("esb-w2", "registry.xml", "<readOnly>true</readOnly>", "<readOnly>false</readOnly>", {"mount:esb-w2"}),
        # a cacheId differing on one node: that node's mount
        ("esb-w1", "registry.xml", "<cacheId>regadmin@jdbc:mysql://carbondb.", "<cacheId>regadmin@jdbc:mysql://other.",
         {"mount:esb-w1"}),
    ]
    for host, rel, old, new, wanted in faults:
        f = lab.hosts[host].conf(rel)
        good = f.read_bytes()
        edit(f, old, new)
        try:
            draw(lab, code=2)
            pic = parse(out)
            got = red(pic)
            # the planted element is red; a host may also be red for the step that owns the value (its own drift)
            assert wanted <= got, (wanted, got)
            assert got - wanted <= {f"node:{host}"}, got - wanted
            labels = " ".join(t for k in wanted for t in pic[k]["texts"])
            assert "! " in labels, labels
        finally:
            f.write_bytes(good)
    draw(lab)
    assert red(parse(out)) == set()


def test_bad_output_is_refused_before_any_host(lab):
    before = lab.snapshot()
    for out, msg in ((lab.dir / "x.gif", "must be .svg or .png"), (lab.dir / "none" / "x.svg", "does not exist")):
        r = lab.fab("diagram", "--output", str(out))
        assert r.returncode == 1 and msg in r.stderr, r.stdout + r.stderr
    assert lab.snapshot() == before
