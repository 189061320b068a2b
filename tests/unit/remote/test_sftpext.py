"""The reaches past paramiko's public SFTP API (tasks/remote/sftpext.py), over a real sshd of the test lab: a pipelined
write's refusal is seen (before or with the close), statvfs tells a read-only or full file system, a file is
created with its mode in the OPEN request, and several files are read with their requests pipelined."""
from __future__ import annotations

import subprocess

import paramiko
import pytest

import os

from tasks.remote.sftpext import create, drain_writes, finish, read_many, statvfs


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


def test_finish_closes_with_the_writes_and_a_refusal_raises(sftp, small_fs):
    client, root = sftp
    ok = root / "finished.bin"
    f = client.open(str(ok), "wb")
    f.set_pipelined(True)
    f.write(b"x" * (300 << 10))
    finish(f)
    assert f.closed and ok.stat().st_size == 300 << 10
    ok.unlink()
    f = client.open(str(small_fs / "big.bin"), "wb")
    f.set_pipelined(True)
    f.write(b"y" * (512 << 10))
    with pytest.raises(IOError):
        finish(f)


def test_create_makes_the_file_with_its_mode_and_never_over_an_existing_one(sftp):
    client, root = sftp
    p = root / "created.bin"
    for mode in (0o600, 0o640, 0o644):
        f = create(client, str(p), mode)
        f.write(b"secret")
        finish(f)
        assert os.stat(p).st_mode & 0o7777 == mode and p.read_bytes() == b"secret"
        with pytest.raises(IOError):
            create(client, str(p), mode)  # O_EXCL: an existing file is refused, never reused with its old mode
        p.unlink()


def test_read_many_reads_files_in_one_batch_and_leaves_the_odd_ones_out(sftp):
    client, root = sftp
    files = {root / f"many{i}.txt": os.urandom(i * 20000) for i in range(5)}  # 0 to 80 kB: several READs each
    for p, data in files.items():
        p.write_bytes(data)
    (root / "many-dir").mkdir(exist_ok=True)
    big = root / "many-big.bin"
    big.write_bytes(b"b" * 5000)
    got = read_many(client, [str(p) for p in files] + [str(root / "many-dir"), str(root / "nope"), str(big)], 4096)
    assert {p: d for p, (_, d) in got.items() if d is not None} == {str(p): d for p, d in files.items() if len(d) <= 4096}
    assert got[str(root / "nope")] == (None, None)  # missing: known to be missing
    assert str(root / "many-dir") not in got and str(big) not in got  # a folder, a file over the limit: left out
    got = read_many(client, [str(p) for p in files], 1 << 20)
    assert {p: d for p, (_, d) in got.items()} == {str(p): d for p, d in files.items()}
    for p in files:
        p.unlink()
