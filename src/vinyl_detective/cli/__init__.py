"""The `vinyl-detective` command line: a thin layer over the services.

One module per command group: `running` (run, serve, demo, fakes), `status`, `searches`
(search ..., rules ...), `alerts` (test-alert, feeds), `deals` (deals, transition,
explain), `backups` (backup, restore), `imports` (import-dump, sync-wantlist,
import-history); `root` holds the app and `main`, `common` what they share. Importing
this package registers every command, in the order `--help` lists them.

Help is click's plain layout (flags shown as flags, text wrapped to the terminal, at most
80 columns); a paragraph that starts with a \\b line (the examples) is kept as written.
What a command needs (the database, the services, the daemon and its libraries) is
imported inside that command: `--help` and `status` start in a fraction of a second.

Nothing in the product imports this package: it is the top of the layers.
"""

# The order of these imports is the order `--help` lists the commands in (each module
# registers its commands on `app` when it is imported; the groups come last).
# isort: off
from vinyl_detective.cli import running, status, deals, alerts, backups, imports  # noqa: F401
from vinyl_detective.cli import searches  # noqa: F401

# isort: on
from vinyl_detective.cli.root import app, main

__all__ = ["app", "main"]
