"""The language a screen speaks: the booth's sitting language, or the default.

Widgets translate where they render, with `tr(self, msgid, ...)`: it reads the app's
`lang` (the booth sets it for each sitting; the wall keeps the event's default), so one
widget class serves every app. A language switch calls `relabel()` on what is shown.
"""

from __future__ import annotations

from textual.dom import DOMNode

from kiosk.core import i18n


def lang_of(node: DOMNode) -> str:
    """The language of the app `node` belongs to (the default when it has none)."""
    try:
        lang = getattr(node.app, "lang", i18n.DEFAULT)
    except Exception:  # not mounted yet: no app to ask
        return i18n.DEFAULT
    return lang if isinstance(lang, str) else i18n.DEFAULT


def tr(node: DOMNode, msgid: str, **params: object) -> str:
    """`msgid` in the language of `node`'s app, placeholders filled."""
    return i18n.translate(lang_of(node), msgid, **params)
