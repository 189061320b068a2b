"""Where a link in the product home may lead (tasks/remote/confine.py), with a node's resolver given as a table."""
from __future__ import annotations

import pytest

from tasks.remote.common import RemoteError
from tasks.remote.confine import Confine

HOME = "/opt/esb"
ROOTS = (HOME, "/etc/hosts", "/etc/ssl/wso2", "/srv/shared")


def confine(links: dict[str, str]) -> tuple[Confine, list[str]]:
    asked: list[str] = []

    def realpath(p: str) -> str:
        asked.append(p)
        for link, to in links.items():
            if p == link or p.startswith(link + "/"):
                return to + p[len(link):]
        return p
    return Confine([(".esb-cluster/nodes/w1", (".esb-cluster/nodes/w1",)), (HOME, ROOTS)], realpath), asked


def test_plain_paths_and_paths_outside_the_home_pass():
    c, _ = confine({})
    c.folder(f"{HOME}/repository/conf/carbon.xml")
    c.link("/etc/hosts")  # not under the home: not this rule's
    c.folder("/somewhere/else")
    c.folder(HOME)  # the product home itself: its parent is not the rule's
    c.link(HOME)


@pytest.mark.parametrize("link,to", [(f"{HOME}/repository/conf", "/root/secret"),
                                     (f"{HOME}/repository", "/etc"),
                                     (f"{HOME}/repository/conf", "/opt/esbx/conf")])  # a sibling is not inside
def test_a_folder_leading_out_is_refused_naming_it(link, to):
    c, _ = confine({link: to})
    with pytest.raises(RemoteError, match="through a symbolic link, outside what the project manages.*link_roots"):
        c.folder(f"{HOME}/repository/conf/carbon.xml")


def test_a_file_link_leading_out_is_refused_and_a_declared_root_or_a_managed_root_is_followed():
    c, _ = confine({f"{HOME}/a.xml": "/root/a.xml", f"{HOME}/b.xml": "/srv/shared/b.xml",
                    f"{HOME}/c.crt": "/etc/ssl/wso2/c.crt"})
    with pytest.raises(RemoteError, match="a.xml: it leads to /root/a.xml"):
        c.link(f"{HOME}/a.xml")
    c.link(f"{HOME}/b.xml")
    c.link(f"{HOME}/c.crt")


def test_each_folder_is_resolved_once_per_run():
    c, asked = confine({})
    for name in ("carbon.xml", "user-mgt.xml", "registry.xml"):
        c.folder(f"{HOME}/repository/conf/{name}")
    c.known(f"{HOME}/repository/conf/axis2", f"{HOME}/repository/conf/axis2")
    c.folder(f"{HOME}/repository/conf/axis2/axis2.xml")
    assert asked.count(f"{HOME}/repository/conf") == 1 and f"{HOME}/repository/conf/axis2" not in asked


def test_the_state_dir_leads_nowhere_else():
    c, _ = confine({".esb-cluster/nodes/w1/backups/R": "/etc"})
    with pytest.raises(RemoteError, match=r"on this node \(.esb-cluster/nodes/w1\); refused, nothing read or written "
                                          r"through it$"):
        c.folder(".esb-cluster/nodes/w1/backups/R/rolled-back.json")
    c.folder(".esb-cluster/nodes/w1/backups/S/manifest.json")


def test_a_root_is_resolved_only_when_no_root_holds_as_named():
    """A folder inside the home as named costs no round trip for the roots; one the operator linked elsewhere
    is judged by where each root really is (each resolved once), and a batch's roots are taken as known."""
    c, asked = confine({})
    c.folder(f"{HOME}/repository/conf/carbon.xml")
    assert asked == [f"{HOME}/repository/conf"]  # the folder itself, no root
    c, asked = confine({f"{HOME}/repository/conf": "/data/conf", "/srv/shared": "/data"})
    c.folder(f"{HOME}/repository/conf/carbon.xml")  # /data/conf: inside /srv/shared as it resolves
    assert set(asked) == {f"{HOME}/repository/conf", *ROOTS}
    c, asked = confine({f"{HOME}/repository/conf": "/data/conf"})
    assert c.unresolved_roots([f"{HOME}/repository/conf/carbon.xml"]) == list(ROOTS)
    for r in ROOTS:
        c.known_root(r, "/data" if r == "/srv/shared" else r)
    c.folder(f"{HOME}/repository/conf/carbon.xml")
    assert asked == [f"{HOME}/repository/conf"] and c.unresolved_roots([f"{HOME}/x"]) == []


def test_a_path_is_plainly_within_when_its_resolved_folder_lies_in_a_root_as_named():
    """What the read-ahead asks before it resolves roots: none for a folder inside the home as named, for a path the
    rule does not cover; a folder not resolved yet, or one leading elsewhere, needs them."""
    c, asked = confine({})
    assert c.plainly_within("/elsewhere/file") and not c.plainly_within(f"{HOME}/repository/conf/carbon.xml")
    c.known(f"{HOME}/repository/conf", f"{HOME}/repository/conf")
    c.known(f"{HOME}/repository/deployment", "/data/deployment")
    assert c.plainly_within(f"{HOME}/repository/conf/carbon.xml")
    assert not c.plainly_within(f"{HOME}/repository/deployment/x.car")
    assert asked == []
