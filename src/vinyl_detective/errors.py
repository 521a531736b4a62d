"""One error tree for the whole product.

    VinylDetectiveError
    ├── ConfigError               bad or missing setting; the message names the variable
    ├── RuleSyntaxError           a watch rule that does not parse; carries the position
    │   └── RuleTooLongError      longer than the parser accepts (4,000 characters)
    ├── InvalidTransitionError    a lifecycle move the state machine refuses
    ├── DumpError                 a Discogs dump that is corrupt or truncated
    └── ExternalServiceError      something went wrong talking to eBay/Discogs/Telegram/...
        ├── RetryableError        worth trying again later (5xx, timeouts, connection errors)
        │   └── RateLimitedError  the peer said slow down; `retry_after` seconds if it said so
        ├── BudgetExhaustedError  our own daily call budget is spent; wait for `resets_at`
        └── PermanentError        retrying will not help (4xx, bad credentials, bad payload)
            ├── AuthError         credentials rejected
            ├── NotFoundError     the thing asked for does not exist (any more)
            └── RecipientBlockedError  a chat blocked the bot / a channel refuses us for good

Foreign errors (httpx, telegram, apprise) are translated into these once, at the edge;
the type decides the policy. Normal outcomes ("no match", "not a deal") are return
values, never exceptions.
"""

from __future__ import annotations

from datetime import datetime


class VinylDetectiveError(Exception):
    """Base of every error this product raises on purpose."""


class ConfigError(VinylDetectiveError):
    """A setting is missing or malformed; the message names it and says what it should be."""


class RuleSyntaxError(VinylDetectiveError):
    """A watch rule expression that does not parse.

    `position` is the 0-based character offset of the mistake in `expression`.
    """

    def __init__(self, message: str, expression: str, position: int) -> None:
        self.message = message
        self.expression = expression
        self.position = position
        shown, at = _excerpt(expression, position)
        pointer = " " * at + "^"
        super().__init__(f"{message} at position {position + 1}:\n  {shown}\n  {pointer}")


class RuleTooLongError(RuleSyntaxError):
    """A rule over the length limit: the message says so, without repeating the rule."""

    def __init__(self, message: str, expression: str, position: int) -> None:
        self.message = message
        self.expression = expression
        self.position = position
        VinylDetectiveError.__init__(self, message)


def _excerpt(text: str, position: int, width: int = 72) -> tuple[str, int]:
    """`text` on one line, cut to about `width` characters around `position` (with … for
    what is left out), and where `position` is in it: a mistake in a long rule is shown
    where it is, not as the whole rule."""
    flat = text.replace("\n", " ").replace("\r", " ").replace("\t", " ")
    if len(flat) <= width:
        return flat, position
    start = max(0, min(position - width // 2, len(flat) - width))
    end = start + width
    shown = ("…" if start else "") + flat[start:end] + ("…" if end < len(flat) else "")
    return shown, position - start + (1 if start else 0)


class InvalidTransitionError(VinylDetectiveError):
    """A deal lifecycle transition the state machine does not allow."""


class DumpError(VinylDetectiveError):
    """A Discogs data dump that cannot be read (corrupt, truncated, not a releases dump)."""


class ExternalServiceError(VinylDetectiveError):
    """A call to an outside service failed. `service` is e.g. "ebay", "discogs", "telegram"."""

    def __init__(self, service: str, message: str, *, status: int | None = None) -> None:
        self.service = service
        self.status = status
        super().__init__(f"{service}: {message}")


class RetryableError(ExternalServiceError):
    """A failure worth retrying later: 5xx, timeout, connection refused."""


class RateLimitedError(RetryableError):
    """The peer asked us to slow down (HTTP 429)."""

    def __init__(
        self, service: str, message: str, *, retry_after: float | None = None, status: int = 429
    ) -> None:
        self.retry_after = retry_after
        super().__init__(service, message, status=status)


class BudgetExhaustedError(ExternalServiceError):
    """Our own daily call budget for a service is spent until `resets_at`."""

    def __init__(self, service: str, resets_at: datetime) -> None:
        self.resets_at = resets_at
        super().__init__(
            service, f"daily call budget used up; resumes at {resets_at:%Y-%m-%d %H:%M} UTC"
        )


class PermanentError(ExternalServiceError):
    """A failure that retrying will not fix: bad request, bad payload."""


class AuthError(PermanentError):
    """The service rejected our credentials."""


class NotFoundError(PermanentError):
    """The requested object does not exist (any more)."""


class RecipientBlockedError(PermanentError):
    """The recipient refuses our messages for good (Telegram 403: bot blocked by the user)."""
