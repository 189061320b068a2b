"""configure-lb through a real nginx (issue 11, CONTRACT §6): Debian's nginx runs as a real process on the lab's
lb host address, stand-in backends answer on every node's member_host and Carbon ports, and requests go through
the balancer with create-certs' certificates as the trust root and SNI for both names."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.lab import Lab
from tests.lblab import Backends, Nginx, free_port_on, request

ESB = ("esb-mgr", "esb-w1", "esb-w2")
FILES = ("esb.http.conf", "esb.https.conf", "mgt.esb.https.conf")
HOST, MGT = "esb.wso2.com", "mgt.esb.wso2.com"


@pytest.fixture(scope="module")
def lb_session():
    """Its own lab (an lb host would take create-certs from the manager in the shared lab), nginx, backends."""
    lab = Lab.create(n_workers=2, extra_roles=("lb",), first_octet=30)
    lb = lab.hosts["lb1"]
    lab.http_port, lab.https_port = free_port_on(lb.address), free_port_on(lb.address)
    lab.nginx = Nginx.prepare(lab.dir / "nginx")
    lab.backends = Backends.create()
    for n in ESB:
        h = lab.hosts[n]
        lab.backends.serve_node(n, h.address, 0, h.role)
    yield lab
    lab.nginx.stop()
    lab.backends.close()
    lab.close()


def lb_toml(lab, extra: str = "", listen: str | None = None) -> str:
    lb = lab.hosts["lb1"]
    return (f'\n[certs]\ndir = "{certs(lab)}"\n' + lab.nginx.toml(lb.address if listen is None else listen) + extra)


def certs(lab) -> Path:
    return lab.hosts["lb1"].root / "ssl"


@pytest.fixture
def lbl(lb_session):
    lab = lb_session
    lab.extra_toml, lab.env = "", {}
    lab.nginx.stop()
    for f in lab.nginx.conf_dir.iterdir():
        f.unlink()
    for n in ESB:
        if not any(k[0] == n for k in lab.backends.servers):
            lab.backends.serve_node(n, lab.hosts[n].address, 0, lab.hosts[n].role)
    lab.reset()
    lab.extra_toml = lb_toml(lab)
    lab.write_toml(ports(lab, lab.toml()))
    lab.nginx.start()
    return lab


def ports(lab, text: str) -> str:
    return text.replace("lb_http_port = 80\n", f"lb_http_port = {lab.http_port}\n").replace(
        "lb_https_port = 443\n", f"lb_https_port = {lab.https_port}\n")


def write(lab, extra: str = "", listen: str | None = None) -> None:
    lab.extra_toml = lb_toml(lab, extra, listen)
    lab.write_toml(ports(lab, lab.toml()))


def get(lab, host=HOST, tls=False, source=None):
    lb = lab.hosts["lb1"]
    ca = certs(lab) / f"{host}.crt"
    return request(lb.address, lab.https_port if tls else lab.http_port, host, tls, ca, source)


def node_of(lab, **kw) -> str:
    status, body = get(lab, **kw)
    assert status == 200, (status, body)
    return body.split()[0]


def conf_files(lab) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(lab.nginx.conf_dir.iterdir())}


def test_the_balancer_routes_by_name_spreads_and_sticks(lbl):
    lab = lbl
    assert lab.fab("create-certs").returncode == 0
    workers = lab.nginx.workers()
    r = lab.fab("configure-lb")
    assert r.returncode == 0 and "[lb1] configure-lb: changed (3 items)" in r.stdout, r.stdout + r.stderr
    assert sorted(conf_files(lab)) == sorted(FILES)
    lab.nginx.wait_workers_change(workers)  # reloaded
    text = conf_files(lab)["esb.https.conf"].decode()
    assert "ip_hash;" in text and "sticky" not in text and "ssl on" not in text
    assert f"listen {lab.hosts['lb1'].address}:{lab.https_port} ssl;" in text
    # port 80 spreads over the workers, never the manager
    seen = {node_of(lab) for _ in range(6)}
    assert seen == {"esb-w1", "esb-w2"}
    status, body = get(lab)
    _, host_header, forwarded_for = body.split()
    assert host_header == HOST and forwarded_for.startswith("127.")
    # 443: one client address stays on one worker; clients of other networks spread (ip_hash uses 3 octets)
    for src in ("127.0.1.1", "127.0.2.1"):
        assert len({node_of(lab, tls=True, source=src) for _ in range(5)}) == 1
    spread = {node_of(lab, tls=True, source=f"127.0.{i}.1") for i in range(1, 16)}
    assert spread == {"esb-w1", "esb-w2"}
    # the management console's name reaches the manager, with its own certificate (SNI)
    assert node_of(lab, host=MGT, tls=True) == "esb-mgr"
    # a second run changes nothing and does not reload
    before, workers = lab.snapshot(), lab.nginx.workers()
    r = lab.fab("configure-lb")
    assert r.returncode == 0 and "[lb1] configure-lb: ok" in r.stdout, r.stdout
    assert lab.snapshot() == before and lab.nginx.workers() <= workers  # not reloaded
    assert lab.fab("configure-lb", "--verify").returncode == 0
    assert lab.fab("verify", "--steps", "configure-lb").returncode == 0
    # a stopped worker is routed around, for plain and sticky requests alike
    sticky_src = next(f"127.0.{i}.1" for i in range(1, 16) if node_of(lab, tls=True, source=f"127.0.{i}.1") == "esb-w1")
    lab.backends.stop_node("esb-w1")
    assert {node_of(lab) for _ in range(4)} == {"esb-w2"}
    assert node_of(lab, tls=True, source=sticky_src) == "esb-w2"


def test_a_worker_added_to_hosts_toml_appears_after_one_patch(lbl):
    lab = lbl
    assert lab.fab("create-certs").returncode == 0
    assert lab.fab("configure-lb").returncode == 0
    old = conf_files(lab)
    w3 = "127.0.0.39"
    lab.backends.serve_node("esb-w3", w3, 0, "worker")
    try:
        write(lab, f'\n[hosts.esb-w3]\naddress = "{w3}"\nrole = "worker"\nmember_port = 4900\n'
                   f'product_home = "/opt/wso2esb-4.9.0"\n')
        workers = lab.nginx.workers()
        dry = lab.fab("configure-lb", "--dry-run")
        assert dry.returncode == 0 and f"+    server {w3}:8280;" in dry.stdout and f"+    server {w3}:8243;" in dry.stdout
        assert [ln for ln in dry.stdout.splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---"))] == [
            f"+    server {w3}:8280;", f"+    server {w3}:8243;"]  # a minimal diff of the balancer's own files
        r = lab.fab("configure-lb", "--diff")
        assert r.returncode == 0 and "[lb1] configure-lb: changed (2 items)" in r.stdout, r.stdout + r.stderr
        # what was applied, as the nginx lines: the diff (--diff) and the items naming the line
        assert f"+    server {w3}:8280;" in r.stdout and f"+    server {w3}:8243;" in r.stdout, r.stdout
        assert "bytes from hosts.toml" not in r.stdout and "# ran: " in r.stdout, r.stdout
        items = lab.fab("configure-lb", "--verify").stdout  # nothing left; the lines are named before a patch
        assert "configure-lb: ok" in items, items
        lab.nginx.wait_workers_change(workers)
        assert conf_files(lab)["mgt.esb.https.conf"] == old["mgt.esb.https.conf"]
        assert "esb-w3" in {node_of(lab) for _ in range(9)}
    finally:
        lab.backends.stop_node("esb-w3")


def test_nginx_refusing_the_files_puts_the_old_ones_back_and_leaves_nginx_alone(lbl):
    lab = lbl
    assert lab.fab("create-certs").returncode == 0
    assert lab.fab("configure-lb").returncode == 0
    good = conf_files(lab)
    (certs(lab) / f"{MGT}.crt").write_text("not a certificate\n")  # nginx -t will refuse to load it
    write(lab, extra="", listen="")  # a change: listen on every address
    before, workers = lab.snapshot(), lab.nginx.workers()
    r = lab.fab("configure-lb")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "[lb1] configure-lb: failed: nginx -t refused the new files; the previous ones are back" in r.stdout
    assert "[emerg]" in r.stdout and f"{MGT}.crt" in r.stdout, r.stdout
    assert conf_files(lab) == good and lab.snapshot() == before  # no backup run claims the refused write
    assert lab.nginx.workers() <= workers and lab.nginx.proc.poll() is None  # no reload: no new worker
    assert node_of(lab) in ("esb-w1", "esb-w2")  # still serving with the old files


def test_rollback_puts_the_files_back_and_reloads(lbl):
    lab = lbl
    assert lab.fab("create-certs").returncode == 0
    assert lab.fab("configure-lb").returncode == 0
    old = conf_files(lab)
    write(lab, listen="")
    assert lab.fab("configure-lb").returncode == 0
    assert conf_files(lab) != old
    workers = lab.nginx.workers()
    r = lab.fab("-H", "lb1", "rollback")
    assert r.returncode == 0, r.stdout + r.stderr
    assert conf_files(lab) == old
    lab.nginx.wait_workers_change(workers)
    assert node_of(lab) in ("esb-w1", "esb-w2")


def test_nginx_not_running_is_a_note_and_the_files_are_in_place(lbl):
    lab = lbl
    assert lab.fab("create-certs").returncode == 0
    lab.nginx.stop()
    r = lab.fab("configure-lb")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "nginx is not running on lb1; the files take effect when it starts" in r.stdout
    lab.nginx.start()
    assert node_of(lab, host=MGT, tls=True) == "esb-mgr"


@pytest.mark.parametrize("case", ["no-certs", "no-binary", "no-nginx-conf", "no-conf-dir"])
def test_bad_input_is_a_clear_error_and_changes_nothing(lbl, case):
    lab = lbl
    if case != "no-certs":
        assert lab.fab("create-certs").returncode == 0
    lb = lab.nginx
    extra = {"no-certs": "", "no-binary": "", "no-nginx-conf": "", "no-conf-dir": ""}[case]
    text = ports(lab, lab.toml())
    if case == "no-binary":
        text = text.replace(f'nginx = "{shutil.which("nginx") or "/usr/sbin/nginx"}"', 'nginx = "/opt/none/nginx"')
    if case == "no-nginx-conf":
        text = text.replace(f'nginx_conf = "{lb.conf}"', f'nginx_conf = "{lb.prefix}/missing.conf"')
    if case == "no-conf-dir":
        text = text.replace(f'conf_dir = "{lb.conf_dir}"', f'conf_dir = "{lb.prefix}/nowhere"')
    lab.write_toml(text + extra)
    before, workers = lab.snapshot(), lb.workers()
    r = lab.fab("configure-lb")
    assert r.returncode == 1, r.stdout + r.stderr
    want = {"no-certs": f"{certs(lab)}/{HOST}.crt", "no-binary": "[lb].nginx /opt/none/nginx is not found on lb1",
            "no-nginx-conf": f"[lb].nginx_conf {lb.prefix}/missing.conf does not exist on lb1",
            "no-conf-dir": f"[lb].conf_dir {lb.prefix}/nowhere is not a directory on lb1"}[case]
    assert f"[lb1] configure-lb: failed: {want}" in r.stdout, r.stdout
    if case == "no-certs":
        assert "run create-certs on it first" in r.stdout
    assert lab.snapshot() == before and lb.workers() <= workers and conf_files(lab) == {}


@pytest.mark.parametrize("listen,msg", [("lb.example.com", "is not an IP address"), ("127.0.0.1 ; x", "is not an IP")])
def test_a_listen_address_that_is_not_an_ip_is_refused_before_any_host(lbl, listen, msg):
    lab = lbl
    write(lab, listen=listen)
    before = lab.snapshot()
    r = lab.fab("configure-lb")
    assert r.returncode == 1 and r.stdout == "", r.stdout
    assert "[lb].listen" in r.stderr and msg in r.stderr, r.stderr
    assert lab.snapshot() == before


def test_no_lb_host_is_a_clear_error(lbl):
    lab = lbl
    text = ports(lab, lab.toml())
    start = text.index("[hosts.lb1]")
    end = text.index("[svn]")
    lab.write_toml(text[:start] + text[end:])
    before = lab.snapshot()
    r = lab.fab("configure-lb")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "configure-lb: no targets" in r.stderr, r.stderr
    assert lab.snapshot() == before


def test_live_checks_go_through_the_balancer_from_every_node(lbl):
    """verify --live from each ESB node: requests through nginx for both names get a backend's answer; with
    every worker down, nginx's own 502 is drift on every node."""
    from tests.acceptance.test_live import fake_jdk
    lab = lbl
    jdk = fake_jdk(lab.dir / "jdk8", "1.8.0_392")
    lab.write_toml(ports(lab, lab.toml()).replace("connect_timeout = 5\n", f'connect_timeout = 5\njava_home = "{jdk}"\n', 1))
    assert lab.fab("create-certs").returncode == 0 and lab.fab("configure-lb").returncode == 0
    r = lab.fab("verify", "--live", "--steps", "configure-lb", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    try:
        for w in ("esb-w1", "esb-w2"):
            lab.backends.stop_node(w)
        r = lab.fab("verify", "--live", "--steps", "configure-lb", "--json")
        assert r.returncode == 2, r.stdout
        import json
        doc = json.loads(r.stdout)
        for n in ESB:
            items = [i for i in doc["hosts"][n]["live"]["items"] if i["file"] == "live lb"]
            assert any(f"http://{HOST}:{lab.http_port}/ through lb1" in i["what"] and "nginx's own 502" in i["actual"]
                       for i in items), items
            assert not any(MGT in i["what"] for i in items)  # the manager still answers
    finally:
        for w in ("esb-w1", "esb-w2"):
            lab.backends.serve_node(w, lab.hosts[w].address, 0, "worker")


def test_a_dry_run_on_a_fresh_balancer_shows_what_would_change_and_fails_nothing(lbl):
    """setup-cluster --dry-run on a fresh cluster: configure-lb's certificates come from the certs phase of the same
    run, which a dry-run does not make; the dry-run shows the files and exits 0, and says `would change` (issue
    24). verify says the certificates are missing (drift); patch alone still refuses (the test above)."""
    lab = lbl
    before = lab.snapshot()
    r = lab.fab("-H", "lb1", "setup-cluster", "--dry-run")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "[lb1] create-certs: would change" in r.stdout and "[lb1] configure-lb: would change" in r.stdout
    assert "create-certs makes the missing files first" in r.stdout, r.stdout
    assert "2 would change" in r.stdout and " changed" not in r.stdout, r.stdout
    r = lab.fab("configure-lb", "--verify")
    assert r.returncode == 2 and f"{certs(lab)}/{HOST}.crt: create-certs' certificate or key" in r.stdout, r.stdout
    assert lab.snapshot() == before and conf_files(lab) == {}
