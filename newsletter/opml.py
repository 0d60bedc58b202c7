"""OPML import and export of the feed list (issue 3).

Import adds the OPML's feeds to ``feeds.yaml`` itself, as a text edit: the new
entries go after the last existing one in the ``feeds:`` list, so the file's
comments, order and layout stay as they were (no YAML round trip, which would
drop comments with PyYAML). The edited text is validated as a whole config
before it atomically replaces the file, so a failed import leaves the file as it
was. Feeds already in the config (same URL) are skipped; a name already taken
gets a " (2)" suffix, as the config requires unique names.

The OPML is parsed with defusedxml: an OPML file comes from elsewhere too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Iterable, Sequence

from .atomic import write_atomic
from .exceptions import ConfigError, UsageError


@dataclass(frozen=True)
class OpmlFeed:
    """One feed outline: the part ``feeds.yaml`` keeps."""

    name: str
    url: str
    language: str | None = None


def parse_opml(data: bytes, *, origin: str = "OPML") -> list[OpmlFeed]:
    """Every outline with an http(s) ``xmlUrl``, depth first, in document order."""
    import defusedxml.ElementTree as ET
    from defusedxml import DefusedXmlException

    try:
        root = ET.fromstring(data)
    except (ET.ParseError, DefusedXmlException) as e:
        raise UsageError(f"{origin}: not a valid OPML file: {e}") from None
    if root.tag.lower() != "opml":
        raise UsageError(f"{origin}: not an OPML file (the root element is <{root.tag}>)")
    out: list[OpmlFeed] = []
    for el in root.iter("outline"):
        attrs = {k.lower(): v for k, v in el.attrib.items()}
        url = (attrs.get("xmlurl") or "").strip()
        if not url.lower().startswith(("http://", "https://")):
            continue
        name = " ".join((attrs.get("title") or attrs.get("text") or url).split())
        lang = (attrs.get("language") or "").strip().lower()[:2] or None
        out.append(OpmlFeed(name=name, url=url,
                            language=lang if lang and lang.isalpha() else None))
    return out


def to_opml(feeds: Iterable[OpmlFeed], title: str, now: datetime | None = None) -> str:
    """An OPML 2.0 document listing ``feeds`` (type rss, as readers expect)."""
    import xml.etree.ElementTree as ET

    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(now or datetime.now(timezone.utc))
    body = ET.SubElement(root, "body")
    for f in feeds:
        attrs = {"type": "rss", "text": f.name, "title": f.name, "xmlUrl": f.url}
        if f.language:
            attrs["language"] = f.language
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# --- adding feeds to feeds.yaml as a text edit ---------------------------------------------


def _q(s: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(s, ensure_ascii=False)


def _entry(f: OpmlFeed, dash_col: int) -> str:
    pad = " " * dash_col
    lines = [f"{pad}- name: {_q(f.name)}", f"{pad}  url: {_q(f.url)}"]
    if f.language:
        lines.append(f"{pad}  language: {_q(f.language)}")
    return "\n".join(lines) + "\n"


def _last_leaf(node: object) -> object:
    import yaml

    while True:
        if isinstance(node, yaml.MappingNode) and node.value:
            node = node.value[-1][1]
        elif isinstance(node, yaml.SequenceNode) and node.value:
            node = node.value[-1]
        else:
            return node


def _line_end(text: str, index: int) -> int:
    nl = text.find("\n", index)
    return len(text) if nl < 0 else nl + 1


def add_feeds_text(text: str, new: Sequence[OpmlFeed]) -> str:
    """``text`` (a feeds.yaml) with ``new`` appended to its ``feeds:`` list, rest untouched."""
    import yaml

    if not new:
        return text
    root = yaml.compose(text)
    if root is not None and not isinstance(root, yaml.MappingNode):
        raise ConfigError("the config must be a mapping of keys", line=1)
    key_node = value = None
    for k, v in (root.value if root is not None else []):
        if isinstance(k, yaml.ScalarNode) and k.value == "feeds":
            key_node, value = k, v
    if key_node is None or value is None:  # no feeds: key yet: add one at the end
        block = "".join(_entry(f, 2) for f in new)
        sep = "" if not text or text.endswith("\n") else "\n"
        return f"{text}{sep}feeds:\n{block}"
    if isinstance(value, yaml.SequenceNode) and not value.flow_style and value.value:
        dash_col = value.start_mark.column
        at = _line_end(text, _last_leaf(value).end_mark.index)  # type: ignore[attr-defined]
        block = "".join(_entry(f, dash_col) for f in new)
        if at == len(text) and not text.endswith("\n"):
            block = "\n" + block
        return text[:at] + block + text[at:]
    # `feeds:` empty, `feeds: []` or a flow list: rewrite just that value as a block list
    existing: list[OpmlFeed] = []
    data = yaml.safe_load(text) or {}
    for item in data.get("feeds") or []:
        if isinstance(item, dict) and "name" in item and "url" in item:
            existing.append(OpmlFeed(str(item["name"]), str(item["url"]),
                                     str(item["language"]) if item.get("language") else None))
        else:
            raise ConfigError("feeds: cannot add to this list: an entry is not {name, url}",
                              field="feeds", line=value.start_mark.line + 1)
    if not (isinstance(value, yaml.ScalarNode) and value.value == ""):
        text = text[:value.start_mark.index] + text[value.end_mark.index:]
    at = _line_end(text, key_node.end_mark.index)
    block = "".join(_entry(f, key_node.start_mark.column + 2) for f in [*existing, *new])
    if at == len(text) and not text.endswith("\n"):
        block = "\n" + block
    return text[:at] + block + text[at:]


def plan_import(current: Sequence[tuple[str, str]], incoming: Sequence[OpmlFeed]
                ) -> tuple[list[OpmlFeed], list[OpmlFeed]]:
    """(to add, skipped as already present). ``current`` is (name, url) of configured feeds."""
    urls = {u.strip() for _, u in current}
    names = {n for n, _ in current}
    add: list[OpmlFeed] = []
    skipped: list[OpmlFeed] = []
    for f in incoming:
        if f.url in urls:
            skipped.append(f)
            continue
        name, n = f.name, 2
        while name in names:
            name, n = f"{f.name} ({n})", n + 1
        names.add(name)
        urls.add(f.url)
        add.append(OpmlFeed(name=name, url=f.url, language=f.language))
    return add, skipped


def import_opml(config_path: Path, opml_data: bytes, *, origin: str = "OPML",
                dry_run: bool = False) -> tuple[list[OpmlFeed], list[OpmlFeed]]:
    """Add the OPML's new feeds to the config file in place; returns (added, skipped)."""
    from .config import load_config

    config = load_config(config_path)
    incoming = parse_opml(opml_data, origin=origin)
    add, skipped = plan_import([(f.name, f.url) for f in config.feeds], incoming)
    if not add or dry_run:
        return add, skipped
    path = Path(config_path)
    new_text = add_feeds_text(path.read_text(encoding="utf-8"), add)
    def check(tmp: Path) -> None:
        # the whole edited config, validated next to the original (relative paths
        # resolve the same) before it is swapped in
        try:
            load_config(tmp)
        except ConfigError as e:
            raise ConfigError(f"the import would make the config invalid ({e.detail}); "
                              "nothing was changed", path=str(path), field=e.field) from None

    write_atomic(path, new_text, check=check, keep_mode=True)
    return add, skipped


def export_opml(config_path: Path, now: datetime | None = None) -> str:
    from .config import load_config

    config = load_config(config_path)
    return to_opml((OpmlFeed(f.name, f.url, f.language) for f in config.feeds),
                   title=config.settings.title, now=now)
