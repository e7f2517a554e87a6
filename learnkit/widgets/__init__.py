"""The notebook workbench: ipywidgets views over learnkit (nothing in the library imports this).

- ``ConnectPanel``: sandbox or tenant sign-in, gives a ``GraphClient``;
- ``ActivityForm``: one activity's fields, generated from the update models,
  validated as you type, with a live PATCH preview and a PATCH button;
- ``ActivityTable``: a DataFrame grid of many activities: filter, sort, select,
  edit the updatable columns, see the pending changes;
- ``BulkEditor``: set fields on the selected rows, preview, apply with progress.

Example::

    from learnkit.widgets import ActivityForm
    ActivityForm(client, sb.demo["assignment_id"])
"""

from __future__ import annotations

from learnkit.widgets._safe import CALLBACK_ERRORS, CallbackError, guarded
from learnkit.widgets.bulk_editor import BulkEditor
from learnkit.widgets.connect import ConnectPanel
from learnkit.widgets.form import ActivityForm
from learnkit.widgets.table import ActivityTable, activities_frame

__all__ = [
    "CALLBACK_ERRORS",
    "ActivityForm",
    "ActivityTable",
    "BulkEditor",
    "CallbackError",
    "ConnectPanel",
    "activities_frame",
    "guarded",
]
