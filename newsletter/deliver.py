"""Deliver a built issue by email, exactly once per recipient, and the ``run`` command.

Exactly once: one message per recipient, and the store's ``deliveries`` row for
(issue, recipient) is committed right after the server accepted that message and
before the next recipient is tried. A crash between two recipients therefore
leaves a record of who has it, and the next ``send`` (or ``run``) sends only the
rest. The one window left is a crash between the server's "250" and the commit (a
few microseconds); the Message-ID is stable per issue and recipient, so a client
that de-duplicates by Message-ID (Gmail) still shows one copy.

Failures: a 4xx reply or a dropped connection is retried with backoff a bounded
number of times; a 5xx refusal of one recipient is reported and the others still
get theirs; a failed delivery leaves the digest on disk and unrecorded, so a
later ``send`` delivers it. Credentials come only from the environment variables
the config names and never reach a log line, the message or the store.
"""

from __future__ import annotations

import email.policy
import logging
import os
import re
import smtplib
import ssl
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Mapping, Protocol, Sequence

from .exceptions import ConfigError, DeliveryError, UsageError

if TYPE_CHECKING:
    from .config import Config, EmailSettings, SmtpSettings
    from .email_message import IssueContent
    from .pipeline import BuildReport
    from .store import Store

log = logging.getLogger(__name__)

# Waits before the 2nd, 3rd and 4th attempt after a temporary failure (4xx, dropped
# connection): about a minute in all, short enough for a cron job, long enough for a
# greylisting server or a restarting relay.
RETRY_DELAYS: tuple[float, ...] = (5.0, 15.0, 40.0)
SMTP_POLICY = email.policy.SMTP
RUN_LOCK_WAIT = 600.0  # `run` waits this long for another run to finish, then gives up


class TemporaryFailure(Exception):
    """Worth retrying: a 4xx reply, a timeout, a dropped connection."""

    def __init__(self, reason: str, *, connection: bool = False) -> None:
        super().__init__(reason)
        self.connection = connection  # the server is unreachable, not just this recipient


class PermanentFailure(Exception):
    """A 5xx refusal of this message or recipient: retrying will not help."""


class Transport(Protocol):
    """What ``send_issue`` needs from a mail server; tests use the real SMTP one."""

    def send(self, sender: str, recipient: str, data: bytes) -> None: ...

    def close(self) -> None: ...


# --- SMTP ----------------------------------------------------------------------------------


def _reply(code: int, text: bytes | str) -> str:
    t = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(t.split())}".strip()


def _classify(code: int, text: bytes | str) -> Exception:
    reply = _reply(code, text)
    return TemporaryFailure(reply) if 400 <= code < 500 else PermanentFailure(reply)


def _credentials(smtp: SmtpSettings, env: Mapping[str, str], sender: str) -> tuple[str, str] | None:
    """(user, password) from the named environment variables, or None when no AUTH is set up."""
    if not smtp.password_env and not smtp.username_env:
        return None
    if not smtp.password_env:
        raise ConfigError("username_env is set but password_env is not; name the variable that "
                          "holds the SMTP password", field="email.smtp.password_env")
    missing = [v for v in (smtp.username_env, smtp.password_env) if v and v not in env]
    if missing:
        raise DeliveryError(f"environment variable {missing[0]} is not set (the config's "
                            "email.smtp names it for the SMTP credentials); export it before "
                            "`newsletter send`")
    user = env[smtp.username_env] if smtp.username_env else sender
    return user, env[smtp.password_env]


