"""``python -m learnkit ...`` is the ``learnkit`` command."""

from learnkit.cli import main

raise SystemExit(main())
