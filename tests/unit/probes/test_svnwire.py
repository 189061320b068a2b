"""The svn protocol's pure parts (tasks/probes/svnwire.py): items as svnserve sends them, the CRAM-MD5 answer."""
from __future__ import annotations

import pytest

from tasks.probes.svnwire import SvnProtocolError, cram_md5, svn_item


def test_svn_items_one_at_a_time_and_incomplete_ones_wait():
    data = b"( success ( 2 2 ( ) ( edit-pipeline svndiff1 ) ) ) ( step ( 5:abc"
    item, used = svn_item(data)
    assert item == ["success", [2, 2, [], ["edit-pipeline", "svndiff1"]]]
    assert svn_item(data[used:]) is None
    assert svn_item(b"( failure ( ( 210005 31:No repository found in 'svn:/' 0: 0 ) ) ) ")[0][0] == "failure"
    with pytest.raises(SvnProtocolError):
        svn_item(b") ")


def test_cram_md5_is_rfc_2195():
    challenge = b"<1896.697170952@postoffice.reston.mci.net>"
    assert cram_md5("tim", "tanstaaftanstaaf", challenge) == b"tim b913a602c7eda7a495b4e6e7334d3890"
