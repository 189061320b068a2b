"""configure-lb's pure renderer (tasks/steps/loadbalancer.py) and the [lb] section's validation."""
from __future__ import annotations

import pytest

from tasks.config import ConfigError
from tasks.engine.context import StepError
from tasks.steps.loadbalancer import render
from tests.unit.helpers import base_data, inventory
from tasks.formats.nginxconf import set_down
from tasks.steps.loadbalancer import FILES, ConfigureLb, drain_marker
from tests.memnode import MemoryNode
from tests.unit.helpers import patch_on, plan_on


def inv_with(**lb):
    d = base_data()
    d["hosts"]["esb-w2"]["port_offset"] = 2
    d["lb"] = lb
    return inventory(d)


def test_three_files_with_the_workers_and_the_manager_after_their_offsets():
    out = {k: v.decode() for k, v in render(inv_with(listen="10.0.0.5")).items()}
    assert sorted(out) == ["esb.http.conf", "esb.https.conf", "mgt.esb.https.conf"]
    http, https, mgt = out["esb.http.conf"], out["esb.https.conf"], out["mgt.esb.https.conf"]
    assert "    server 192.168.1.13:8280;\n    server 192.168.1.14:8282;\n" in http
    assert "    ip_hash;\n    server 192.168.1.13:8243;\n    server 192.168.1.14:8245;\n" in https
    assert "    server 192.168.1.12:9443;\n" in mgt and "192.168.1.13" not in mgt
    assert "listen 10.0.0.5:80;" in http and "listen 10.0.0.5:443 ssl;" in https
    assert "server_name esb.wso2.com;" in https and "server_name mgt.esb.wso2.com;" in mgt
    assert "ssl_certificate /etc/ssl/wso2/mgt.esb.wso2.com.crt;" in mgt
    assert "ssl_certificate_key /etc/ssl/wso2/esb.wso2.com.key;" in https
    for text in out.values():
        for header in ("Host $http_host", "X-Forwarded-Host $host", "X-Forwarded-Server $host",
                       "X-Forwarded-For $proxy_add_x_forwarded_for"):
            assert f"proxy_set_header {header};" in text
        assert "proxy_read_timeout 5m;" in text and "proxy_send_timeout 5m;" in text
        assert "sticky" not in text and "ssl on" not in text  # no NGINX Plus, no removed directive
    assert render(inv_with(listen="10.0.0.5")) == render(inv_with(listen="10.0.0.5"))  # stable


def test_listen_on_every_address_and_ipv6():
    assert "    listen 80;\n" in render(inv_with()).get("esb.http.conf").decode()
    assert "listen [::1]:443 ssl;" in render(inv_with(listen="::1"))["esb.https.conf"].decode()


def test_no_worker_is_a_clear_error():
    d = base_data()
    for w in ("esb-w1", "esb-w2"):
        del d["hosts"][w]
    d["groups"] = {}
    with pytest.raises(StepError, match=r"no host has role = \"worker\""):
        render(inventory(d))


@pytest.mark.parametrize("key,value,msg", [
    ("listen", "lb.example.com", "is not an IP address"), ("listen", "10.0.0.1\n", "is not an IP address"),
    ("conf_dir", "etc/nginx", "must be an absolute path"), ("nginx_conf", "/etc/nginx/a b.conf", "spaces"),
    ("nginx", "nginx; rm -rf /", "must be a command name or a path"), ("colour", "x", "unknown key"),
])
def test_bad_lb_values_are_refused(key, value, msg):
    d = base_data()
    d["lb"] = {key: value}
    with pytest.raises(ConfigError) as e:
        inventory(d)
    assert f"[lb].{key}" in str(e.value) and msg in str(e.value), e.value


def test_a_worker_marked_down_on_the_host_stays_down_and_is_named_not_drift():
    from tasks.formats.nginxconf import set_down
    from tasks.steps.loadbalancer import keep_down, worker_servers
    inv = inv_with()
    servers = worker_servers(inv)
    assert servers == {"192.168.1.13:8280": "esb-w1", "192.168.1.13:8243": "esb-w1",
                       "192.168.1.14:8282": "esb-w2", "192.168.1.14:8245": "esb-w2"}
    wanted = render(inv)["esb.http.conf"]
    drained = set_down(wanted, {"192.168.1.14:8282"}, True)
    assert keep_down(wanted, drained, servers) == (drained, ["esb-w2"])  # in sync: the mark kept
    assert keep_down(wanted, wanted, servers) == (wanted, [])
    assert keep_down(wanted, None, servers) == (wanted, [])
    edited = drained.replace(b"proxy_read_timeout 5m;", b"proxy_read_timeout 1s;")
    assert keep_down(wanted, edited, servers) == (drained, ["esb-w2"])  # a patch fixes the edit, keeps the drain
    stranger = set_down(wanted, {"10.9.9.9:8280"}, True)  # only the workers' own lines count
    assert keep_down(wanted, stranger, servers) == (wanted, [])


