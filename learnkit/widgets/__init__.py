"""The notebook workbench: ipywidgets views over learnkit (nothing in the library imports this).

- ``ConnectPanel``: sandbox or tenant sign-in, gives a ``GraphClient``;
- ``ActivityForm``: one activity's fields, generated from the update models,
  validated as you type, with a live PATCH preview and a PATCH button;
- ``ActivityTable``: a DataFrame grid of many activities: filter, sort, select,
  edit the updatable columns, see the pending changes;
- ``BulkEditor``: set fields on the selected rows, preview, apply with progress;
- ``HistoryPanel``: the journal's runs, each undoable;
- ``ProviderCharts``: status, completion, overdue and findings charts whose selections filter a table;
- ``FindingsPanel``: the audit's findings and proposed fixes, to review, apply (one journal run) and undo;
- ``SourceChoice``: which of a provider's records to read (``learnkit.bulk.sources``): its list where served,
  or keys pasted or uploaded, or learners.

They are views of one ``Workbench`` (client, activities, pending edits, journal):
every save from any of them is one journal run and shows in all of them.

Example::

    from learnkit.widgets import ActivityForm, ActivityTable, Workbench
    bench = Workbench(client, registration_id=sb.demo["registration_id"])
    ActivityTable(bench), ActivityForm(bench)
"""

from __future__ import annotations

from learnkit._extras import require

require("widgets", __name__)
require("bulk", __name__)

from learnkit.widgets._safe import CALLBACK_ERRORS, CallbackError, guarded
from learnkit.widgets.bulk_editor import BulkEditor
from learnkit.widgets.charts import ProviderCharts
from learnkit.widgets.connect import ConnectPanel
from learnkit.widgets.findings import FindingsPanel
from learnkit.widgets.form import ActivityForm
from learnkit.widgets.history import HistoryPanel
from learnkit.widgets.source_choice import SourceChoice
from learnkit.widgets.table import ActivityTable
from learnkit.widgets.workbench import Workbench

__all__ = [
    "CALLBACK_ERRORS",
    "ActivityForm",
    "ActivityTable",
    "BulkEditor",
    "CallbackError",
    "ConnectPanel",
    "FindingsPanel",
    "HistoryPanel",
    "ProviderCharts",
    "SourceChoice",
    "Workbench",
    "guarded",
]
