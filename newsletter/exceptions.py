"""One exception root, as in lemon24/reader: callers catch ``NewsletterError``.

Subclasses carry what failed (the file and field, the feed URL) so the CLI can
print one clear line without a traceback. Third-party errors are converted at the
boundary with ``raise ... from e``.
"""

from __future__ import annotations


class NewsletterError(Exception):
    """Root of every error this package raises on purpose."""

    exit_code = 1


class ConfigError(NewsletterError):
    """The config file (or a command-line argument) is wrong; the message says where and how."""

    exit_code = 2

    def __init__(self, message: str, *, path: str | None = None, field: str | None = None,
                 line: int | None = None) -> None:
        self.path = path
        self.field = field
        self.line = line
        self.detail = message
        where = path or ""
        if line is not None:
            where += f":{line}"
        if field:
            where += f": {field}" if where else field
        super().__init__(f"{where}: {message}" if where else message)


class UsageError(NewsletterError):
    """Bad command-line input (not the config): exit 2."""

    exit_code = 2


class FeedFetchError(NewsletterError):
    """A feed could not be fetched or parsed; carries the URL."""

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        self.detail = message
        super().__init__(f"{url}: {message}")


class StoreError(NewsletterError):
    """The state database is unusable (corrupt, newer schema, locked too long)."""


class LockedError(NewsletterError):
    """Another run holds the lock on this config's state."""


class TemplateError(NewsletterError):
    """A template is missing or broken; the message names where we looked."""


class DeliveryError(NewsletterError):
    """Sending failed; the digest is kept and a later send retries."""