# ---------------------------------------------------------------- the step on a node in memory (tests/memnode.py)

CONF = "/etc/nginx/conf.d"


def lb_inventory():
    d = base_data()
    d["hosts"]["lb1"] = {"address": "192.168.1.30", "role": "lb"}
    return inventory(d)


def lb_node(inv, certs: bool = True, test_exit: int = 0) -> MemoryNode:
    """An lb host with nginx's folders, create-certs' pairs and a `nginx` that answers -t with `test_exit`."""
    node = MemoryNode(inv.hosts["lb1"])
    node.add_dir(CONF, uid=0, gid=0)
    node.add_file("/etc/nginx/nginx.conf", b"include /etc/nginx/conf.d/*.conf;\n", uid=0, gid=0)
    if certs:
        for n in ("esb.wso2.com", "mgt.esb.wso2.com"):
            node.add_file(f"/etc/ssl/wso2/{n}.crt", b"crt")
            node.add_file(f"/etc/ssl/wso2/{n}.key", b"key", 0o600)
    node.on(r"^command -v nginx$", (0, "/usr/sbin/nginx\n", ""))
    node.on(r"^nginx -c /etc/nginx/nginx.conf -t$",
            (test_exit, "", "" if test_exit == 0 else '[emerg] unknown directive "x" in esb.http.conf:3'))
    node.on(r"^nginx -c /etc/nginx/nginx.conf -s reload$", (0, "", ""))
    return node


def test_configure_lb_plans_the_three_files_tests_and_reloads_nginx_and_converges():
    inv = lb_inventory()
    node = lb_node(inv)
    plan, _ = plan_on(ConfigureLb(), node, inv)
    assert [f.path for f in plan.files] == [f"{CONF}/{n}" for n in FILES]
    assert {i.file for i in plan.items} == {f"{CONF}/{n}" for n in FILES} and all(i.wanted for i in plan.items)
    assert [a.describe() for a in plan.actions] == [
        "nginx -c /etc/nginx/nginx.conf -t  (the previous files back if it fails)",
        "nginx -c /etc/nginx/nginx.conf -s reload  (when nginx runs)"]
    patch_on(ConfigureLb(), node, inv)
    assert [c for c in node.commands if c[0].startswith("nginx")] == [
        ("nginx -c /etc/nginx/nginx.conf -t", True), ("nginx -c /etc/nginx/nginx.conf -s reload", True)]
    assert node.data(f"{CONF}/esb.http.conf") == render(inv)["esb.http.conf"]
    assert node.stat(f"{CONF}/esb.http.conf").mode & 0o7777 == 0o644
    node.commands.clear()
    assert not plan_on(ConfigureLb(), node, inv)[0] and node.commands == []  # patch asks nginx nothing then


def test_configure_lb_puts_the_previous_files_back_when_nginx_refuses_the_new_ones():
    inv = lb_inventory()
    node = lb_node(inv, test_exit=1)
    node.add_file(f"{CONF}/esb.http.conf", b"# the operator's old file\n")
    with pytest.raises(StepError, match=r'nginx -t refused the new files; .*\[emerg\] unknown directive "x"'):
        patch_on(ConfigureLb(), node, inv)
    assert node.data(f"{CONF}/esb.http.conf") == b"# the operator's old file\n"
    assert node.listdir(CONF) == ["esb.http.conf"]  # the new ones removed
    assert not any("reload" in c for c, _ in node.commands) and node.backups == []


def test_configure_lb_keeps_a_drained_worker_out_and_warns_instead_of_drift():
    inv = lb_inventory()
    node = lb_node(inv)
    patch_on(ConfigureLb(), node, inv)
    for name in FILES:
        path = f"{CONF}/{name}"
        node.add_file(path, set_down(node.data(path), {"192.168.1.13:8280", "192.168.1.13:8243"}, True))
    node.add_file(drain_marker(inv.hosts["lb1"], "esb-w1"), b"")
    plan, _ = plan_on(ConfigureLb(), node, inv)
    assert not plan and [(w.what, w.fix) for w in plan.warnings] == [("esb-w1", "fab -H esb-w1 drain --undo")]


def test_configure_lb_without_certificates_is_drift_in_verify_and_refused_by_patch():
    from tasks.engine.mode import Mode
    inv = lb_inventory()
    node = lb_node(inv, certs=False)
    plan, _ = plan_on(ConfigureLb(), node, inv, mode=Mode.VERIFY)
    assert [i.what for i in plan.items[:4]] == ["create-certs' certificate or key"] * 4
    with pytest.raises(StepError, match="missing on lb1: run create-certs on it first"):
        plan_on(ConfigureLb(), node, inv)
    assert node.written == []
