"""The two reaches past paramiko's public SFTP API (tasks/sftpext.py), over a real sshd of the test lab:
a pipelined write's refusal is seen before close, and statvfs tells a read-only or full file system."""
from __future__ import annotations

import subprocess

import paramiko
import pytest

from tasks.sftpext import drain_writes, statvfs


@pytest.fixture
def sftp(lab_session):
    h = lab_session.hosts["esb-w1"]
    client = paramiko.SSHClient()
    client.load_host_keys(str(lab_session.known_hosts))
    client.connect(h.address, h.port, "root", key_filename=str(lab_session.key), look_for_keys=False,
                   allow_agent=False)
    yield client.open_sftp(), h.root
    client.close()


@pytest.fixture
def small_fs(lab_session, tmp_path):
    """A 64 KiB tmpfs under the host root (made and removed by the test)."""
    d = lab_session.hosts["esb-w1"].root / "small"
    d.mkdir(exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(d)], check=True)
    yield d
    subprocess.run(["umount", str(d)], check=True)
    d.rmdir()


def test_pipelined_writes_are_drained_and_a_refusal_raises_before_close(sftp, small_fs):
    client, root = sftp
    ok = root / "pipelined.bin"
    with client.open(str(ok), "wb") as f:
        f.set_pipelined(True)
        f.write(b"x" * (512 << 10))
        f.flush()
        drain_writes(f)
        assert not f._reqs
    assert ok.stat().st_size == 512 << 10
    ok.unlink()
    with pytest.raises(IOError):
        with client.open(str(small_fs / "big.bin"), "wb") as f:
            f.set_pipelined(True)
            f.write(b"y" * (512 << 10))  # far more than the 64 KiB file system holds
            f.flush()
            drain_writes(f)


def test_statvfs_tells_full_and_read_only_file_systems(sftp, small_fs):
    client, root = sftp
    fs = statvfs(client, str(root))
    assert fs is not None and not fs.read_only and not fs.full
    (small_fs / "fill").write_bytes(b"z" * (60 << 10))
    try:
        (small_fs / "fill2").write_bytes(b"z" * (64 << 10))
    except OSError:
        pass
    assert statvfs(client, str(small_fs)).full
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    try:
        assert statvfs(client, str(small_fs)).read_only
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_fs)], check=True)
    assert statvfs(client, "/no/such/place") is None
