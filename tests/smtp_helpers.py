"""Helpers for the delivery tests: a test CA and server certificate, a real aiosmtpd
server on 127.0.0.1 that records what it receives, and built issue files made with
the real renderer (so the tests do not depend on the tagger or the network)."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import ipaddress
import socket
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Callable, Iterator
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session, SMTP

BERLIN = ZoneInfo("Europe/Berlin")


# --- certificates ----------------------------------------------------------------------


@dataclass(frozen=True)
class CertFiles:
    ca_file: Path  # PEM of the test CA, for the config's smtp.ca_file
    cert_file: Path  # server certificate for 127.0.0.1 / localhost, signed by the CA
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(self.cert_file), str(self.key_file))
        return ctx


def make_certs(folder: Path) -> CertFiles:
    """A throw-away CA and a server certificate for 127.0.0.1, made with cryptography."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "newsletter test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    certs = CertFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    certs.ca_file.write_bytes(ca.public_bytes(pem))
    certs.cert_file.write_bytes(cert.public_bytes(pem))
    certs.key_file.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))
    return certs


# --- SMTP server -------------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


@dataclass
class Recorder:
    """aiosmtpd handler: keeps what it got; hooks decide replies per recipient."""

    messages: list[Received] = field(default_factory=list)
    rcpt_reply: Callable[[str], str | None] = lambda addr: None  # None: accept
    data_reply: Callable[[Envelope], str | None] = lambda env: None
    on_rcpt: Callable[[str], Any] | None = None  # may return an awaitable (to block)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if self.on_rcpt is not None:
            r = self.on_rcpt(address)
            if asyncio.iscoroutine(r):
                await r
        reply = self.rcpt_reply(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = self.data_reply(envelope)
        if reply:
            return reply
        self.messages.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos),
                                      bytes(envelope.original_content or envelope.content or b"")))
        return "250 Message accepted for delivery"

    def to(self, recipient: str) -> list[Received]:
        return [m for m in self.messages if recipient in m.rcpt_tos]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def password_auth(user: str, password: str) -> Callable[..., AuthResult]:
    def check(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
              auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == user.encode()
              and auth_data.password == password.encode())
        return AuthResult(success=ok, handled=False)
    return check


class _SslController(Controller):
    """Controller whose readiness probe speaks TLS (implicit-TLS servers, port 465 style)."""

    def _trigger_server(self) -> None:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with socket.create_connection((self.hostname, self.port), 1.0) as raw, \
                ctx.wrap_socket(raw) as s:
            s.recv(1024)


def start_server(handler: Recorder, *, certs: CertFiles | None = None, mode: str = "none",
                 auth: Callable[..., AuthResult] | None = None,
                 auth_require_tls: bool = True) -> Controller:
    """A running aiosmtpd on 127.0.0.1: mode none | starttls | ssl. Stop it with ``.stop()``."""
    kw: dict[str, Any] = {"hostname": "127.0.0.1", "port": free_port(), "ready_timeout": 10}
    server_kw: dict[str, Any] = {}
    if auth is not None:
        server_kw.update(authenticator=auth, auth_require_tls=auth_require_tls)
    cls: type[Controller] = Controller
    if mode == "starttls":
        assert certs is not None
        server_kw.update(tls_context=certs.server_context(), require_starttls=True)
    elif mode == "ssl":
        assert certs is not None
        kw["ssl_context"] = certs.server_context()
        cls = _SslController
    c = cls(handler, **kw, **server_kw)
    c.start()
    return c


# --- built issues --------------------------------------------------------------------------