class SmtpTransport:
    """One SMTP connection, opened on first use and reopened after a drop.

    Certificates are always verified (the system CA store, or ``ca_file`` for a
    self-hosted server); ``security: none`` refuses AUTH except to a server on this
    machine, so a password never crosses a network in clear text.
    """

    def __init__(self, smtp: SmtpSettings, *, sender: str, ca_file: Path | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.smtp = smtp
        self.sender = sender
        self.ca_file = ca_file
        self.creds = _credentials(smtp, os.environ if env is None else env, sender)
        if (self.creds and smtp.security == "none"
                and smtp.host not in ("localhost", "127.0.0.1", "::1")):
            raise ConfigError("refusing to send the SMTP password unencrypted to "
                              f"{smtp.host}; use security: starttls or ssl",
                              field="email.smtp.security")
        self.conn: smtplib.SMTP | None = None

    def _context(self) -> ssl.SSLContext:
        try:
            return ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        except (OSError, ssl.SSLError) as e:
            raise DeliveryError(f"cannot load the CA file {self.ca_file}: {e}") from e

    def _where(self) -> str:
        return f"{self.smtp.host}:{self.smtp.port} ({self.smtp.security})"

    def open(self) -> smtplib.SMTP:
        if self.conn is not None:
            return self.conn
        s = self.smtp
        conn: smtplib.SMTP | None = None
        try:
            if s.security == "ssl":
                conn = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self._context())
            else:
                conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            conn.ehlo()
            if s.security == "starttls":
                if not conn.has_extn("starttls"):
                    raise DeliveryError(f"{self._where()}: the server does not offer STARTTLS; "
                                        "check email.smtp.port and security")
                conn.starttls(context=self._context())
                conn.ehlo()
            if self.creds:
                conn.login(*self.creds)
        except DeliveryError:
            _quit(conn)
            raise
        except ssl.SSLCertVerificationError as e:
            _quit(conn)
            raise DeliveryError(f"{self._where()}: certificate not trusted: {e.verify_message}; "
                                "for a self-hosted server set email.smtp.ca_file") from e
        except smtplib.SMTPAuthenticationError as e:
            _quit(conn)
            raise DeliveryError(f"{self._where()}: login refused ({_reply(e.smtp_code, e.smtp_error)}); "
                                f"check the variables {s.username_env} and {s.password_env}") from e
        except smtplib.SMTPNotSupportedError as e:
            _quit(conn)
            raise DeliveryError(f"{self._where()}: {e}; check email.smtp.security") from e
        except smtplib.SMTPResponseException as e:
            _quit(conn)
            if 400 <= e.smtp_code < 500:
                raise TemporaryFailure(_reply(e.smtp_code, e.smtp_error), connection=True) from e
            raise DeliveryError(f"{self._where()}: {_reply(e.smtp_code, e.smtp_error)}") from e
        except ssl.SSLError as e:
            _quit(conn)
            raise DeliveryError(f"{self._where()}: TLS failed: {e}") from e
        except (OSError, smtplib.SMTPException) as e:
            _quit(conn)
            raise TemporaryFailure(f"{self._where()}: {e or type(e).__name__}",
                                   connection=True) from e
        self.conn = conn
        return conn

    def send(self, sender: str, recipient: str, data: bytes) -> None:
        conn = self.open()
        try:
            conn.sendmail(sender, [recipient], data)
        except smtplib.SMTPRecipientsRefused as e:
            code, text = e.recipients.get(recipient, next(iter(e.recipients.values())))
            self._reset()
            raise _classify(code, text) from e
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as e:
            self._reset()
            raise _classify(e.smtp_code, e.smtp_error) from e
        except (smtplib.SMTPServerDisconnected, OSError) as e:
            self.close()
            raise TemporaryFailure(f"{self._where()}: connection lost: {e or type(e).__name__}",
                                   connection=True) from e

    def _reset(self) -> None:
        try:
            if self.conn is not None:
                self.conn.rset()
        except (smtplib.SMTPException, OSError):
            self.close()

    def close(self) -> None:
        conn, self.conn = self.conn, None
        _quit(conn)


def _quit(conn: smtplib.SMTP | None) -> None:
    if conn is None:
        return
    try:
        conn.quit()
    except (smtplib.SMTPException, OSError):
        conn.close()


# --- finding the issue ---------------------------------------------------------------------


