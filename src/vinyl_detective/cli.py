"""The `vinyl-detective` command: a thin layer over the services."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="vinyl-detective",
    help="Finds underpriced records on eBay by pricing each listing against Discogs.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Vinyl Detective: eBay deal alerts priced against Discogs."""


def main() -> None:
    app()
