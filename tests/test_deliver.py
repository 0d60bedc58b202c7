"""Delivery against a real SMTP server (aiosmtpd) on 127.0.0.1: what arrives, TLS,
AUTH, temporary and permanent failures, exactly once, size limit."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from tests.smtp_helpers import (  # noqa: F401 (server is a fixture)
    Recorder, CertFiles, email_config, iter_parts, make_certs, make_digest,
                          password_auth, server, start_server, write_built_issue)

from newsletter.config import Config, load_config
from newsletter.deliver import RETRY_DELAYS, send_issue
from newsletter.email_message import GMAIL_CLIP_BYTES
from newsletter.exceptions import DeliveryError

TO = ["anna@example.org", "bernd@example.org"]


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertFiles:
    return make_certs(tmp_path_factory.mktemp("certs"))


def setup(tmp_path: Path, port: int, *, n: int = 3, title: str = "Datenschutz-Warnungen für Köln",
          **kw: object) -> Config:
    config = load_config(email_config(tmp_path / "proj", port, to=kw.pop("to", TO), **kw))  # type: ignore[arg-type]
    write_built_issue(config, make_digest(n, title=title))
    return config


def deliveries(config: Config) -> list[tuple[str, str]]:
    with sqlite3.connect(config.state_path) as db:
        return sorted(db.execute("SELECT issue, recipient FROM deliveries").fetchall())


def no_sleep(delays: list[float]):  # type: ignore[no-untyped-def]
    return delays.append


def test_sent_message_parsed_back(tmp_path: Path, server: tuple[Recorder, int]) -> None:
    rec, port = server
    config = setup(tmp_path, port)
    report = send_issue(config)
    assert report.ok and report.sent == tuple(TO)
    assert sorted(m.rcpt_tos[0] for m in rec.messages) == TO
    msg = rec.to("anna@example.org")[0].message
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(iter_parts(msg))
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    assert msg["Subject"] == "Datenschutz-Warnungen für Köln 2026-W48: 1 alert, 3 stories"
    raw_headers = rec.to("anna@example.org")[0].data.split(b"\r\n\r\n", 1)[0]
    assert b"=?utf-8?" in raw_headers  # the umlauts travel RFC 2047-encoded
    assert msg["To"] == "anna@example.org"
    assert msg["Date"] and msg["Message-ID"].startswith("<newsletter.2026-W48.")
    assert msg["List-Id"] == "Datenschutz-Warnungen für Köln <datenschutz-warnungen-f-r-k-ln.example.org>"
    assert msg["From"].addresses[0].addr_spec == "alerts@example.org"
    text, html = (p.get_content() for p in parts)
    assert "Behörde prüft Übermittlung" in text and "Behörde prüft Übermittlung" in html
    assert text.strip().startswith("Datenschutz-Warnungen für Köln")
    # inlined: the body and each story carry their styles; media queries stay in <head>
    assert '<body style="' in html and 'class="story"' in html and 'style="padding' in html
    head = html.split("</head>", 1)[0]
    assert "@media (prefers-color-scheme: dark)" in head and "@media print" not in html
    assert "<img" not in html and "<link" not in html
    assert deliveries(config) == [("2026-W48", a) for a in TO]


def test_second_send_sends_nothing(tmp_path: Path, server: tuple[Recorder, int]) -> None:
    rec, port = server
    config = setup(tmp_path, port)
    send_issue(config)
    again = send_issue(config)
    assert again.sent == () and again.skipped == tuple(TO) and again.ok
    assert len(rec.messages) == 2
    forced = send_issue(config, force=True)
    assert forced.sent == tuple(TO) and len(rec.messages) == 4
    ids = {m.message["Message-ID"] for m in rec.messages}
    assert len(ids) == 4  # --force gives the copies new Message-IDs


def test_remote_images_and_stylesheets_removed(tmp_path: Path, server: tuple[Recorder, int]) -> None:
    rec, port = server
    config = setup(tmp_path, port, to=["anna@example.org"])
    html_file = config.output_dir / "2026-W48.html"
    html = html_file.read_text(encoding="utf-8").replace(
        "<main>", '<main><img src="https://tracker.example/p.gif" width="1" height="1">'
        '<link rel="stylesheet" href="https://cdn.example/x.css"><img src="cid:logo">', 1)
    html_file.write_text(html, encoding="utf-8")
    send_issue(config)
    sent = list(iter_parts(rec.messages[0].message))[1].get_content()
    assert "tracker.example" not in sent and "cdn.example" not in sent
    assert 'src="cid:logo"' in sent


def test_dry_run_writes_eml_and_sends_nothing(tmp_path: Path, server: tuple[Recorder, int]) -> None:
    rec, port = server
    config = setup(tmp_path, port)
    report = send_issue(config, dry_run=True)
    assert report.eml == config.output_dir / "2026-W48.eml"
    assert b"multipart/alternative" in report.eml.read_bytes()
    assert rec.messages == [] and deliveries(config) == []


def test_nothing_built_is_nothing_to_send(tmp_path: Path, server: tuple[Recorder, int]) -> None:
    _, port = server
    config = load_config(email_config(tmp_path / "p", port, to=TO))
    report = send_issue(config)
    assert report.issue is None and report.ok


def test_starttls_and_auth(tmp_path: Path, certs: CertFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    rec = Recorder()
    c = start_server(rec, certs=certs, mode="starttls", auth=password_auth("nl", "s3cret-pw"))
    try:
        config = setup(tmp_path, c.port, security="starttls", ca_file=certs.ca_file, auth=True)
        monkeypatch.setenv("NL_TEST_SMTP_USER", "nl")
        monkeypatch.setenv("NL_TEST_SMTP_PASSWORD", "s3cret-pw")
        assert send_issue(config).sent == tuple(TO)
        assert len(rec.messages) == 2
        assert all(b"s3cret-pw" not in m.data for m in rec.messages)
        assert b"s3cret-pw" not in config.state_path.read_bytes()
    finally:
        c.stop()


def test_auth_failure_sends_nothing(tmp_path: Path, certs: CertFiles,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    rec = Recorder()
    c = start_server(rec, certs=certs, mode="starttls", auth=password_auth("nl", "right"))
    try:
        config = setup(tmp_path, c.port, security="starttls", ca_file=certs.ca_file, auth=True)
        monkeypatch.setenv("NL_TEST_SMTP_USER", "nl")
        monkeypatch.setenv("NL_TEST_SMTP_PASSWORD", "wrong-pw")
        with pytest.raises(DeliveryError, match="login refused") as e:
            send_issue(config)
        assert "wrong-pw" not in str(e.value) and "NL_TEST_SMTP_PASSWORD" in str(e.value)
        assert rec.messages == [] and deliveries(config) == []
        monkeypatch.delenv("NL_TEST_SMTP_PASSWORD")
        with pytest.raises(DeliveryError, match="NL_TEST_SMTP_PASSWORD is not set"):
            send_issue(config)
    finally:
        c.stop()


def test_untrusted_certificate_is_refused(tmp_path: Path, certs: CertFiles) -> None:
    rec = Recorder()
    c = start_server(rec, certs=certs, mode="starttls")
    try:
        config = setup(tmp_path, c.port, security="starttls")  # no ca_file: system CAs only
        with pytest.raises(DeliveryError, match="certificate not trusted"):
            send_issue(config)
        assert rec.messages == []
    finally:
        c.stop()


def test_implicit_tls(tmp_path: Path, certs: CertFiles) -> None:
    rec = Recorder()
    c = start_server(rec, certs=certs, mode="ssl")
    try:
        config = setup(tmp_path, c.port, security="ssl", ca_file=certs.ca_file)
        assert send_issue(config).sent == tuple(TO)
        assert len(rec.messages) == 2
    finally:
        c.stop()


def test_temporary_failure_then_success(tmp_path: Path, server: tuple[Recorder, int]) -> None:
    rec, port = server
    calls: list[str] = []

    def greylist(addr: str) -> str | None:
        calls.append(addr)
        return "451 4.7.1 Greylisted, try again later" if len(calls) == 1 else None

    rec.rcpt_reply = greylist
    config = setup(tmp_path, port)
    delays: list[float] = []
    report = send_issue(config, sleep=no_sleep(delays))
    assert report.ok and report.sent == tuple(TO)
    assert delays == [RETRY_DELAYS[0]]
    assert [m.rcpt_tos for m in rec.messages] == [[TO[0]], [TO[1]]]


def test_temporary_failures_give_up_after_bounded_retries(tmp_path: Path,
                                                          server: tuple[Recorder, int]) -> None:
    rec, port = server
    rec.data_reply = lambda env: "421 4.3.2 System shutting down"
    config = setup(tmp_path, port, to=["anna@example.org"])
    delays: list[float] = []
    report = send_issue(config, sleep=no_sleep(delays))
    assert delays == list(RETRY_DELAYS)
    assert not report.ok and not report.failed[0].permanent
    assert deliveries(config) == []
    rec.data_reply = lambda env: None  # the server is back: the next send delivers it
    assert send_issue(config).sent == ("anna@example.org",)


def test_one_recipient_refused_others_delivered(tmp_path: Path, server: tuple[Recorder, int]) -> None:
    rec, port = server
    rec.rcpt_reply = lambda a: "550 5.1.1 No such user" if a.startswith("anna") else None
    config = setup(tmp_path, port)
    failures = []
    report = send_issue(config, on_failure=failures.append, sleep=no_sleep([]))
    assert report.sent == ("bernd@example.org",)
    assert [(f.recipient, f.permanent) for f in report.failed] == [("anna@example.org", True)]
    assert "550" in report.failed[0].reason and failures == list(report.failed)
    assert [m.rcpt_tos for m in rec.messages] == [["bernd@example.org"]]
    assert deliveries(config) == [("2026-W48", "bernd@example.org")]


def test_connection_refused_fails_every_recipient_once(tmp_path: Path) -> None:
    from tests.smtp_helpers import free_port

    config = setup(tmp_path, free_port())
    delays: list[float] = []
    report = send_issue(config, sleep=no_sleep(delays))
    assert report.sent == () and len(report.failed) == 2
    assert delays == list(RETRY_DELAYS)  # retried for the first, not again for the second
    assert "not tried" in report.failed[1].reason


def test_oversize_issue_trimmed_under_gmail_limit(tmp_path: Path, server: tuple[Recorder, int]) -> None:
    rec, port = server
    config = setup(tmp_path, port, n=300, to=["anna@example.org"])
    assert (config.output_dir / "2026-W48.html").stat().st_size > GMAIL_CLIP_BYTES
    report = send_issue(config)
    assert report.moved and "story-0" not in report.moved
    html = list(iter_parts(rec.messages[0].message))[1].get_content()
    assert len(html.encode("utf-8")) < GMAIL_CLIP_BYTES
    assert "More stories" in html
    # the best-ranked stories stay whole, the lowest-ranked are a link in the list
    assert 'data-story-id="story-0"' in html and 'data-story-id="story-1"' in html
    assert 'data-story-id="story-299"' not in html
    assert 'href="https://news.example/299"' in html.split("More stories", 1)[1]
    # every story is still reachable: full or as a link
    assert all(f'href="https://news.example/{i}"' in html for i in range(300))


def test_an_issue_too_big_even_as_links_is_refused_after_one_try(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every story reduced to a link is tried first: if that does not fit, the error comes
    at once instead of after a search that inlines the whole page a dozen times."""
    from newsletter import email_message as em

    config = setup(tmp_path, 2525, n=40)
    out = config.output_dir
    content = em.load_issue("2026-W48", out / "2026-W48.html", out / "2026-W48.txt",
                            out / "2026-W48.json")
    calls: list[int] = []
    inline = em._inline
    monkeypatch.setattr(em, "_inline", lambda html: calls.append(1) or inline(html))
    with pytest.raises(DeliveryError, match="stays above 2000 bytes even with every story"):
        em.email_html(content, budget=2000)
    # the page as it is; its list of 40 links alone is over 2,000 bytes: nothing can fit
    assert len(calls) == 1
    links = len(em._more_stories(content.stories).encode("utf-8"))
    assert links > 2000
    calls.clear()
    with pytest.raises(DeliveryError, match=f"stays above {links} bytes"):
        em.email_html(content, budget=links)  # the list fits, the page around it does not
    assert len(calls) == 2  # the page as it is, then every story as a link
    calls.clear()
    import dataclasses

    bare = dataclasses.replace(content, data={})  # a page without its JSON (the archive's feed)
    with pytest.raises(DeliveryError, match="stays above"):
        em.email_html(bare, budget=links)
    assert len(calls) == 1  # no story to move: the page as it is was the only try
    whole = em.email_html(content, budget=10**9).html.encode("utf-8")
    calls.clear()
    fitted = em.email_html(content, budget=len(whole) - 1)
    assert fitted.moved and len(calls) > 2  # a page that can fit is still searched for
