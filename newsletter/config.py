"""Load and validate ``feeds.yaml`` (see CONTRACT.md).

Every problem becomes one ``ConfigError`` naming the file, the field, the line
(where YAML gives one) and what is wrong, so ``newsletter`` exits 2 without a
traceback. Relative paths resolve against the config file's own folder.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .exceptions import ConfigError

DEFAULT_CONFIG = "feeds.yaml"

# A pragmatic address check: one @, no spaces, a dot in the domain. Full RFC 5322
# parsing accepts things no SMTP server would.
_ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\".]+$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class NewsletterSettings(_Model):
    title: str = "Privacy Alerts"
    timezone: str = "UTC"
    schedule: str = "0 7 * * mon"
    period_days: int = Field(7, ge=1, le=366)
    max_age_days: int = Field(14, ge=0, le=3650)
    output_dir: str = "digests"
    state: str = ".newsletter/state.sqlite3"
    intro: str | None = None  # Markdown file shown at the top of every issue (editor's note)
    max_stories: int = Field(30, ge=1, le=1000)  # stories beyond this are listed as "N more"
    max_items_per_feed: int = Field(200, ge=1, le=10000)  # newest entries taken per feed (issue 8)
    language: str | None = None  # preferred language for the lead report of a merged story
    templates: str | None = None  # folder whose templates override the built-in ones

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown time zone {v!r} (use an IANA name such as Europe/Berlin)") from e
        return v

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        if len(v.split()) != 5:
            raise ValueError(f"{v!r} is not a crontab expression of 5 fields "
                             "(minute hour day month weekday), e.g. '0 7 * * mon'")
        try:
            CronTrigger.from_crontab(v, timezone="UTC")
        except ValueError as e:
            raise ValueError(f"bad crontab expression {v!r}: {e}") from e
        return v

    @field_validator("language")
    @classmethod
    def _lang(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[a-z]{2}", v):
            raise ValueError(f"{v!r} is not a two-letter language code such as 'de' or 'en'")
        return v


class FeedSettings(_Model):
    name: str = Field(min_length=1)
    url: str
    language: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^https?://[^\s/]+", v):
            raise ValueError(f"{v!r} is not an http(s) URL")
        return v

    _lang = field_validator("language")(NewsletterSettings._lang.__func__)  # type: ignore[attr-defined]


class SmtpSettings(_Model):
    host: str = Field(min_length=1)
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username_env: str | None = None
    password_env: str | None = None
    timeout: float = Field(30.0, gt=0, le=600)
    ca_file: str | None = None  # trust this CA bundle (self-hosted servers); verification stays on


def _check_address(v: str) -> str:
    if not _ADDRESS.match(v):
        raise ValueError(f"{v!r} is not an email address")
    return v


class EmailSettings(_Model):
    from_: str = Field(alias="from")
    to: list[str] = Field(min_length=1)
    smtp: SmtpSettings

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("from_")
    @classmethod
    def _from(cls, v: str) -> str:
        return _check_address(v)

    @field_validator("to")
    @classmethod
    def _to(cls, v: list[str]) -> list[str]:
        for i, a in enumerate(v):
            try:
                _check_address(a)
            except ValueError as e:
                raise ValueError(f"item {i}: {e}") from e
        return v


class RankingSettings(_Model):
    watchlist: float = 3.0
    outlets: float = 1.0
    topics: float = 1.0
    recency: float = 1.0
    top_stories: int = Field(3, ge=0, le=20)


class ConfigModel(_Model):
    newsletter: NewsletterSettings = NewsletterSettings()
    seeds: str | None = "seeds"
    watchlist: list[Any] = []
    feeds: list[FeedSettings] = []
    email: EmailSettings | None = None
    topics: dict[str, Any] | None = None
    ranking: RankingSettings = RankingSettings()


@dataclass(frozen=True)
class Config:
    """The validated config with every path resolved against the config's folder."""

    path: Path  # the config file
    model: ConfigModel

    @property
    def base(self) -> Path:
        return self.path.parent

    def resolve(self, p: str) -> Path:
        q = Path(p).expanduser()
        return q if q.is_absolute() else (self.base / q)

    @property
    def settings(self) -> NewsletterSettings:
        return self.model.newsletter

    @property
    def output_dir(self) -> Path:
        return self.resolve(self.model.newsletter.output_dir)

    @property
    def state_path(self) -> Path:
        return self.resolve(self.model.newsletter.state)

    @property
    def seeds_dir(self) -> Path | None:
        return self.resolve(self.model.seeds) if self.model.seeds else None

    @property
    def intro_path(self) -> Path | None:
        return self.resolve(self.model.newsletter.intro) if self.model.newsletter.intro else None

    @property
    def templates_dir(self) -> Path | None:
        t = self.model.newsletter.templates
        return self.resolve(t) if t else None

    @property
    def feeds(self) -> list[FeedSettings]:
        return self.model.feeds

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.model.newsletter.timezone)


