"""Report e-mail delivery against real SMTP servers on loopback and the real warehouse.

Every server here is aiosmtpd on 127.0.0.1 and a free port, with a throwaway CA from
trustme for TLS; the outbox lives in a fresh PostgreSQL database per test. Nothing is
faked: what the tests see is what a mail server received.
"""

from __future__ import annotations

import socket
import ssl
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
import trustme
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from cx_warehouse.config.settings import PROJECT_DIR
from cx_warehouse.reports.delivery import (
    Attachment,
    DeliveryError,
    Email,
    InlineImage,
    SmtpConfigError,
    SmtpSettings,
    build_message,
    deliver,
    make_message_id,
    outbox_status,
)
from cx_warehouse.warehouse.connection import connect

SENDER = "cx-reports@cx.test"
RECIPIENTS = ["ops.lead@cx.test", "cfo@cx.test"]
SUBJECT = "客户体验周报 Weekly scorecard 2026-10-19"
TEXT = "您好，本周 NPS 上升 3 分。\nHello, NPS rose by 3 points this week.\n"
HTML = '<html><body><h1>客户体验周报</h1><p>NPS 上升 3 分</p><img src="cid:nps_trend" alt="趋势"></body></html>'
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
CSV = "门店,NPS\n上海,42\n".encode()
USER, PASSWORD = "reports-bot", "correct horse battery staple"


def _png(width: int = 2, height: int = 2) -> bytes:
    """A real (tiny, grey) PNG, as the chart renderer would produce."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


PNG = _png()


def _email(subject: str = SUBJECT) -> Email:
    return Email(
        subject=subject, html=HTML, text=TEXT,
        inline_images=(InlineImage(cid="nps_trend", content=PNG, filename="nps_trend.png"),),
        attachments=(Attachment("weekly_scorecard_2026-10-19.pdf", PDF, "application/pdf"),
                     Attachment("门店.csv", CSV, "text/csv")),
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- a capturing SMTP server ----------------------------------------------------------------
@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage
    tls: bool
    auth: Any


@dataclass
class CapturingHandler:
    """Keeps every accepted message; ``replies`` scripts RCPT answers per address (FIFO)."""

    received: list[Received] = field(default_factory=list)
    replies: dict[str, list[str]] = field(default_factory=dict)
    permanent: dict[str, str] = field(default_factory=dict)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.permanent:
            return self.permanent[address]
        if self.replies.get(address):
            return self.replies[address].pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content
        parsed = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(parsed, EmailMessage)
        # STARTTLS sets session.ssl; an implicit-TLS listener shows on the transport instead
        tls = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), raw, parsed, tls,
                                      session.auth_data))
        return "250 Message accepted for delivery"

    def recipients_seen(self) -> list[str]:
        return [r for item in self.received for r in item.rcpt_tos]


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() \
        and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, auth_data=auth_data.login.decode() if ok else None)


@contextmanager
def smtp_server(handler: CapturingHandler, port: int | None = None, **kwargs: Any) -> Iterator[Controller]:
    controller = Controller(handler, hostname="127.0.0.1", port=port or _free_port(),
                            server_hostname="mx.cx.test", **kwargs)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    """The server's TLS context: a certificate for 127.0.0.1 signed by the test CA."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    return ctx


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "test-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def other_ca_file(tmp_path: Path) -> str:
    path = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


def _settings(port: int, security: str = "none", **kwargs: Any) -> SmtpSettings:
    values: dict[str, Any] = {"username": None, "password": None, "sender": SENDER, "timeout": 10.0}
    values.update(kwargs)
    return SmtpSettings(host="127.0.0.1", port=port, security=security, **values)  # type: ignore[arg-type]


def _deliver(settings: SmtpSettings, url: str, recipients: list[str] | None = None, email: Email | None = None,
             kind: str = "report") -> Any:
    return deliver(report_id="weekly_scorecard", period_key="2026-10-19", kind=kind,
                   recipients=RECIPIENTS if recipients is None else recipients, email=email or _email(),
                   archive_path="/archive/weekly_scorecard/2026-10-19/report", settings=settings, url=url)