def make_digest(n_stories: int = 3, *, alerts: int = 1, issue_end: dt.datetime | None = None,
                text_len: int = 300, title: str = "Privacy Alerts") -> Any:
    """A ``Digest`` with ``n_stories`` stories (the first ``alerts`` on the watchlist),
    scores falling with the position, German umlauts in titles and summaries."""
    from newsletter.digest import main_topic  # noqa: F401  (render imports it)
    from newsletter.select import period_ending
    from newsletter.types import (Article, Digest, DigestCounts, Item, Rank, Section, Story,
                                  TaggedItem, TagResult)

    end = issue_end or dt.datetime(2026, 11, 23, 7, 0, tzinfo=BERLIN)
    period = period_ending(end, 7, BERLIN)
    stories = []
    for i in range(n_stories):
        watch = ("TikTok",) if i < alerts else ()
        a = Article(kind="feed", source=f"Quelle {i}", title=f"Datenschutz-Nachricht Nr. {i}: "
                    f"Behörde prüft Übermittlung", text="Text " * 10,
                    url=f"https://news.example/{i}", language="de",
                    published=end - dt.timedelta(hours=i + 1))
        item = Item(key=f"story-{i}", article=a, first_seen=end - dt.timedelta(hours=i))
        tags = TagResult(topics=("data-access",), evidence={"data-access": ("Übermittlung",)})
        ti = TaggedItem(item=item, tags=tags, watchlist=watch)
        summary = (f"Zusammenfassung {i}: Die Aufsichtsbehörde prüft, ob Daten übermittelt wurden. "
                   + "Weitere Einzelheiten zur Prüfung folgen. " * max(1, text_len // 40))
        stories.append(Story(lead=ti, topics=tags.topics, evidence=tags.evidence, watchlist=watch,
                             summary=summary, rank=Rank(score=100.0 - i)))
    alert_stories = tuple(s for s in stories if s.watchlist)
    rest = tuple(s for s in stories if not s.watchlist)
    sections = (Section(topic="data-access", label="Data access", stories=rest),) if rest else ()
    return Digest(issue=period.issue, title=title, period_start=period.start,
                  period_end=period.end, generated_at=end, alerts=alert_stories, top=(),
                  sections=sections, counts=DigestCounts(candidates=n_stories, tagged=n_stories,
                                                         stories=n_stories),
                  topic_labels={"data-access": "Data access"})


def write_built_issue(config: Any, digest: Any) -> list[str]:
    """Render and write the issue's files and record it in the store, as a build does."""
    from newsletter.render import render_digest, write_issue
    from newsletter.store import IssueRecord, Store

    docs = render_digest(digest, tz=config.tz)
    rendered = write_issue(config.output_dir, digest.issue, docs)
    with Store(config.state_path) as store:
        store.record_issue(IssueRecord(
            issue=digest.issue, title=digest.title, period_start=digest.period_start,
            period_end=digest.period_end, built_at=digest.generated_at, files=rendered.paths,
            stories=len(digest.stories), alerts=len(digest.alerts)), keys=[])
    return list(rendered.paths)


def email_config(folder: Path, port: int, *, to: list[str], security: str = "none",
                 ca_file: Path | None = None, auth: bool = False, extra: str = "") -> Path:
    """A feeds.yaml with an email section pointing at the local server."""
    smtp = ["host: 127.0.0.1", f"port: {port}", f"security: {security}", "timeout: 10"]
    if ca_file is not None:
        smtp.append(f"ca_file: {ca_file}")
    if auth:
        smtp += ["username_env: NL_TEST_SMTP_USER", "password_env: NL_TEST_SMTP_PASSWORD"]
    body = (
        "newsletter:\n  title: Privacy Alerts\n  timezone: Europe/Berlin\n"
        "  schedule: \"0 7 * * mon\"\n  output_dir: digests\n  state: state/state.sqlite3\n"
        "seeds: null\nfeeds: []\n"
        "email:\n  from: alerts@example.org\n"
        f"  to: [{', '.join(to)}]\n"
        "  smtp:\n" + "".join(f"    {line}\n" for line in smtp) + extra)
    p = folder / "feeds.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    p.write_text(body, encoding="utf-8")
    return p


def iter_parts(msg: EmailMessage) -> Iterator[EmailMessage]:
    for part in msg.walk():
        if not part.is_multipart():
            yield part  # type: ignore[misc]


@pytest.fixture
def server() -> Iterator[tuple[Recorder, int]]:
    """A real SMTP server on 127.0.0.1 recording what it receives: (recorder, port)."""
    rec = Recorder()
    c = start_server(rec)
    try:
        yield rec, c.port
    finally:
        c.stop()
