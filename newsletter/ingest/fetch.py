"""Fetch feed documents over HTTP with a real client: timeouts, a size cap, redirects.

Network I/O lives here and nowhere else; the pipeline receives ``FeedResult``
values. ``Fetcher`` is the seam tests and later strategies (concurrency,
conditional requests) plug into.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence

from .. import __version__
from ..exceptions import FeedFetchError
from ..types import Article
from .feeds import FeedSource, parse_feed

USER_AGENT = f"newsletter/{__version__} (+https://github.com/newsletter-privacy/newsletter)"
MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class FeedResult:
    """The outcome of fetching one feed in one run."""

    source: FeedSource
    articles: tuple[Article, ...] = ()
    error: str | None = None  # one line for a human, None on success
    status: int | None = None  # HTTP status of the final response
    not_modified: bool = False  # a 304: nothing new, nothing parsed
    etag: str | None = None
    last_modified: str | None = None
    final_url: str | None = None  # after redirects
    extra: dict[str, str] = field(default_factory=dict)


class Fetcher(Protocol):
    def fetch_all(self, sources: Sequence[FeedSource]) -> list[FeedResult]: ...


class SimpleFetcher:
    """One feed after another with connect/read timeouts and a size cap."""

    def __init__(self, *, connect_timeout: float = 10.0, read_timeout: float = 20.0,
                 max_bytes: int = MAX_BYTES) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_bytes = max_bytes

    def fetch_all(self, sources: Sequence[FeedSource]) -> list[FeedResult]:
        import httpx

        timeout = httpx.Timeout(self.read_timeout, connect=self.connect_timeout)
        results = []
        with httpx.Client(timeout=timeout, follow_redirects=True, max_redirects=5,
                          headers={"User-Agent": USER_AGENT}) as client:
            for src in sources:
                results.append(self._one(client, src))
        return results

    def _one(self, client: "httpx.Client", src: FeedSource) -> FeedResult:  # noqa: F821
        import httpx

        try:
            with client.stream("GET", src.url) as resp:
                if resp.status_code >= 400:
                    return FeedResult(src, error=f"HTTP {resp.status_code}", status=resp.status_code)
                chunks: list[bytes] = []
                size = 0
                for chunk in resp.iter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        return FeedResult(src, status=resp.status_code,
                                          error=f"response larger than {self.max_bytes} bytes")
                    chunks.append(chunk)
                body = b"".join(chunks)
                headers = {k.lower(): v for k, v in resp.headers.items()}
                final = str(resp.url)
            articles = parse_feed(body, src, base_url=final, headers=headers)
            return FeedResult(src, articles=tuple(articles), status=resp.status_code,
                              final_url=final)
        except FeedFetchError as e:
            return FeedResult(src, error=e.detail)
        except httpx.TimeoutException:
            return FeedResult(src, error="timed out")
        except httpx.TooManyRedirects:
            return FeedResult(src, error="too many redirects")
        except httpx.HTTPError as e:
            return FeedResult(src, error=f"{type(e).__name__}: {e}".strip(": "))