def find_issue(config: Config, store: Store, issue: str | None) -> IssueContent | None:
    """The built files of ``issue`` (default: the newest built issue), or None if none exists.

    The store's ``issues`` table knows where each issue was written (``build --out``
    may have put it elsewhere); an issue only on disk in ``output_dir`` is found too.
    """
    from .email_message import load_issue

    records = store.issues()
    rec = next((r for r in records if r.issue == issue), None) if issue else (
        records[0] if records else None)
    if rec is not None:
        by_ext = {Path(f).suffix: Path(f) for f in rec.files}
        if all(e in by_ext for e in (".html", ".txt", ".json")):
            return load_issue(rec.issue, by_ext[".html"], by_ext[".txt"], by_ext[".json"])
    out = config.output_dir
    if issue is None:
        built = sorted(p.stem for p in out.glob("*.json")
                       if re.fullmatch(r"\d{4}-W\d{2}", p.stem)) if out.is_dir() else []
        if not built:
            return None
        issue = built[-1]
    base = out / issue
    if not base.with_suffix(".json").exists():
        raise UsageError(f"issue {issue} is not built (no {base.with_suffix('.json')}); "
                         "run `newsletter build` first or pick one with --issue")
    return load_issue(issue, base.with_suffix(".html"), base.with_suffix(".txt"),
                      base.with_suffix(".json"))


# --- sending -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    recipient: str
    reason: str  # the server's reply, or what went wrong
    permanent: bool  # 5xx: retrying later will not help unless something changes


@dataclass(frozen=True)
class SendReport:
    """What one ``send`` did, per recipient."""

    issue: str | None  # None: nothing built yet
    sent: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()  # already had this issue
    failed: tuple[Failure, ...] = ()
    eml: Path | None = None  # the --dry-run file
    moved: tuple[str, ...] = ()  # stories reduced to links to fit the HTML size limit

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        if self.issue is None:
            return "nothing to send: no issue has been built yet"
        if self.eml is not None:
            return f"{self.issue}: dry run, message written to {self.eml}"
        parts = [f"sent to {len(self.sent)}"]
        if self.skipped:
            parts.append(f"{len(self.skipped)} already had it")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        return f"{self.issue}: " + ", ".join(parts)