def _part(msg: EmailMessage, *path: int) -> EmailMessage:
    """The sub-part at ``path`` (indexes into nested multiparts)."""
    for index in path:
        payload = msg.get_payload()
        assert isinstance(payload, list)
        part = payload[index]
        assert isinstance(part, EmailMessage)
        msg = part
    return msg


def _outbox(url: str) -> dict[str, dict[str, Any]]:
    return {row["recipient"]: row for row in outbox_status("weekly_scorecard", "2026-10-19", url=url)}


# -- 1. plain delivery ----------------------------------------------------------------------
def test_plain_delivery_arrives_whole_one_message_per_recipient(warehouse_url: str) -> None:
    handler = CapturingHandler()
    with smtp_server(handler) as server:
        result = _deliver(_settings(server.port), warehouse_url)

    assert result.sent == RECIPIENTS and result.already_sent == [] and result.failed == {}
    assert len(handler.received) == 2
    assert [item.rcpt_tos for item in handler.received] == [[r] for r in RECIPIENTS]
    for recipient, item in zip(RECIPIENTS, handler.received, strict=True):
        msg = item.message
        assert item.mail_from == SENDER
        assert msg["To"] == recipient and msg["From"] == SENDER
        assert msg["Cc"] is None and msg["Bcc"] is None
        assert msg["Subject"] == SUBJECT
        assert msg["Message-ID"] == make_message_id("weekly_scorecard", "2026-10-19", "report", recipient)
        assert msg["Date"] is not None and msg["Auto-Submitted"] == "auto-generated"
        assert item.raw.isascii()  # 7-bit on the wire: UTF-8 travels encoded

        assert msg.get_content_type() == "multipart/mixed"
        alternative = _part(msg, 0)
        assert alternative.get_content_type() == "multipart/alternative"
        plain = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        assert plain is not None and plain.get_content().replace("\r\n", "\n") == TEXT
        assert html is not None and html.get_content().strip() == HTML
        related = _part(alternative, 1)
        assert related.get_content_type() == "multipart/related"
        image = _part(related, 1)
        assert image.get_content_type() == "image/png"
        assert image["Content-ID"] == "<nps_trend>" and image.get_content_disposition() == "inline"
        assert image.get_content() == PNG

        attachments = {part.get_filename(): part for part in msg.iter_attachments()}
        assert set(attachments) == {"weekly_scorecard_2026-10-19.pdf", "门店.csv"}
        pdf = attachments["weekly_scorecard_2026-10-19.pdf"]
        assert pdf.get_content_type() == "application/pdf" and pdf.get_content() == PDF
        assert attachments["门店.csv"].get_content() == CSV.decode()

    ids = {item.message["Message-ID"] for item in handler.received}
    assert len(ids) == 2  # one id per recipient, so the receiving side can drop repeats
    rows = _outbox(warehouse_url)
    assert set(rows) == set(RECIPIENTS)
    for recipient, row in rows.items():
        assert row["status"] == "sent" and row["attempts"] == 1 and row["sent_at"] is not None
        assert row["last_error"] is None and row["subject"] == SUBJECT and row["kind"] == "report"
        assert row["message_id"] == make_message_id("weekly_scorecard", "2026-10-19", "report", recipient)
        assert row["archive_path"] == "/archive/weekly_scorecard/2026-10-19/report"


def test_duplicate_recipients_get_one_message(warehouse_url: str) -> None:
    handler = CapturingHandler()
    with smtp_server(handler) as server:
        result = _deliver(_settings(server.port), warehouse_url, recipients=["cfo@cx.test", "cfo@CX.test"])
    assert result.sent == ["cfo@cx.test"]
    assert handler.recipients_seen() == ["cfo@cx.test"]


