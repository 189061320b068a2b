"""A client loop through the balancer: POSTs (a request in flight is not retried elsewhere by nginx once sent)
from 4 threads until stopped, counting what a backend answered and what failed."""
from __future__ import annotations

import socket
import threading


class Clients:
    """POSTs through nginx from 4 threads until stopped: (answered by a backend, failed)."""

    def __init__(self, address: str, port: int, host: str):
        self.addr, self.host = (address, port), host
        self.ok = self.failed = 0
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.loop, daemon=True) for _ in range(4)]

    def one(self) -> tuple[bool, str]:
        body = b"x=1"
        req = (f"POST / HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
               ).encode() + body
        try:
            with socket.create_connection(self.addr, timeout=10) as s:
                s.sendall(req)
                data = b""
                while chunk := s.recv(4096):
                    data += chunk
        except OSError as e:
            return False, str(e)
        head = data.split(b"\r\n", 1)[0]
        return head.startswith(b"HTTP/1.1 200"), head.decode(errors="replace")

    def loop(self):
        while not self.stop.is_set():
            good, why = self.one()
            with self.lock:
                if good:
                    self.ok += 1
                else:
                    self.failed += 1
                    self.errors.append(why)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *a):
        self.stop.set()
        for t in self.threads:
            t.join(15)
