"""tasks.probes.depsync: a node's log followed from where it ended, its zone learnt from its last line and mtime,
a file hashed again only when it changed; the tenant URL as carbon-commons builds it."""
from __future__ import annotations

import hashlib

from tasks.formats.carbonxml import tenant_url
from tasks.probes.depsync import NodeSync
from tasks.remote.common import FileStat
from tests.unit.helpers import inventory

LINE = "TID: [-1234] [] [2026-12-07 11:00:00,500]  INFO {x.ApplicationManager} -  {msg} {x}\n"
UTC_11 = 1796641200  # 2026-12-07 11:00:00 UTC


class Files:
    def __init__(self):
        self.files: dict[str, tuple[bytes, int]] = {}
        self.hashed = 0

    def lstat(self, path):
        if path not in self.files:
            return None
        data, mtime = self.files[path]
        return FileStat(0o100644, 0, 0, len(data), mtime)

    def read_range(self, path, offset, length):
        data = self.files[path][0]
        return data[offset:offset + length], len(data)

    def sha256(self, path, limit):
        self.hashed += 1
        return hashlib.sha256(self.files[path][0]).hexdigest()


def node():
    files = Files()
    return NodeSync(inventory().hosts["esb-w1"], files), files, "/opt/wso2esb-4.9.0/repository/logs/wso2carbon.log"


def test_the_log_is_followed_and_its_zone_learnt_from_the_last_line():
    sync, files, log = node()
    one = LINE.replace("{msg}", "Successfully Deployed Carbon Application : App_1.0.0 {super-tenant}")
    files.files[log] = (one.encode(), UTC_11 - 3600)  # the node writes its log in UTC+1
    assert sync.last_event("App_1.0.0") == ("deployed", UTC_11 - 3600 + 0.5)
    assert sync.zone() == 3600
    two = one + LINE.replace("{msg}", "Undeploying Carbon Application : App_1.0.0...").replace("11:00:00", "11:00:05")
    files.files[log] = (two.encode(), UTC_11 - 3600 + 5)
    assert sync.last_event("App_1.0.0") == ("undeployed", UTC_11 - 3600 + 5.5)
    files.files[log] = (b"", UTC_11)  # rotated: read from its start again
    assert sync.follow_log() == ""


def test_a_file_is_hashed_again_only_when_it_changed():
    sync, files, _ = node()
    path = "/opt/wso2esb-4.9.0/repository/deployment/server/carbonapps/A.car"
    files.files[path] = (b"one", 100)
    assert sync.sha256("repository/deployment/server/carbonapps/A.car")[0] == hashlib.sha256(b"one").hexdigest()
    sync.sha256("repository/deployment/server/carbonapps/A.car")
    assert files.hashed == 1
    files.files[path] = (b"two", 101)
    assert sync.sha256("repository/deployment/server/carbonapps/A.car") == (hashlib.sha256(b"two").hexdigest(), 101)
    assert sync.sha256("repository/deployment/server/carbonapps/B.car") == (None, None)


def test_the_tenant_url_as_carbon_commons_builds_it():
    assert tenant_url("svn://h/repo/", "true") == "svn://h/repo/-1234"
    assert tenant_url("svn://h/repo", None) == "svn://h/repo/-1234"
    assert tenant_url("svn://h/repo/", " False ") == "svn://h/repo/"
