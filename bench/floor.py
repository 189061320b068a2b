"""The transport's own floor: what reading the nodes' files costs with bare paramiko and nothing else.

For every ESB host of a hosts.toml: connect (the same key and address fab uses), open one SFTP session,
read the six configuration files a node's steps read (axis2.xml, carbon.xml, catalina-server.xml,
master-datasources.xml, user-mgt.xml, registry.xml), close; `[run].parallel` hosts at a time, as fab
works.  bench/run.py runs it as a process of its own (interpreter start to exit, as fab is timed) on the
same lab, right before the fab runs it compares with.

    .venv/bin/python bench/floor.py path/to/hosts.toml [--files 3]   # issue 20's floor: the first three files
"""
from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import paramiko

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tasks.hoststoml import load_inventory  # noqa: E402
from tasks.rules import AXIS2, CARBON, CATALINA, MASTER, REGISTRY, USER_MGT  # noqa: E402

FILES = (AXIS2, CARBON, CATALINA, MASTER, USER_MGT, REGISTRY)


def read_host(host, files=FILES) -> int:
    """Connect, read the files (default: the six) over one SFTP session, close; the bytes read."""
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(host.address, port=host.port, username=host.user,
                   key_filename=os.path.expanduser(host.key_filename) if host.key_filename else None,
                   look_for_keys=False, allow_agent=False, timeout=host.connect_timeout)
    try:
        sftp = client.open_sftp()
        total = 0
        for rel in files:
            with sftp.open(f"{host.product_home}/{rel}", "rb") as f:
                f.prefetch()
                total += len(f.read())
        return total
    finally:
        client.close()


def main() -> None:
    inv = load_inventory(sys.argv[1])
    files = FILES[:int(sys.argv[3])] if len(sys.argv) > 3 and sys.argv[2] == "--files" else FILES
    hosts = inv.esb_nodes
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=inv.run.parallel) as pool:
        total = sum(pool.map(lambda h: read_host(h, files), hosts))
    print(f"{len(hosts)} hosts, {total} bytes, {time.perf_counter() - t0:.3f} s in the pool")


if __name__ == "__main__":
    main()