def _recipients(addresses: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for a in addresses:
        if a.lower() not in seen:
            seen.add(a.lower())
            out.append(a)
    return out


def _email_settings(config: Config) -> EmailSettings:
    em = config.model.email
    if em is None:
        raise ConfigError("no email section: add email.from, email.to and email.smtp to send",
                          path=str(config.path), field="email")
    return em


def send_issue(config: Config, *, issue: str | None = None, dry_run: bool = False,
               force: bool = False, transport: Transport | None = None,
               sleep: Callable[[float], None] = time.sleep,
               clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
               take_lock: bool = True, lock_wait: float = RUN_LOCK_WAIT,
               on_failure: Callable[[Failure], None] | None = None) -> SendReport:
    """Email ``issue`` (default: the newest built) to every recipient who does not have it.

    ``take_lock=False`` when the caller (``run``) already holds the run lock.
    """
    from .atomic import write_atomic
    from .email_message import compose, email_html, message_id
    from .lock import run_lock
    from .store import Store

    em = _email_settings(config)
    recipients = _recipients(em.to)
    locked = run_lock(config.state_path, wait=lock_wait) if take_lock else nullcontext()
    with locked, Store(config.state_path) as store:
        content = find_issue(config, store, issue)
        if content is None:
            return SendReport(issue=None)
        mail = email_html(content)
        if mail.moved:
            log.warning("%s: HTML over the size limit; %d lowest-ranked stories listed as links",
                        content.issue, len(mail.moved))
        if dry_run:
            msg = compose(content, mail.html, sender=em.from_, recipients=recipients, now=clock(),
                          msg_id=message_id(content.issue, ",".join(recipients), em.from_))
            eml = content.html_path.with_suffix(".eml")
            write_atomic(eml, bytes(msg))
            return SendReport(issue=content.issue, eml=eml, moved=mail.moved)

        have = store.delivered_to(content.issue)
        pending = [r for r in recipients if force or r.lower() not in have]
        skipped = tuple(r for r in recipients if r not in pending)
        if not pending:
            return SendReport(issue=content.issue, skipped=skipped, moved=mail.moved)

        own = transport is None
        if transport is None:
            ca = config.resolve(em.smtp.ca_file) if em.smtp.ca_file else None
            transport = SmtpTransport(em.smtp, sender=em.from_, ca_file=ca)
        sent: list[str] = []
        failed: list[Failure] = []
        unreachable: str | None = None
        try:
            for rcpt in pending:
                if unreachable is not None:
                    failure = Failure(rcpt, f"not tried: {unreachable}", permanent=False)
                else:
                    mid = message_id(content.issue, rcpt, em.from_, unique=force)
                    msg = compose(content, mail.html, sender=em.from_, recipients=[rcpt],
                                  now=clock(), msg_id=mid)
                    data = msg.as_bytes(policy=SMTP_POLICY)  # CRLF line ends on the wire
                    result = _send_with_retries(transport, em.from_, rcpt, data, sleep)
                    if result is None:
                        store.record_delivery(content.issue, rcpt, clock(), mid)
                        sent.append(rcpt)
                        log.info("%s: sent to %s", content.issue, rcpt)
                        continue
                    failure = result[0]
                    if result[1]:
                        unreachable = failure.reason
                failed.append(failure)
                store.record_delivery_failure(content.issue, rcpt, clock(), failure.reason)
                if on_failure:
                    on_failure(failure)
        finally:
            if own:
                transport.close()
    return SendReport(issue=content.issue, sent=tuple(sent), skipped=skipped,
                      failed=tuple(failed), moved=mail.moved)


def _send_with_retries(transport: Transport, sender: str, rcpt: str, data: bytes,
                       sleep: Callable[[float], None]) -> tuple[Failure, bool] | None:
    """None when delivered; else the failure and whether the server itself is unreachable."""
    for attempt in range(len(RETRY_DELAYS) + 1):
        try:
            transport.send(sender, rcpt, data)
            return None
        except PermanentFailure as e:
            return Failure(rcpt, str(e), permanent=True), False
        except TemporaryFailure as e:
            if attempt == len(RETRY_DELAYS):
                return Failure(rcpt, f"{e} (gave up after {attempt + 1} attempts)",
                               permanent=False), e.connection
            log.warning("temporary failure sending to %s: %s; retrying in %.0fs",
                        rcpt, e, RETRY_DELAYS[attempt])
            sleep(RETRY_DELAYS[attempt])
    raise AssertionError("unreachable")


# --- run = build + send --------------------------------------------------------------------


@contextmanager
def record_run(state_path: Path, command: str,
               clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
               ) -> Iterator[list[bool]]:
    """A ``runs`` row for the block: started now, finished with ``ok`` (the block sets
    ``flag[0] = True`` on success). A killed run leaves ``finished_at`` NULL, which the
    scheduler reads as "not done"."""
    from .store import Store

    with Store(state_path) as store:
        run_id = store.start_run(command, clock())
    flag = [False]
    try:
        yield flag
    finally:
        with Store(state_path) as store:
            store.finish_run(run_id, clock(), flag[0])


@dataclass(frozen=True)
class RunReport:
    build: BuildReport
    send: SendReport
    earlier: tuple[SendReport, ...] = ()  # issues owed from failed earlier sends

    @property
    def ok(self) -> bool:
        return self.send.ok and all(e.ok for e in self.earlier)


def run_once(config: Config, *, now: datetime, lock_wait: float = RUN_LOCK_WAIT,
             on_feed_error: Callable[..., None] | None = None,
             on_failure: Callable[[Failure], None] | None = None,
             transport: Transport | None = None,
             sleep: Callable[[float], None] = time.sleep) -> RunReport:
    """Build the issue ending at ``now``, then send it; one lock held across both, so two
    runs never overlap and nothing else touches the state between build and send."""
    from .lock import run_lock
    from .pipeline import build
    from .store import Store

    _email_settings(config)  # a missing email section fails before the build, not after
    with run_lock(config.state_path, wait=lock_wait), \
            record_run(config.state_path, "run") as ok:
        report = build(config, now=now, on_feed_error=on_feed_error, lock=False)
        # Issues whose earlier delivery failed go out first, then this one.
        with Store(config.state_path) as store:
            owed = [i for i in store.owed_issues() if i != report.rendered.issue]
        earlier = [send_issue(config, issue=i, take_lock=False, transport=transport,
                              sleep=sleep, on_failure=on_failure) for i in owed]
        sent = send_issue(config, issue=report.rendered.issue, take_lock=False,
                          transport=transport, sleep=sleep, on_failure=on_failure)
        ok[0] = sent.ok and all(e.ok for e in earlier)
    return RunReport(build=report, send=sent, earlier=tuple(earlier))
