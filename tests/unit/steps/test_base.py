"""XmlEdits: a secret element's old value is masked in the diff however the file escapes it."""
from __future__ import annotations

import pytest

from tasks.engine.plan import FileChange
from tasks.secrets import MASK
from tasks.steps.base import XmlEdits
from tasks.formats.xmldoc import XmlDoc

OLD = "Old-4f2a&<q>'\"%"


@pytest.mark.parametrize("written", [
    "Old-4f2a&amp;&lt;q&gt;'\"%",                  # escape() as set_text writes it
    "Old-4f2a&amp;&lt;q&gt;&apos;&quot;%",         # every special character escaped
    "Old-4f2a&#38;&#60;q&#62;&#39;&#34;%",         # numeric references
    "<![CDATA[Old-4f2a&<q>'\"%]]>",                # CDATA
])
def test_old_secret_is_masked_whatever_its_escaping(written):
    data = f'<?xml version="1.0"?>\n<c>\n  <password>{written}</password>\n</c>\n'.encode()
    e = XmlEdits(XmlDoc(data, "c.xml"), "c.xml")
    el = e.doc.find("password")
    assert el.text == OLD
    e.text(el, "New-9b1c&<r>", "password", secret=True)
    diff = FileChange("/c.xml", data, e.doc.render(), secret_lines=tuple(e.secret_values)).diff()
    assert "4f2a" not in diff and "9b1c" not in diff
    assert f"-  <password>{MASK}</password>" in diff and f"+  <password>{MASK}</password>" in diff
    assert e.items[0].as_dict()["actual"] == MASK