# -- 2. STARTTLS ----------------------------------------------------------------------------
def test_starttls_with_the_private_ca_verifies_and_logs_in(warehouse_url: str, server_tls: ssl.SSLContext,
                                                           ca_file: str) -> None:
    handler = CapturingHandler()
    with smtp_server(handler, tls_context=server_tls, require_starttls=True, authenticator=_authenticator,
                     auth_required=True) as server:
        settings = _settings(server.port, "starttls", ca_file=ca_file, username=USER, password=PASSWORD)
        result = _deliver(settings, warehouse_url)
    assert result.sent == RECIPIENTS
    assert [item.tls for item in handler.received] == [True, True]
    assert [item.auth for item in handler.received] == [USER, USER]
    assert handler.recipients_seen() == RECIPIENTS


@pytest.mark.parametrize("trust", ["system store", "another CA"])
def test_starttls_fails_when_the_certificate_is_not_trusted(warehouse_url: str, server_tls: ssl.SSLContext,
                                                            other_ca_file: str, trust: str) -> None:
    handler = CapturingHandler()
    with smtp_server(handler, tls_context=server_tls, require_starttls=True) as server:
        settings = _settings(server.port, "starttls", ca_file=None if trust == "system store" else other_ca_file)
        with pytest.raises(DeliveryError) as failure:
            _deliver(settings, warehouse_url)
    message = str(failure.value)
    assert "\n" not in message
    assert f"127.0.0.1:{server.port}" in message and "certificate verification failed" in message
    assert "2 of 2 recipient(s) still pending" in message
    assert handler.received == []
    assert failure.value.result.sent == [] and set(failure.value.result.failed) == set(RECIPIENTS)
    for row in _outbox(warehouse_url).values():
        assert row["status"] == "pending" and row["attempts"] == 1 and row["sent_at"] is None
        assert "certificate verification failed" in row["last_error"]


def test_starttls_required_but_not_offered_never_falls_back_to_plain(warehouse_url: str, ca_file: str) -> None:
    handler = CapturingHandler()
    with smtp_server(handler) as server:  # no tls_context: the server offers no STARTTLS
        with pytest.raises(DeliveryError, match="does not offer STARTTLS"):
            _deliver(_settings(server.port, "starttls", ca_file=ca_file), warehouse_url)
    assert handler.received == []
    assert {row["status"] for row in _outbox(warehouse_url).values()} == {"pending"}


# -- 3. implicit TLS ------------------------------------------------------------------------
def test_implicit_tls_with_the_private_ca(warehouse_url: str, server_tls: ssl.SSLContext, ca_file: str,
                                          other_ca_file: str) -> None:
    handler = CapturingHandler()
    with smtp_server(handler, ssl_context=server_tls) as server:
        with pytest.raises(DeliveryError, match="certificate verification failed"):
            _deliver(_settings(server.port, "tls", ca_file=other_ca_file), warehouse_url)
        assert handler.received == []
        result = _deliver(_settings(server.port, "tls", ca_file=ca_file), warehouse_url)
    assert result.sent == RECIPIENTS
    assert [item.tls for item in handler.received] == [True, True]
    assert {row["status"] for row in _outbox(warehouse_url).values()} == {"sent"}
    assert {row["attempts"] for row in _outbox(warehouse_url).values()} == {2}


# -- 4. failures, retries and the outbox ------------------------------------------------------
def test_server_down_then_up_sends_each_recipient_exactly_once(warehouse_url: str) -> None:
    port = _free_port()
    with pytest.raises(DeliveryError) as failure:
        _deliver(_settings(port), warehouse_url)
    assert f"127.0.0.1:{port}" in str(failure.value) and "connection refused" in str(failure.value)
    assert {(row["status"], row["attempts"]) for row in _outbox(warehouse_url).values()} == {("pending", 1)}

    handler = CapturingHandler()
    with smtp_server(handler, port=port):
        second = _deliver(_settings(port), warehouse_url)
        third = _deliver(_settings(port), warehouse_url)
    assert second.sent == RECIPIENTS and second.already_sent == []
    assert third.sent == [] and third.already_sent == RECIPIENTS and third.failed == {}
    assert sorted(handler.recipients_seen()) == sorted(RECIPIENTS)
    assert {(row["status"], row["attempts"]) for row in _outbox(warehouse_url).values()} == {("sent", 2)}


