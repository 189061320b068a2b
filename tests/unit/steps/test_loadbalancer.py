"""configure-lb's pure renderer (tasks/steps/loadbalancer.py) and the [lb] section's validation."""
from __future__ import annotations

import pytest

from tasks.config import ConfigError
from tasks.engine.context import StepError
from tasks.steps.loadbalancer import render
from tests.unit.helpers import base_data, inventory


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
    from tasks.formats.upstreams import set_down
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
