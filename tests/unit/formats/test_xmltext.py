"""tasks/formats/xmltext.py: escaping as xml.sax.saxutils does, one element's markup."""
from __future__ import annotations

from xml.sax.saxutils import escape as sax_escape

import pytest

from tasks.formats.xmltext import element_markup, escape


@pytest.mark.parametrize("value", ["plain", "a&b<c>d", "&amp; already", 'q"uo\'te', "ünï&cödé", ""])
@pytest.mark.parametrize("entities", [None, {'"': "&quot;"}, {"'": "&apos;"}])
def test_escape_is_saxutils_escape(value, entities):
    assert escape(value, entities) == sax_escape(value, entities or {})


def test_element_markup_escapes_text_and_attribute_values():
    assert element_markup("p", 'a<b&"c"', {"name": 'x"y'}) == '<p name="x&quot;y">a&lt;b&amp;"c"</p>'
    assert element_markup("e", None, {"k": "v"}) == '<e k="v"/>'
