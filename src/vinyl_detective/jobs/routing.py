"""Saved searches → the pipeline's routes: each search's rule compiled with the global one.

A search whose rule does not parse is disabled with the reason (and the others go on); a
global rule that does not parse is logged and ignored, so a typo in it never silences
every search. Rules are parsed once per text, not once per search per scheduler cycle.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence

from sqlalchemy.engine import Engine

from vinyl_detective.domain.models import SavedSearch
from vinyl_detective.domain.rules import combine, parse_rule
from vinyl_detective.errors import RuleSyntaxError
from vinyl_detective.jobs.pipeline import Route
from vinyl_detective.service import GlobalRule
from vinyl_detective.storage import searches

log = logging.getLogger(__name__)

# Rules are immutable: each text is parsed once.
_parsed_rule = functools.lru_cache(maxsize=4096)(parse_rule)


def compile_routes(
    due: Sequence[SavedSearch], global_rule: str | None
) -> tuple[list[Route], dict[int, str]]:
    """Compile each search's rule with the global one; broken rules disable only their search.

    Returns the usable routes and, per broken search id, the reason it is disabled.
    """
    broken: dict[int, str] = {}
    global_compiled = _parsed_rule(global_rule) if global_rule else None
    routes: list[Route] = []
    for search in due:
        try:
            own = _parsed_rule(search.rule) if search.rule else None
        except RuleSyntaxError as exc:
            broken[search.id] = f"rule does not parse: {exc.message} at {exc.position + 1}"
            continue
        parts = [r for r in (global_compiled, own) if r is not None]
        routes.append(Route(search, combine(parts) if parts else None))
    return routes, broken


class SearchRoutes:
    """The routes of saved searches under the global rule in force (the stored one, else
    the configured GLOBAL_RULE); disables the searches whose rule is broken."""

    def __init__(self, engine: Engine, configured_global_rule: str | None) -> None:
        self.engine = engine
        self.configured_global_rule = configured_global_rule

    def global_rule(self) -> str | None:
        return GlobalRule(self.engine, self.configured_global_rule).get()

    def __call__(self, due: list[SavedSearch]) -> list[Route]:
        """Compile the rules of `due`; a broken rule disables only its own search."""
        try:
            routes, broken = compile_routes(due, self.global_rule())
        except RuleSyntaxError as exc:
            log.error("the global rule is broken and ignored: %s", exc)
            routes, broken = compile_routes(due, None)
        for search_id, reason in broken.items():
            log.error("search %s disabled: %s", search_id, reason)
            with self.engine.begin() as conn:
                searches.disable_search(conn, search_id, reason)
        return routes

    def active(self) -> list[Route]:
        """The routes of every active search."""
        with self.engine.connect() as conn:
            active = searches.list_searches(conn, active_only=True)
        return self(active)