def test_a_server_that_never_greets_times_out_with_a_clear_error(warehouse_url: str) -> None:
    with socket.socket() as silent:  # accepts TCP connections (backlog) but never says 220
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        port = silent.getsockname()[1]
        with pytest.raises(DeliveryError, match=rf"127\.0\.0\.1:{port}.*timed out after 1s"):
            _deliver(_settings(port, timeout=1.0), warehouse_url)
    assert {row["status"] for row in _outbox(warehouse_url).values()} == {"pending"}


def test_421_mid_session_keeps_the_rest_pending_for_the_retry(warehouse_url: str) -> None:
    recipients = ["a@cx.test", "b@cx.test", "c@cx.test"]
    handler = CapturingHandler(replies={"b@cx.test": ["421 4.3.2 Service shutting down"]})
    with smtp_server(handler) as server:
        with pytest.raises(DeliveryError) as failure:
            _deliver(_settings(server.port), warehouse_url, recipients=recipients)
        assert "421" in str(failure.value) and "2 of 3 recipient(s) still pending" in str(failure.value)
        assert failure.value.result.sent == ["a@cx.test"]
        rows = _outbox(warehouse_url)
        assert rows["a@cx.test"]["status"] == "sent"
        assert (rows["b@cx.test"]["status"], rows["b@cx.test"]["attempts"]) == ("pending", 1)
        # c was never tried: the session was gone, and no new unchecked one is opened
        assert (rows["c@cx.test"]["status"], rows["c@cx.test"]["attempts"]) == ("pending", 0)
        assert "not attempted" in rows["c@cx.test"]["last_error"]

        retry = _deliver(_settings(server.port), warehouse_url, recipients=recipients)
    assert retry.sent == ["b@cx.test", "c@cx.test"] and retry.already_sent == ["a@cx.test"]
    assert sorted(handler.recipients_seen()) == recipients


def test_transient_and_permanent_refusals_are_recorded_and_reported(warehouse_url: str) -> None:
    recipients = ["a@cx.test", "busy@cx.test", "gone@cx.test", "d@cx.test"]
    handler = CapturingHandler(replies={"busy@cx.test": ["451 4.3.0 Try again later"]},
                               permanent={"gone@cx.test": "550 5.1.1 No such user"})
    with smtp_server(handler) as server:
        with pytest.raises(DeliveryError) as failure:
            _deliver(_settings(server.port), warehouse_url, recipients=recipients)
        # the session survived the refusals: the recipients after them were still served
        assert failure.value.result.sent == ["a@cx.test", "d@cx.test"]
        assert "1 refused permanently" in str(failure.value) and "1 of 4 recipient(s) still pending" in str(
            failure.value)
        rows = _outbox(warehouse_url)
        assert rows["busy@cx.test"]["status"] == "pending" and "451" in rows["busy@cx.test"]["last_error"]
        assert rows["gone@cx.test"]["status"] == "failed" and "550 5.1.1 No such user" in rows["gone@cx.test"][
            "last_error"]

        with pytest.raises(DeliveryError) as again:
            _deliver(_settings(server.port), warehouse_url, recipients=recipients)
    assert again.value.result.sent == ["busy@cx.test"]
    assert again.value.result.already_sent == ["a@cx.test", "d@cx.test"]
    assert list(again.value.result.failed) == ["gone@cx.test"]
    assert sorted(handler.recipients_seen()) == ["a@cx.test", "busy@cx.test", "d@cx.test"]
    rows = _outbox(warehouse_url)
    assert (rows["gone@cx.test"]["status"], rows["gone@cx.test"]["attempts"]) == ("failed", 2)


