"""``python -m watchcache`` is the ``watchcache`` command."""

from watchcache.cli import main

raise SystemExit(main())
