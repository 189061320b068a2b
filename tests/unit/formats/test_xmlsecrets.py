"""tasks/formats/xmlsecrets.py: the password values an XML file holds, found by the XML layer."""
from __future__ import annotations

from tasks.formats.xmlsecrets import password_values


def test_elements_properties_and_attributes_named_password_decoded_and_as_written():
    xml = (b'<x xmlns="http://wso2.org/projects/carbon/carbon.xml"><KeyPassword>k&amp;pw</KeyPassword>'
           b'<Property name="password"><![CDATA[prop-pw]]></Property><Property name="UserName">admin</Property>'
           b'<ds password="attr-pw"/><Password/><!-- <Password>commented</Password> --></x>')
    assert password_values(xml) == ["k&pw", b"k&amp;pw", "prop-pw", b"<![CDATA[prop-pw]]>", "attr-pw"]


def test_a_file_the_xml_layer_refuses_is_none():
    assert password_values(b"<Password>x</Password><y") is None
    assert password_values(b'<!DOCTYPE x [<!ENTITY e "v">]><x><Password>&e;</Password></x>') is None