# --- errors with file, field and line -------------------------------------------------


def _field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = "from" if part == "from_" else str(part)
            out += f".{name}" if out else name
    return out


def _node_line(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the YAML node at ``loc`` (or of its nearest existing parent)."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if part == "from_":
            part = "from"
        nxt = None
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                    nxt = v
                    line = k.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            nxt = node.value[part]
            line = nxt.start_mark.line + 1
        if nxt is None:
            break
        node = nxt
    return line


def _model_fields(loc: tuple[Any, ...]) -> list[str]:
    """The allowed keys at the mapping that holds ``loc``'s last part (for 'did you mean')."""
    model: Any = ConfigModel
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        ann = field.annotation
        inner = [a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type)]
        model = next((a for a in inner if issubclass(a, BaseModel)), None)
        if model is None:
            # list[FeedSettings]: look inside
            args = getattr(ann, "__args__", ())
            model = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if model is None:
            return []
    return [f.alias or n for n, f in model.model_fields.items()]


def _describe(err: dict[str, Any]) -> str:
    kind = err["type"]
    loc = err["loc"]
    if kind == "extra_forbidden":
        name = str(loc[-1])
        close = difflib.get_close_matches(name, _model_fields(loc), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown key {name!r}{hint}"
    if kind == "missing":
        return "required field is missing"
    msg = str(err["msg"])
    msg = msg.removeprefix("Value error, ")
    if "input" in err and kind.endswith("_type") or kind.endswith("_parsing"):
        msg += f" (got {err['input']!r})"
    return msg


# libyaml's safe loader when built in: the same nodes and data, several times faster (the
# config is read before the fetch starts, so every build waits for it)
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    """The document's node tree (for error lines) and its data, from one parse."""
    loader = _LOADER(text)
    try:
        root = loader.get_single_node()
        return root, (loader.construct_document(root) if root is not None else None)
    except yaml.YAMLError:
        if _LOADER is yaml.SafeLoader:
            raise
    finally:
        loader.dispose()
    # libyaml words some errors differently and may place them a line off: a broken
    # file gets the pure-Python parser's message and line, as before
    return yaml.compose(text, Loader=yaml.SafeLoader), yaml.load(text, Loader=yaml.SafeLoader)


def load_config(path: str | Path = DEFAULT_CONFIG) -> Config:
    """Read and validate the config; raise ``ConfigError`` for the first problem found."""
    p = Path(path)
    name = str(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("config file not found (pass --config PATH or create feeds.yaml)",
                          path=name) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read the config file: {e}", path=name) from None
    try:
        root, data = _parse_yaml(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(f"invalid YAML: {problem}", path=name,
                          line=mark.line + 1 if mark is not None else None) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("the config must be a mapping of keys (newsletter, seeds, feeds, ...)",
                          path=name, line=1)
    try:
        model = ConfigModel.model_validate(data)
    except ValidationError as e:
        err: dict[str, Any] = dict(e.errors()[0])
        loc = tuple(err["loc"])
        raise ConfigError(_describe(err), path=name, field=_field_path(loc) or None,
                          line=_node_line(root, loc)) from None
    _validate_extensions(model, name, root)
    return Config(path=p.resolve(), model=model)


def _validator(section: str) -> Callable[[Any], None]:
    """The stage's own check of a section, imported only when the config has that section:
    a warm build never loads the tagger otherwise (its process only fetches)."""
    if section == "topics":
        from .tag import validate_user_topics

        return validate_user_topics
    from .watchlist import validate_watchlist

    return validate_watchlist


def _validate_extensions(model: ConfigModel, name: str, root: yaml.Node | None) -> None:
    """Sections validated by their own stage (watchlist, topics), with file and line added."""
    names = [f.name for f in model.feeds]
    for i, n in enumerate(names):
        if n in names[:i]:
            raise ConfigError(f"duplicate feed name {n!r}", path=name, field=f"feeds[{i}].name",
                              line=_node_line(root, ("feeds", i, "name")))
    for section in ("watchlist", "topics"):
        value = getattr(model, section)
        if value is None:
            continue
        try:
            _validator(section)(value)
        except ConfigError as e:
            loc = tuple(int(x) if x.isdigit() else x
                        for x in re.findall(r"[^.\[\]]+", e.field or section))
            raise ConfigError(e.detail, path=name, field=e.field or section,
                              line=_node_line(root, loc)) from None
