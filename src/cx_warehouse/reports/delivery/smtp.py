"""One SMTP session over verified TLS, and sending messages through it one recipient at a time.

``smtplib.starttls()`` without an SSL context does not check the server certificate, and a client
that silently continues in plain text when the server stops offering STARTTLS is trivially
downgraded: both modes here build ``ssl.create_default_context`` and STARTTLS must be offered.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass
from cx_warehouse.reports.delivery.message import check_address
from cx_warehouse.reports.delivery.settings import SmtpConfigError, SmtpSettings

log = logging.getLogger(__name__)

class SmtpSessionError(RuntimeError):
    """No usable SMTP session: connect, TLS, STARTTLS or login failed; nothing was sent.

    Attributes:
        host: The server's host name.
        port: The server's port.
        reason: One line saying what failed.
    """

    def __init__(self, settings: SmtpSettings, reason: str) -> None:
        self.host = settings.host
        self.port = settings.port
        self.reason = reason
        super().__init__(f"SMTP {settings.host}:{settings.port} ({settings.security}): {reason}")



# -- SMTP -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SendOutcome:
    """What happened to one message of :func:`send_messages`.

    Attributes:
        recipient: The envelope recipient.
        message_id: The message's Message-ID header.
        accepted: The server accepted the message for delivery.
        attempted: The message was handed to the server (False when the session had
            already broken down before its turn).
        error: One line saying why it was not accepted.
        permanent: The server refused the recipient with a 5xx: retrying will not help.
    """

    recipient: str
    message_id: str | None
    accepted: bool
    attempted: bool = True
    error: str | None = None
    permanent: bool = False


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _reply_text(reply: bytes | str) -> str:
    return _one_line(reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply)


def describe_error(exc: BaseException, timeout: float | None = None) -> str:
    """One line saying what an SMTP, TLS or socket error means, for logs and the outbox."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed ({_one_line(exc.verify_message or str(exc))})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error ({_one_line(exc.reason or str(exc))})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:g}s" if timeout else "timed out"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host name ({exc.strerror})"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()), (0, b""))
        return f"recipient refused: {code} {_reply_text(reply)}"
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return f"sender {exc.sender} refused: {exc.smtp_code} {_reply_text(exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_reply_text(exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        if isinstance(exc.__context__, TimeoutError):  # smtplib turns a read timeout into this
            return f"no reply from the server: {describe_error(exc.__context__, timeout)}"
        return f"server closed the connection ({_one_line(str(exc))})"
    if isinstance(exc, OSError) and exc.strerror:
        return _one_line(exc.strerror)
    return _one_line(str(exc)) or type(exc).__name__


def tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    """The client TLS context: hostname and chain verified, against ``ca_file`` or the system store."""
    try:
        return ssl.create_default_context(cafile=settings.ca_file)
    except OSError as exc:  # ssl.SSLError is an OSError
        raise SmtpConfigError(f"cannot load the CA bundle ca_file={settings.ca_file!r}: {describe_error(exc)}") from None


def _close_quietly(smtp: smtplib.SMTP) -> None:
    # QUIT politely; a broken connection (e.g. after a failed TLS handshake) must not hide
    # the error that broke it.
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        smtp.close()


