"""facts: the balancer's files parsed as nginx reads them, whatever their layout (issue 24: server blocks indented
inside http {} were missed, and the diagram drew no balancer)."""
from __future__ import annotations

import textwrap

from tasks.formats.nginxconf import blocks as nginx_blocks
from tasks.probes.facts import parse_lb
from tasks.steps.loadbalancer import render
from tests.unit.helpers import inventory, base_data


def _indented(text: str) -> str:
    return "http {\n" + textwrap.indent(text, "    ") + "}\n"


def test_the_files_configure_lb_writes_and_the_same_indented_in_http_give_the_same_facts():
    files = render(inventory(base_data()))
    flat = parse_lb("lb1", files)
    assert flat.vhosts and flat.routes
    nested = parse_lb("lb1", {n: _indented(d.decode()).encode() for n, d in files.items()})
    assert (nested.vhosts, sorted(nested.routes)) == (flat.vhosts, sorted(flat.routes))
    tabbed = parse_lb("lb1", {n: d.replace(b"\n", b"\n\t").replace(b"server {", b"server{") for n, d in files.items()})
    assert (tabbed.vhosts, sorted(tabbed.routes)) == (flat.vhosts, sorted(flat.routes))


def test_blocks_match_their_braces_and_skip_server_lines():
    text = "upstream up { server 10.0.0.1:8280; server 10.0.0.2:8280 max_fails=3; }\n" \
           "  server { listen 80; location / { proxy_pass http://up; } }\n"
    kinds = [(k, n) for k, n, _ in nginx_blocks(text)]
    assert kinds == [("upstream", "up"), ("server", "")]
    assert "location / { proxy_pass http://up; }" in nginx_blocks(text)[1][2]
