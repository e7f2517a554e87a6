"""Notebook cards: the small HTML that results and errors show as the last expression of a cell.

Theme-safe: every colour is a JupyterLab CSS variable (``--jp-...``) that falls back to
the surrounding text colour where the variable is not defined (VS Code, nbviewer), so
a card reads the same on light and dark themes. Every value is HTML-escaped.

>>> "204" in card("Updated", [("status", "204")], tone="ok")
True
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Literal

__all__ = ["Tone", "card"]

Tone = Literal["ok", "error", "warn", "info"]

# JupyterLab's own semantic colours; `currentColor` where a theme does not define them.
_ACCENT: dict[Tone, str] = {
    "ok": "var(--jp-success-color1, currentColor)",
    "error": "var(--jp-error-color1, currentColor)",
    "warn": "var(--jp-warn-color1, currentColor)",
    "info": "var(--jp-info-color1, currentColor)",
}


def card(title: str, rows: Sequence[tuple[str, str]], *, tone: Tone, extra_html: str = "") -> str:
    """A titled box of label/value rows; ``extra_html`` (already escaped) goes below them.

    >>> "&lt;b&gt;" in card("x", [("note", "<b>")], tone="info")
    True
    """
    cells = "".join(
        "<tr>"
        f"<th style='text-align:left;padding:1px 12px 1px 0;font-weight:normal;"
        f"color:var(--jp-ui-font-color2, inherit);vertical-align:top'>{html.escape(label)}</th>"
        f"<td style='text-align:left;padding:1px 0;white-space:pre-wrap'>{html.escape(value)}</td>"
        "</tr>"
        for label, value in rows
    )
    return (
        f"<div class='lk-card lk-{tone}' style='border-left:3px solid {_ACCENT[tone]};padding:4px 10px;"
        "margin:2px 0;color:var(--jp-ui-font-color1, inherit);font-family:var(--jp-ui-font-family, inherit)'>"
        f"<div style='font-weight:bold;color:{_ACCENT[tone]}'>{html.escape(title)}</div>"
        f"<table style='border-collapse:collapse;margin:2px 0'>{cells}</table>{extra_html}</div>"
    )
