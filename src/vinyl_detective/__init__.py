"""Vinyl Detective: finds underpriced records by pricing eBay listings against Discogs.

The layers, lowest first (tests/test_architecture.py holds each to importing only the
layers below it; CONTRIBUTING.md explains them):

- errors, clock, logs: the base every module may use;
- domain/: the pure core (matching, grading, scoring, rules, lifecycle, scheduling);
- config: settings from the environment;
- storage/ (the database) and sources/ (eBay, Discogs, dumps, exports);
- notify/ (Telegram, Apprise, cards) and events/ (the outbox relay);
- service: the use cases shared by the CLI, the bot and the API (searches, rules);
- jobs/: poll, pipeline, refresh, imports and the scheduler;
- explain, feeds, activity: read models over stored data;
- api/ (HTTP) and bot_backend (the bot's commands);
- daemon: wires it all and runs it;
- fakes/: local fake eBay, Discogs and Telegram servers and the sample market;
- demo, then cli (the `vinyl-detective` command).
"""

import sys

__version__ = "0.1.0"

# httpx's package imports its own command-line client (click, pygments, rich's syntax
# highlighter: ~2 MB of the daemon's memory, ~30 ms of its start) whenever those happen to
# be installed. Nothing here runs that client: marked absent, httpx skips it (it falls
# back to a stub `httpx.main` that says what to install).
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
