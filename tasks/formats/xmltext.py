"""Text and markup as the XML layer writes them: a value escaped for element content or an attribute, one simple
element's markup. (Not xml.sax.saxutils: it imports urllib.request, a twentieth of a command's start-up.)"""
from __future__ import annotations


def escape(data: str, entities: dict[str, str] | None = None) -> str:
    """`&`, `<` and `>` as entity references, then each of `entities` (a quote inside an attribute value)."""
    data = data.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")
    for char, ref in (entities or {}).items():
        data = data.replace(char, ref)
    return data


def element_markup(tag: str, text: str | None = None, attrs: dict[str, str] | None = None) -> str:
    """Markup for one simple element: <tag a="v">text</tag> or <tag a="v"/>."""
    a = "".join(f' {k}="{escape(v, {chr(34): "&quot;"})}"' for k, v in (attrs or {}).items())
    if text is None:
        return f"<{tag}{a}/>"
    return f"<{tag}{a}>{escape(text)}</{tag}>"


__all__ = ["escape", "element_markup"]