@contextmanager
def smtp_session(settings: SmtpSettings, context: ssl.SSLContext | None = None) -> Iterator[smtplib.SMTP]:
    """An SMTP session ready for MAIL FROM: connected, TLS verified as configured, logged in.

    Args:
        settings: The server and its security mode.
        context: A prepared TLS context (default: :func:`tls_context`).

    Yields:
        The connected ``smtplib.SMTP`` (or ``SMTP_SSL``); closed on exit.

    Raises:
        SmtpSessionError: Connect, TLS handshake/verification, STARTTLS or login failed.
        SmtpConfigError: The CA bundle cannot be loaded.
    """
    ctx = None if settings.security == "none" else (context or tls_context(settings))
    stage = "connect"
    try:
        if settings.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                                  context=ctx)
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    except (OSError, smtplib.SMTPException) as exc:
        raise SmtpSessionError(settings, f"{stage}: {describe_error(exc, settings.timeout)}") from exc
    try:
        if settings.security == "starttls":
            stage = "EHLO"
            code, _ = smtp.ehlo()
            if code != 250 or not smtp.has_extn("starttls"):
                raise SmtpSessionError(
                    settings, "the server does not offer STARTTLS; refusing to continue in plain text "
                    "(use security=tls for an implicit-TLS port such as 465)")
            stage = "STARTTLS"
            smtp.starttls(context=ctx)
            stage = "EHLO after STARTTLS"
            smtp.ehlo()
        else:
            stage = "EHLO"
            smtp.ehlo_or_helo_if_needed()
        if settings.username is not None:
            stage = "login"
            smtp.login(settings.username, settings.password or "")
    except SmtpSessionError:
        _close_quietly(smtp)
        raise
    except (OSError, smtplib.SMTPException) as exc:
        _close_quietly(smtp)
        raise SmtpSessionError(settings, f"{stage}: {describe_error(exc, settings.timeout)}") from exc
    try:
        yield smtp
    finally:
        _close_quietly(smtp)


def _send_one(smtp: smtplib.SMTP, settings: SmtpSettings, recipient: str, msg: EmailMessage) -> SendOutcome:
    message_id = msg.get("Message-ID")
    try:
        refused = smtp.send_message(msg, from_addr=settings.sender, to_addrs=[recipient])
    except smtplib.SMTPRecipientsRefused as exc:
        code = next(iter(exc.recipients.values()), (0, b""))[0]
        return SendOutcome(recipient, message_id, False, error=describe_error(exc), permanent=500 <= code < 600)
    except (OSError, smtplib.SMTPException) as exc:
        return SendOutcome(recipient, message_id, False, error=describe_error(exc, settings.timeout))
    if refused:  # cannot happen with one recipient, but never count a refusal as sent
        code, reply = refused.get(recipient, (0, b""))
        return SendOutcome(recipient, message_id, False, error=f"recipient refused: {code} {_reply_text(reply)}",
                           permanent=500 <= code < 600)
    return SendOutcome(recipient, message_id, True)


def send_messages(
    settings: SmtpSettings,
    messages: Sequence[tuple[str, EmailMessage]],
    *,
    on_outcome: Callable[[SendOutcome], None] | None = None,
    context: ssl.SSLContext | None = None,
) -> list[SendOutcome]:
    """Send each message to its one recipient, in one SMTP session.

    The envelope recipient is the address paired with the message, never taken from the
    headers. A refusal of one message (4xx/5xx) does not stop the others; when the session
    itself breaks (421, disconnect, timeout) the remaining messages are reported as not
    attempted instead of being sent over a new, unchecked connection.

    Args:
        settings: The server and its security mode.
        messages: ``(recipient, message)`` pairs, typically from :func:`build_message`.
        on_outcome: Called right after each message's fate is known (and before the next
            one is sent), so a caller can commit it; an exception from it stops the sending.
        context: A prepared TLS context (default: :func:`tls_context`).

    Returns:
        One outcome per message, in order.

    Raises:
        ValueError: A recipient is not one plain address (checked before connecting).
        SmtpSessionError: No session could be opened; nothing was sent.
    """
    checked = [(check_address(recipient, "recipient"), msg) for recipient, msg in messages]
    outcomes: list[SendOutcome] = []
    if not checked:
        return outcomes
    with smtp_session(settings, context) as smtp:
        broken: str | None = None
        for recipient, msg in checked:
            if broken is not None:
                outcome = SendOutcome(recipient, msg.get("Message-ID"), False, attempted=False,
                                      error=f"not attempted: the session ended ({broken})")
            else:
                outcome = _send_one(smtp, settings, recipient, msg)
                if not outcome.accepted and smtp.sock is None:  # smtplib closes on 421 and on errors
                    broken = outcome.error
            outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
    return outcomes


