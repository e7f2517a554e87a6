"""Small things the widgets share: a UI view of a client that never sleeps long, and a safe text box."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import ipywidgets as widgets

if TYPE_CHECKING:
    from learnkit.client import GraphClient

__all__ = ["SecretText", "style_sheet", "ui_client"]


def ui_client(client: GraphClient, max_wait: float) -> GraphClient:
    """The same client (session, credentials) with waits bounded to ``max_wait`` seconds.

    A widget must not freeze the kernel for the minutes a 429 may ask for: a longer
    wait is raised as ``TooManyRequestsError`` with ``retry_after``, and shown.
    """
    return client.with_options(retry=dataclasses.replace(client.retry, max_retry_wait=max_wait))


class SecretText(widgets.Password):  # type: ignore[misc]
    """A password box whose repr never shows what was typed.

    >>> "hunter2" in repr(SecretText(value="hunter2", description="secret"))
    False
    """

    def _repr_keys(self):  # type: ignore[no-untyped-def]
        return (key for key in super()._repr_keys() if key != "value")


#: The views' look, in JupyterLab's CSS variables (with fallbacks), so light and dark themes both read well.
_CSS = """
<style>
.lk-message, .lk-ok, .lk-refused, .lk-error, .lk-wait, .lk-note { padding: 2px 0; }
/* !important: the inline colours in explain.py are only the fallback for HTML shown without this sheet. */
.lk-ok { color: var(--jp-success-color0, #1b5e20) !important; }
.lk-refused, .lk-error, .lk-problem, .lk-callback-error { color: var(--jp-error-color1, #b00020) !important; }
.lk-wait { color: var(--jp-warn-color0, #8a5a00) !important; }
/* A dark theme's deeper shades are dim on its dark background (under 4.5:1): take its lighter ones. */
body[data-jp-theme-light="false"] .lk-ok { color: var(--jp-success-color1) !important; }
body[data-jp-theme-light="false"] :is(.lk-refused, .lk-error, .lk-problem, .lk-callback-error) {
  color: var(--jp-error-color2) !important;
}
body[data-jp-theme-light="false"] .lk-wait { color: var(--jp-warn-color1) !important; }
/* The browser's own parts of inputs (date pickers' calendar icon) drawn for a dark page too. */
body[data-jp-theme-light="false"] :is(.lk-activity-form, .lk-activity-table, .lk-bulk-editor) input {
  color-scheme: dark;
}
.lk-info, .lk-note { color: var(--jp-ui-font-color1, inherit); }
table.lk-pending, table.lk-results, table.lk-diff, table.lk-header, table.lk-runs {
  border-collapse: collapse; color: var(--jp-ui-font-color1, inherit);
  background: var(--jp-layout-color0, transparent); font-size: var(--jp-ui-font-size1, 13px);
}
table.lk-pending td, table.lk-pending th, table.lk-results td, table.lk-results th, table.lk-runs td,
table.lk-runs th, table.lk-diff td, table.lk-diff th, table.lk-header td, table.lk-header th {
  border: 1px solid var(--jp-border-color2, #ccc); padding: 2px 6px; text-align: left;
}
/* Ids (words.id_html): their end; the whole id on hover, selected whole by a click (to copy). */
.lk-id .lk-id-full { display: none; }
.lk-id:hover .lk-id-short { display: none; }
.lk-id:hover .lk-id-full, .lk-id-whole { display: inline; user-select: all; }
/* In every view (the app and each widget on its own): lists and notes wrap between words, never inside one
   (a page's own rules may break anywhere), and a disabled button looks disabled in both themes, whatever its
   style (a primary one kept its blue). */
:is(.lk-app, .lk-activity-table, .lk-activity-form, .lk-bulk-editor, .lk-history, .lk-findings,
  .lk-provider-charts, .lk-source) .widget-html-content { overflow-wrap: normal; word-break: normal; }
:is(.lk-app, .lk-activity-table, .lk-activity-form, .lk-bulk-editor, .lk-history, .lk-findings,
  .lk-provider-charts, .lk-source) :is(.jupyter-button, .jupyter-button.mod-primary):disabled {
  background: var(--jp-layout-color3, #ddd); color: var(--jp-ui-font-color3, #999); opacity: 0.6;
  cursor: not-allowed; box-shadow: none;
}
pre.lk-json { background: var(--jp-layout-color2, #f5f5f5); color: var(--jp-content-font-color1, inherit);
  padding: 4px 8px; }
</style>
"""


def style_sheet() -> widgets.HTML:
    """The shared style block every view puts first (idempotent: the same rules each time)."""
    return widgets.HTML(_CSS, layout=widgets.Layout(height="0px", overflow="hidden", margin="0"))
