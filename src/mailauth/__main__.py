"""``python -m mailauth``: the command line."""

from .cli import main

raise SystemExit(main())
