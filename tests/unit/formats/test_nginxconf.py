"""tasks.formats.nginxconf.py: a worker out of nginx's upstreams and back, every other byte kept."""
from __future__ import annotations

from tasks.formats.nginxconf import marked_down, set_down
from tasks.steps.loadbalancer import render
from tests.unit.helpers import base_data, inventory


def test_down_and_back_on_the_files_configure_lb_writes():
    files = render(inventory(base_data()))
    for conf in files.values():
        servers = {"192.168.1.13:8280", "192.168.1.13:8243"}
        down = set_down(conf, servers, True)
        assert marked_down(down) == {s for s in servers if s.encode() in conf}
        assert set_down(down, servers, True) == down  # twice is once
        assert set_down(down, servers, False) == conf  # back, byte for byte
        if b"192.168.1.13" in conf:
            assert b"server 192.168.1.13:8280 down;" in down or b"server 192.168.1.13:8243 down;" in down


def test_other_parameters_and_other_servers_stay():
    conf = b"upstream u {\n    ip_hash;\n    server 10.0.0.1:8280 max_fails=3;\n    server 10.0.0.2:8280;\n}\n"
    down = set_down(conf, {"10.0.0.1:8280"}, True)
    assert down == conf.replace(b"max_fails=3;", b"max_fails=3 down;")
    assert set_down(down, {"10.0.0.1:8280"}, False) == conf