def test_kinds_are_tracked_separately(warehouse_url: str) -> None:
    handler = CapturingHandler()
    with smtp_server(handler) as server:
        _deliver(_settings(server.port), warehouse_url, kind="delayed")
        result = _deliver(_settings(server.port), warehouse_url, kind="report")
    assert result.sent == RECIPIENTS
    assert len(handler.received) == 4
    assert len({item.message["Message-ID"] for item in handler.received}) == 4


# -- 5. header injection --------------------------------------------------------------------
def test_subject_with_line_breaks_adds_no_header_and_no_recipient(warehouse_url: str) -> None:
    handler = CapturingHandler()
    email = Email(subject="投诉: Weekly\r\nBcc: evil@x.test\nX-Evil: 1", html="<p>x</p>", text="x",
                  attachments=(Attachment("report\r\nX-Evil: 1.pdf", PDF, "application/pdf"),))
    with smtp_server(handler) as server:
        _deliver(_settings(server.port), warehouse_url, recipients=["a@cx.test"], email=email)
    [item] = handler.received
    assert item.rcpt_tos == ["a@cx.test"]
    assert item.message["Bcc"] is None and item.message["X-Evil"] is None
    assert item.message["Subject"] == "投诉: Weekly Bcc: evil@x.test X-Evil: 1"
    assert b"\r\nBcc:" not in item.raw and b"\r\nX-Evil:" not in item.raw
    [attachment] = item.message.iter_attachments()
    assert attachment.get_filename() == "report X-Evil: 1.pdf" and attachment["X-Evil"] is None


@pytest.mark.parametrize("bad", [
    "a@x.test, evil@x.test",
    "a@x.test\r\nBcc: b@x.test",
    "a@x.test\nb@x.test",
    "Boss <evil@x.test>",
    "a@x.test <evil@x.test>",
    "a(comment)@x.test",
    '"a@x.test"@evil.test',
    "a@x.test;evil@x.test",
    " a@x.test",
    "",
])
def test_a_bad_recipient_is_rejected_before_anything_is_sent(warehouse_url: str, bad: str) -> None:
    handler = CapturingHandler()
    with smtp_server(handler) as server:
        with pytest.raises(ValueError, match="recipient") as failure:
            _deliver(_settings(server.port), warehouse_url, recipients=["ok@cx.test", bad])
    assert repr(bad) in str(failure.value)
    assert handler.received == []
    assert outbox_status("weekly_scorecard", url=warehouse_url) == []  # not even a pending row


def test_build_message_checks_sender_and_message_id() -> None:
    with pytest.raises(ValueError, match="sender"):
        build_message(_email(), sender="Reports <r@cx.test>", recipient="a@cx.test", message_id="<a.b@c>")
    with pytest.raises(ValueError, match="message_id"):
        build_message(_email(), sender=SENDER, recipient="a@cx.test", message_id="<a@c>\r\nBcc: e@x.test")
    msg = build_message(_email(), sender=SENDER, recipient="Ops.Lead@CX.Test", message_id="<a.b@c>")
    assert msg["To"] == "Ops.Lead@cx.test"  # the domain is case-insensitive, the local part is not


# -- 6. settings from the Airflow connection ------------------------------------------------
def test_from_connection_reads_the_uri_form(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_CX_SMTP",
        "smtp://bot%40corp.example:s3cr%3At%2Fpw@smtp.corp.example:587"
        "?security=starttls&sender=cx-reports%40corp.example&ca_file=%2Fetc%2Fcx%2Fcorp-ca.pem&timeout=12",
    )
    settings = SmtpSettings.from_connection()
    assert settings == SmtpSettings(host="smtp.corp.example", port=587, security="starttls",
                                    username="bot@corp.example", password="s3cr:t/pw",
                                    sender="cx-reports@corp.example", ca_file="/etc/cx/corp-ca.pem", timeout=12.0)
    assert "s3cr" not in repr(settings)


