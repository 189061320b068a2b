"""HTTP's pure part (tasks/probes/http.py): the status of a response head."""
from __future__ import annotations

from tasks.probes.http import http_status


def test_http_status_line():
    assert http_status(b"HTTP/1.1 502 Bad Gateway\r\nServer: nginx") == 502
    assert http_status(b"garbage") is None
