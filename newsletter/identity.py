"""Item identity and link canonicalisation.

The contract's identity rule: GUID, else canonical link, else a hash of source and
title. Canonical links drop tracking parameters so the same article shared with
``utm_*`` or ``fbclid`` is the same item, and the digest never passes them on.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    from .types import Article

# Query parameters that identify a campaign or a click, never the content.
_TRACKING_EXACT = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid", "igshid",
    "yclid", "twclid", "ttclid", "li_fat_id", "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id",
    "oly_enc_id", "vero_id", "wt_mc", "wt_zmc", "ref_src", "s_cid", "cmpid", "ito", "ncid",
    "sr_share", "at_medium", "at_campaign", "at_custom1", "at_custom2", "at_custom3",
    "at_custom4", "xtor", "spm", "_ga", "_gl", "ocid",
})
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "matomo_", "piwik_", "hsa_", "at_", "wt.")


def is_tracking_param(name: str) -> bool:
    low = name.lower()
    return low in _TRACKING_EXACT or low.startswith(_TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """The link with tracking parameters and fragment removed and the host lower-cased."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.scheme.lower() not in ("http", "https"):
        return url
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not is_tracking_param(k)]
    netloc = parts.netloc.lower()
    if netloc.endswith(":80") and parts.scheme.lower() == "http":
        netloc = netloc[:-3]
    elif netloc.endswith(":443") and parts.scheme.lower() == "https":
        netloc = netloc[:-4]
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), netloc, path, urlencode(query), ""))


_SPACE = re.compile(r"\s+")


def title_hash(source: str, title: str) -> str:
    norm = _SPACE.sub(" ", f"{source}\n{title}".casefold()).strip()
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()[:24]


def item_key(article: "Article") -> str:
    if article.kind == "seed":
        return f"seed:{article.guid or title_hash(article.source, article.title)}"
    if article.guid:
        return f"guid:{article.guid.strip()}"
    if article.url:
        return f"url:{canonical_url(article.url)}"
    return f"hash:{title_hash(article.source, article.title)}"