def test_from_connection_reads_the_docker_compose_value(monkeypatch: pytest.MonkeyPatch) -> None:
    compose = yaml.safe_load((PROJECT_DIR / "docker-compose.yml").read_text())
    monkeypatch.setenv("AIRFLOW_CONN_CX_SMTP", compose["x-airflow-env"]["AIRFLOW_CONN_CX_SMTP"])
    settings = SmtpSettings.from_connection()
    assert (settings.host, settings.port, settings.security) == ("mailpit", 1025, "none")
    assert settings.username is None and settings.password is None
    assert settings.sender == "cx-reports@example.com"


@pytest.mark.parametrize(("extras", "security", "port"), [
    ("", "starttls", 587),
    ("?disable_ssl=false", "tls", 465),
    ("?disable_ssl=true", "starttls", 587),
    ("?disable_ssl=true&disable_tls=true", "none", 25),
    ("?security=tls", "tls", 465),
    ("?security=none&disable_ssl=true&disable_tls=true", "none", 25),
])
def test_from_connection_security_and_default_ports(monkeypatch: pytest.MonkeyPatch, extras: str, security: str,
                                                    port: int) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_CX_SMTP", f"smtp://relay.example{extras}")
    settings = SmtpSettings.from_connection()
    assert (settings.security, settings.port) == (security, port)


def test_from_connection_reads_the_json_form(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_CX_SMTP", (
        '{"conn_type": "smtp", "host": "smtp.example.com", "port": 465, "login": "reports@example.com",'
        ' "password": "pw-123456", "extra": {"security": "tls", "timeout": 5}}'))
    settings = SmtpSettings.from_connection()
    assert (settings.host, settings.port, settings.security, settings.timeout) == ("smtp.example.com", 465, "tls", 5)
    assert settings.sender == "reports@example.com"  # the login, being an address


@pytest.mark.parametrize(("value", "error"), [
    (None, r"AIRFLOW_CONN_CX_SMTP.*smtp://"),
    ("smtp://relay.example?security=ssl-please", "security"),
    ("smtp://relay.example?security=starttls&disable_ssl=true&disable_tls=true", "contradicts"),
    ("smtp://u:p@relay.example?security=none", "plain text"),
    ("smtp://relay.example?sender=a%40x.test%2C%20evil%40x.test", "sender"),
    ("smtp://relay.example?disable_ssl=maybe", "disable_ssl"),
])
def test_from_connection_errors_say_what_to_fix(monkeypatch: pytest.MonkeyPatch, value: str | None,
                                                error: str) -> None:
    if value is None:
        monkeypatch.delenv("AIRFLOW_CONN_CX_SMTP", raising=False)
    else:
        monkeypatch.setenv("AIRFLOW_CONN_CX_SMTP", value)
    with pytest.raises(SmtpConfigError, match=error):
        SmtpSettings.from_connection()


def test_credentials_over_plain_smtp_only_on_loopback() -> None:
    assert _settings(1025, "none", username=USER, password=PASSWORD).username == USER
    with pytest.raises(ValueError, match="plain text"):
        SmtpSettings(host="mail.example.com", port=25, security="none", username=USER, password=PASSWORD,
                     sender=SENDER)


def test_the_outbox_is_idempotent_and_empty_before_any_delivery(warehouse_url: str) -> None:
    from cx_warehouse.reports.delivery import ensure_outbox

    assert outbox_status("weekly_scorecard", url=warehouse_url) == []
    with connect(warehouse_url, autocommit=True) as conn:
        ensure_outbox(conn)
        ensure_outbox(conn)
        columns = [r[0] for r in conn.execute(
            "select column_name from information_schema.columns where table_schema = 'reports' "
            "and table_name = 'outbox' order by ordinal_position").fetchall()]
    assert columns == ["report_id", "period_key", "kind", "recipient", "status", "message_id", "subject",
                       "archive_path", "attempts", "last_error", "created_at", "updated_at", "sent_at"]
