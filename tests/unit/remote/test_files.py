"""tasks/remote/files.py on a real sshd: atomic writes keeping owner and mode, a new file's mode from its creation,
a symlink kept, a planted link replaced and never written through, counted round trips."""
from __future__ import annotations

import os
import stat


def test_a_write_keeps_mode_and_link_and_a_new_file_has_its_mode_from_the_start(lab, remote):
    r = remote()
    home = lab.hosts["esb-w1"].home
    f = home / "repository" / "conf" / "registry.xml"
    os.chmod(f, 0o604)
    r.write(str(f), b"<new/>")
    assert stat.S_IMODE(os.stat(f).st_mode) == 0o604 and f.read_bytes() == b"<new/>"
    link = home / "linked.xml"
    link.symlink_to(f)
    r.write(str(link), b"<through-the-link/>")
    assert link.is_symlink() and f.read_bytes() == b"<through-the-link/>"
    for mode in (0o600, 0o640, 0o664):
        p = home / f"new-{mode:o}.txt"
        r.write(str(p), b"secret", mode=mode)
        assert stat.S_IMODE(os.stat(p).st_mode) == mode, oct(mode)  # 0664: more than the server's umask allows
    assert not [p for p in home.rglob("*.esb-tmp-*")]  # no temp file left


def test_place_replaces_a_planted_link_and_never_writes_through_it(lab, remote, tmp_path):
    """place (password-tmp, the start record): a fresh file created exclusively under a random name, mode 0600 from
    its creation, renamed over whatever is at the path: a link a node planted there is replaced, the file it points
    to (outside the product home) is unchanged."""
    r = remote()
    home = lab.hosts["esb-w1"].home
    outside = tmp_path / "outside"
    outside.write_bytes(b"the operator's own file\n")
    target = home / "password-tmp"
    os.symlink(outside, target)
    r.place(str(target), b"s3cret")
    assert outside.read_bytes() == b"the operator's own file\n"
    assert not target.is_symlink() and target.read_bytes() == b"s3cret"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    os.symlink(tmp_path / "nothing-there", home / "dangling")  # a link to nothing: not created through either
    r.place(str(home / "dangling"), b"x")
    assert not (tmp_path / "nothing-there").exists() and (home / "dangling").read_bytes() == b"x"
    assert not [p for p in home.iterdir() if ".esb-tmp-" in p.name]  # no temp file left


def test_a_new_file_is_not_written_through_a_folder_that_leads_out_of_the_product_home(lab, remote):
    import pytest

    from tasks.remote import RemoteError
    home = lab.hosts["esb-w1"].home
    outside = lab.dir / "outside-new-file"
    outside.mkdir(exist_ok=True)
    (home / "repository" / "deployment").symlink_to(outside)
    r = remote(areas=[(str(home), (str(home),))])
    try:
        with pytest.raises(RemoteError, match="its folder .*deployment leads to .* through a symbolic link, outside"):
            r.write(str(home / "repository/deployment/new.car"), b"x")
        assert not (outside / "new.car").exists() and not r.written  # no backup record either
        r.write(str(home / "repository/conf/new.xml"), b"<x/>")  # a new file in a real folder: written
        assert (home / "repository/conf/new.xml").read_bytes() == b"<x/>"
    finally:
        (home / "repository" / "deployment").unlink()
