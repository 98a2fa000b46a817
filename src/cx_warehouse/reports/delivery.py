"""E-mail delivery of the stakeholder reports: MIME building, SMTP over verified TLS, an outbox.

Why it is built this way:

* **One message per recipient.** Recipients never see each other's addresses, one refused
  address does not block the others, and the outbox can track each recipient on its own.
  The SMTP envelope recipient is always the one address we were given, never read back
  from the headers, so nothing in a header (which may carry customer text) can add one.
* **Verified TLS or nothing.** ``smtplib.starttls()`` without an SSL context does not check
  the server certificate, and a client that silently continues in plain text when the
  server stops offering STARTTLS is trivially downgraded. Both modes here build
  ``ssl.create_default_context`` (hostname and chain checked) and ``starttls`` fails when
  the server does not offer it. Plain SMTP (``security=none``) only when configured, and
  then credentials are sent only to a loopback host (a local relay or a port-forward).
* **Outbox before traffic.** :func:`deliver` records one ``pending`` row per recipient in
  ``reports.outbox`` and commits before talking to the server, then marks each row
  ``sent`` and commits right after the server accepted that message. A retried or re-run
  task therefore skips everyone already served and sends only to the rest.
* **At-least-once, not exactly-once.** SMTP has no two-phase commit: if the process dies
  after the server accepted a message but before the ``sent`` row is committed, the retry
  sends that one message again. The window is one message wide, and the Message-ID is
  deterministic (report, period, kind, recipient), so the receiving side (and most mail
  stores) can recognise and drop the repeat.

The Airflow connection ``cx_smtp`` holds the server and the credentials; nothing secret
lives in the repository. Heavy or slow imports (psycopg, the Airflow SDK) happen inside
functions because the CLI and DAG files import this module.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import os
import re
import smtplib
import socket
import ssl
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy as email_policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import TYPE_CHECKING, Any, Literal, cast

from cx_warehouse.warehouse import connect, relation_exists

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

Security = Literal["starttls", "tls", "none"]
SECURITY_MODES: tuple[Security, ...] = ("starttls", "tls", "none")
DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "tls": 465, "none": 25}
KINDS = ("report", "delayed", "alert")
"""What a row of the outbox is: the report itself, the notice that it is late, or an alert."""

CONN_ID = "cx_smtp"
DEFAULT_SENDER = "cx-warehouse@localhost"
"""From address when the connection names none (fine for Mailpit; real relays want ``sender``)."""
EXAMPLE_URI = "smtp://user:password@smtp.example.com:587?security=starttls&sender=cx-reports%40example.com"
MESSAGE_ID_DOMAIN = "cx-warehouse"

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOT_ATOM = re.compile(rf"^{_ATEXT}+(?:\.{_ATEXT}+)*$")
_DNS_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_MESSAGE_ID = re.compile(rf"^<{_ATEXT}+(?:\.{_ATEXT}+)*@{_ATEXT}+(?:\.{_ATEXT}+)*>$")
_CONTENT_ID = re.compile(rf"^{_ATEXT}+(?:\.{_ATEXT}+)*(?:@{_ATEXT}+(?:\.{_ATEXT}+)*)?$")
_MIME_TYPE = re.compile(r"^([a-z0-9][a-z0-9!#$&^_.+-]*)/([a-z0-9][a-z0-9!#$&^_.+-]*)$")
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
# Bidirectional overrides and isolates can make a subject or file name display as
# something else than it is ("invoice\u202efdp.exe").
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class SmtpConfigError(ValueError):
    """The ``cx_smtp`` connection is missing or invalid; the message says how to fix it."""


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


class DeliveryError(RuntimeError):
    """Some recipients could not be reached; the outbox keeps them pending for the retry.

    Raised (rather than returned) so that Airflow retries the task; the retry sends only to
    the recipients whose outbox row is not ``sent``.

    Attributes:
        result: What happened to every recipient of this call.
    """

    def __init__(self, message: str, result: DeliveryResult) -> None:
        super().__init__(message)
        self.result = result


# -- settings -----------------------------------------------------------------------------
@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send: one SMTP server, its security mode and credentials.

    Validated on construction so a bad connection fails before any outbox row is written.
    The password is left out of ``repr`` because settings end up in logs and tracebacks.

    Attributes:
        host: SMTP server host name (also the name the TLS certificate must match).
        port: SMTP port (587 for STARTTLS, 465 for implicit TLS, 25/1025 for plain).
        security: ``starttls``, ``tls`` (implicit TLS, SMTPS) or ``none`` (plain text).
        username: Login, or None for an open relay. Needs ``password`` too.
        password: Password for ``username``.
        sender: The From address and the envelope sender (one plain addr-spec).
        ca_file: PEM bundle of the CA(s) to trust instead of the system store, for a
            relay with a private CA. When set, only this bundle is trusted (it pins the CA);
            when None, the operating system's trust store is used.
        timeout: Seconds for connecting and for each SMTP command.
    """

    host: str
    port: int
    security: Security
    username: str | None
    password: str | None = field(repr=False)
    sender: str
    ca_file: str | None = None
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if not self.host or any(_is_control_or_space(c) for c in self.host):
            raise ValueError(f"SMTP host {self.host!r} is empty or contains spaces or control characters")
        if self.security not in SECURITY_MODES:
            raise ValueError(f"SMTP security {self.security!r} is not one of {', '.join(SECURITY_MODES)}")
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 0 < self.port < 65536:
            raise ValueError(f"SMTP port {self.port!r} is not a port number")
        if not self.timeout > 0:
            raise ValueError(f"SMTP timeout {self.timeout!r} must be a positive number of seconds")
        object.__setattr__(self, "sender", check_address(self.sender, "sender"))
        if (self.username is None) != (self.password is None):
            raise ValueError("SMTP username and password must be given together (or neither)")
        if self.username is not None and self.security == "none" and not _is_loopback(self.host):
            # A password in plain text over the network is readable by anyone on the path;
            # on loopback it never leaves the machine (a local relay, an SSH port-forward).
            raise ValueError(
                f"refusing to send SMTP credentials in plain text to {self.host}: use security=starttls "
                "or security=tls, or drop the login (plain SMTP with a login is allowed on loopback only)"
            )

    @classmethod
    def from_connection(cls, conn_id: str = CONN_ID) -> SmtpSettings:
        """Read the Airflow connection ``conn_id`` (default ``cx_smtp``).

        One code path for tasks and the CLI: inside a task the Airflow SDK asks the
        execution API (which also sees ``AIRFLOW_CONN_*`` variables and secrets backends);
        outside a task the SDK falls back to the ``AIRFLOW_CONN_*`` environment variable
        (URI or JSON form) and any configured secrets backend.

        Extras: ``security`` (``starttls`` by default), or SmtpHook's ``disable_ssl`` /
        ``disable_tls`` flags (both true = ``none``, only ``disable_ssl`` = ``starttls``, else
        ``tls``); ``sender`` or ``from_email`` (else the login when it is an address, else
        :data:`DEFAULT_SENDER`); ``ca_file``; ``timeout``. Extras hold no secrets.

        Args:
            conn_id: The Airflow connection id.

        Returns:
            The validated settings.

        Raises:
            SmtpConfigError: The connection is missing or one of its values is invalid.
        """
        from airflow.sdk import Connection
        from airflow.sdk.exceptions import AirflowNotFoundException

        env = f"AIRFLOW_CONN_{conn_id.upper()}"
        try:
            conn = Connection.get(conn_id)
        except AirflowNotFoundException:
            if os.environ.get(env):
                raise SmtpConfigError(
                    f"the Airflow connection {conn_id!r} could not be read: {env} is set but is not a valid "
                    f"connection URI or JSON; example: {env}='{EXAMPLE_URI}'"
                ) from None
            raise SmtpConfigError(
                f"no Airflow connection {conn_id!r}: define it in Airflow or set {env}, "
                f"e.g. {env}='{EXAMPLE_URI}'"
            ) from None
        try:
            return cls._from_parts(
                host=conn.host, port=conn.port, login=conn.login, password=conn.password,
                extras=_connection_extras(conn.extra),
            )
        except ValueError as exc:
            raise SmtpConfigError(f"Airflow connection {conn_id!r} ({env}): {exc}") from None

    @classmethod
    def _from_parts(cls, *, host: str | None, port: int | None, login: str | None, password: str | None,
                    extras: dict[str, Any]) -> SmtpSettings:
        if not host:
            raise ValueError("no host")
        security = _security_from_extras(extras)
        sender = extras.get("sender") or extras.get("from_email")
        if not sender:
            sender = login if login and _is_address(login) else DEFAULT_SENDER
        ca_file = extras.get("ca_file") or None
        try:
            timeout = float(extras.get("timeout", 30.0))
        except (TypeError, ValueError):
            raise ValueError(f"timeout {extras.get('timeout')!r} is not a number of seconds") from None
        return cls(
            host=host,
            port=int(port) if port else DEFAULT_PORTS[security],
            security=security,
            username=login or None,
            password=password or None,
            sender=str(sender),
            ca_file=str(ca_file) if ca_file else None,
            timeout=timeout,
        )


def _connection_extras(extra: object) -> dict[str, Any]:
    # Parsed here rather than through Connection.extra_dejson, which logs and returns {}
    # for malformed JSON: a typo in the extras must not silently turn TLS settings off.
    if not extra:
        return {}
    if isinstance(extra, dict):
        return extra
    try:
        parsed = json.loads(str(extra))
    except json.JSONDecodeError as exc:
        raise ValueError(f"extras are not valid JSON ({exc.msg})") from None
    if not isinstance(parsed, dict):
        raise ValueError("extras must be a JSON object")
    return parsed


def _flag(value: object, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off", ""):
        return False
    raise ValueError(f"{name}={value!r} is not true or false")


def _security_from_extras(extras: dict[str, Any]) -> Security:
    from_flags: Security | None = None
    if "disable_ssl" in extras or "disable_tls" in extras:
        disable_ssl = _flag(extras.get("disable_ssl", False), "disable_ssl")
        disable_tls = _flag(extras.get("disable_tls", False), "disable_tls")
        from_flags = "tls" if not disable_ssl else "starttls" if not disable_tls else "none"
    explicit = extras.get("security")
    if explicit is None:
        return from_flags or "starttls"
    mode = str(explicit).strip().lower()
    if mode not in SECURITY_MODES:
        raise ValueError(f"security={explicit!r} is not one of {', '.join(SECURITY_MODES)}")
    if from_flags is not None and from_flags != mode:
        # Picking one silently could downgrade to plain text; make the operator choose.
        raise ValueError(f"security={mode} contradicts disable_ssl/disable_tls (which mean {from_flags})")
    return cast(Security, mode)


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# -- addresses and header text --------------------------------------------------------------
def _is_control_or_space(ch: str) -> bool:
    return unicodedata.category(ch)[0] in ("C", "Z")


def check_address(value: object, role: str = "address") -> str:
    """Return ``value`` as exactly one plain addr-spec (``local@domain``), or raise.

    Deliberately narrower than RFC 5322: no display names, comments, quoted local parts,
    domain literals, whitespace or control characters, so that a value can never smuggle a
    second address or a header into the message or the SMTP envelope. The domain is
    lower-cased (and IDNA-encoded when it is not ASCII) so one mailbox has one outbox key.

    Args:
        value: The address to check.
        role: What the address is for (``recipient``, ``sender``), named in the error.

    Returns:
        The normalised address.

    Raises:
        ValueError: ``value`` is not exactly one plain address; the message shows it.
    """
    if not isinstance(value, str):
        raise ValueError(f"{role} {value!r} is not a string")
    problem = f"{role} {value!r} is not exactly one plain e-mail address (local@domain)"
    if not value or any(_is_control_or_space(c) for c in value):
        raise ValueError(f"{problem}: it is empty or contains spaces, line breaks or control characters")
    if value.count("@") != 1:
        raise ValueError(problem)
    local, _, domain = value.partition("@")
    if not local.isascii():
        raise ValueError(f"{problem}: a non-ASCII local part needs SMTPUTF8, which is not supported")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError(f"{problem}: the domain is not a valid internationalised name") from None
    domain = domain.lower()
    labels = domain.split(".")
    if (not _DOT_ATOM.match(local) or len(local) > 64 or not all(_DNS_LABEL.match(label) for label in labels)
            or len(local) + 1 + len(domain) > 254):
        raise ValueError(problem)
    address = f"{local}@{domain}"
    # Belt and braces: the stdlib parsers must read back exactly this one address.
    if Address(addr_spec=address).addr_spec != address or parseaddr(address) != ("", address):
        raise ValueError(problem)
    return address


def clean_header_text(value: str) -> str:
    """Collapse line breaks and other control characters in header text to single spaces.

    Subjects carry customer data (a complaint title, a store name); a CR or LF in it must
    not start a new header, and bidi overrides must not disguise it.
    """
    out = []
    for ch in value:
        category = unicodedata.category(ch)
        if ch in _BIDI_CONTROLS:
            continue
        out.append(" " if category in ("Cc", "Zl", "Zp") else ch)
    return re.sub(r" {2,}", " ", "".join(out)).strip()


def _clean_filename(value: str) -> str:
    # Header-safe like a subject, and no path: a client saving "../../x" is not our business
    # to invite.
    name = clean_header_text(value).replace("/", "_").replace("\\", "_").strip(" .")
    return name[:200] or "attachment"


def _is_address(value: str) -> bool:
    try:
        check_address(value)
    except ValueError:
        return False
    return True


def make_message_id(report_id: str, period_key: str, kind: str, recipient: str) -> str:
    """The deterministic Message-ID of one outbox row.

    The same report, period, kind and recipient always give the same id, so a message
    repeated by the at-least-once window can be recognised and dropped by the receiver.
    The recipient appears only as a hash.

    Example: ``<weekly_scorecard.2026-10-19.report.3f1c0e2a9b7d4c11@cx-warehouse>``.
    """
    digest = hashlib.sha256(check_address(recipient, "recipient").encode()).hexdigest()[:16]
    parts = [_ID_UNSAFE.sub("-", str(p)).strip("-") or "x" for p in (report_id, period_key, kind)]
    return f"<{'.'.join(parts)}.{digest}@{MESSAGE_ID_DOMAIN}>"


# -- messages -------------------------------------------------------------------------------
@dataclass(frozen=True)
class InlineImage:
    """A picture shown inside the HTML (``<img src="cid:{cid}">``), e.g. a chart PNG."""

    cid: str
    content: bytes
    filename: str


@dataclass(frozen=True)
class Attachment:
    """A file attached to the mail, e.g. the PDF or a CSV extract."""

    filename: str
    content: bytes
    mime_type: str


@dataclass(frozen=True)
class Email:
    """The rendered content of one mail, the same for every recipient."""

    subject: str
    html: str
    text: str
    inline_images: tuple[InlineImage, ...] = ()
    attachments: tuple[Attachment, ...] = ()


def _image_type(image: InlineImage) -> tuple[str, str]:
    # Sniffed from the bytes rather than trusted from the file name: a client that is told
    # image/png for a JPEG may show a broken image.
    head = image.content[:8]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image", "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image", "jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image", "gif"
    raise ValueError(f"inline image {image.filename!r} (cid {image.cid!r}) is not a PNG, JPEG or GIF")


def build_message(email: Email, *, sender: str, recipient: str, message_id: str) -> EmailMessage:
    """Build the MIME message for one recipient.

    Structure: ``multipart/mixed`` (only with attachments) holding ``multipart/alternative``
    (text, then HTML, so clients prefer the HTML), the HTML inside ``multipart/related`` with
    its inline images; UTF-8 throughout, bodies quoted-printable so no line exceeds SMTP's
    limits and no 8-bit data reaches servers without 8BITMIME. ``Auto-Submitted`` keeps
    out-of-office replies away.

    Args:
        email: The rendered content.
        sender: The From address (one plain addr-spec).
        recipient: The one To address (one plain addr-spec).
        message_id: ``<left@right>``, deterministic (see :func:`make_message_id`).

    Returns:
        The message with ``policy=email.policy.SMTP`` (CRLF line ends).

    Raises:
        ValueError: An address, the Message-ID, a Content-ID, an image or a MIME type is
            invalid; the message names the value.
    """
    from_addr = check_address(sender, "sender")
    to_addr = check_address(recipient, "recipient")
    if not _MESSAGE_ID.match(message_id):
        raise ValueError(f"message_id {message_id!r} is not of the form <left@right>")
    msg = EmailMessage(policy=email_policy.SMTP)
    msg["From"] = from_addr
    msg["To"] = to_addr
    msg["Subject"] = clean_header_text(email.subject)
    msg["Date"] = format_datetime(datetime.now(UTC), usegmt=True)
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(email.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(email.html, subtype="html", charset="utf-8", cte="quoted-printable")
    if email.inline_images:
        html_part = msg.get_body(preferencelist=("html",))
        assert isinstance(html_part, EmailMessage)
        seen: set[str] = set()
        for image in email.inline_images:
            if not _CONTENT_ID.match(image.cid):
                raise ValueError(f"inline image cid {image.cid!r} has characters a Content-ID cannot hold")
            if image.cid in seen:
                raise ValueError(f"inline image cid {image.cid!r} is used twice")
            seen.add(image.cid)
            maintype, subtype = _image_type(image)
            html_part.add_related(
                image.content, maintype=maintype, subtype=subtype, cid=f"<{image.cid}>",
                disposition="inline", filename=_clean_filename(image.filename),
            )
    for attachment in email.attachments:
        match = _MIME_TYPE.match(attachment.mime_type.strip().lower())
        if not match or match.group(1) in ("multipart", "message"):
            raise ValueError(f"attachment {attachment.filename!r}: mime_type {attachment.mime_type!r} is not "
                             "a plain type/subtype")
        maintype, subtype = match.groups()
        params = {}
        if maintype == "text":
            try:
                attachment.content.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                params["charset"] = "utf-8"
        msg.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype,
            filename=_clean_filename(attachment.filename), params=params,
        )
    return msg


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


# -- outbox ---------------------------------------------------------------------------------
def ensure_outbox(conn: psycopg.Connection[Any]) -> None:
    """Make sure ``reports.outbox`` exists: it is migrations' own (``0001``), so this migrates
    the warehouse when it is behind (concurrent first runs are serialised there)."""
    from cx_warehouse.migrations import ensure_current

    ensure_current(conn)


@dataclass
class DeliveryResult:
    """What :func:`deliver` did, per recipient.

    Attributes:
        sent: Recipients the server accepted in this call.
        already_sent: Recipients skipped because an earlier call already sent to them.
        failed: Recipients not reached in this call, with the reason (their outbox row is
            ``pending``, or ``failed`` when the server refused the address permanently).
    """

    sent: list[str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def _check_key(value: str, name: str) -> str:
    if not isinstance(value, str) or not value.strip() or any(unicodedata.category(c) == "Cc" for c in value):
        raise ValueError(f"{name} {value!r} must be non-empty text without control characters")
    return value


def deliver(
    *,
    report_id: str,
    period_key: str,
    kind: str,
    recipients: list[str],
    email: Email,
    archive_path: str,
    settings: SmtpSettings | None = None,
    url: str | None = None,
) -> DeliveryResult:
    """Send ``email`` to every recipient that has not had it yet, recording each in the outbox.

    Everything that can be checked is checked before the outbox is touched (addresses,
    message parts, settings, CA bundle), so a malformed call leaves no trace. Then one
    ``pending`` row per recipient is committed, recipients already ``sent`` are skipped,
    and the rest are sent in one SMTP session, each row committed as ``sent`` as soon as
    the server accepted its message. A session-level advisory lock on (report, period,
    kind) makes a concurrent call wait and then find the rows sent, instead of sending twice.

    At-least-once: a crash between the server's acceptance and the commit repeats that one
    mail on the retry, with the same deterministic Message-ID.

    A recipient whose address the server refused with a 5xx is marked ``failed``; it is
    tried again on the next call (a fixed mailbox should get the report), and reported.

    Args:
        report_id: The report's id (``weekly_scorecard``).
        period_key: The period the report covers (``2026-10-19``).
        kind: ``report``, ``delayed`` or ``alert``.
        recipients: Plain addresses; duplicates (after normalising the domain) count once.
        email: The rendered content, the same for everyone.
        archive_path: Where the rendered report was archived, recorded in the outbox.
        settings: SMTP settings; default :meth:`SmtpSettings.from_connection`.
        url: The warehouse URL; default the configured warehouse.

    Returns:
        Who was sent to now, who had it already.

    Raises:
        ValueError: A recipient, the kind or a message part is invalid (nothing sent).
        SmtpConfigError: The SMTP connection is missing or invalid (nothing sent).
        DeliveryError: Some recipients were not reached; their rows stay pending (or
            failed) and the error's ``result`` tells who. Airflow retries the task.
    """
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    _check_key(report_id, "report_id")
    _check_key(period_key, "period_key")
    targets = list(dict.fromkeys(check_address(r, "recipient") for r in recipients))
    result = DeliveryResult()
    if not targets:
        log.warning("%s %s (%s): no recipients, nothing to send", report_id, period_key, kind)
        return result
    smtp = settings or SmtpSettings.from_connection()
    context = None if smtp.security == "none" else tls_context(smtp)
    messages = {
        r: build_message(email, sender=smtp.sender, recipient=r,
                         message_id=make_message_id(report_id, period_key, kind, r))
        for r in targets
    }
    subject = clean_header_text(email.subject)
    key = (report_id, period_key, kind)
    refused: list[str] = []

    with connect(url, autocommit=True) as conn:
        ensure_outbox(conn)
        # Held until the connection closes (also on a crash), across the commits below.
        conn.execute("select pg_advisory_lock(hashtextextended(%s, 0))", ("reports.outbox|" + "|".join(key),))
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(
                """insert into reports.outbox (report_id, period_key, kind, recipient, message_id, subject,
                                               archive_path)
                   values (%s, %s, %s, %s, %s, %s, %s)
                   on conflict (report_id, period_key, kind, recipient) do update
                       set message_id = excluded.message_id, subject = excluded.subject,
                           archive_path = excluded.archive_path, updated_at = now()
                       where outbox.status <> 'sent'""",
                [(*key, r, messages[r]["Message-ID"], subject, archive_path) for r in targets],
            )
        sent_before = {
            row[0] for row in conn.execute(
                """select recipient from reports.outbox
                   where report_id = %s and period_key = %s and kind = %s and recipient = any(%s)
                     and status = 'sent'""",
                (*key, targets)).fetchall()
        }
        result.already_sent = [r for r in targets if r in sent_before]
        to_send = [(r, messages[r]) for r in targets if r not in sent_before]
        if not to_send:
            log.info("%s %s (%s): all %d recipients already had it", report_id, period_key, kind, len(targets))
            return result

        def record(outcome: SendOutcome) -> None:
            where = (*key, outcome.recipient)
            if outcome.accepted:
                conn.execute(
                    """update reports.outbox set status = 'sent', sent_at = now(), updated_at = now(),
                              message_id = %s, attempts = attempts + 1, last_error = null
                       where report_id = %s and period_key = %s and kind = %s and recipient = %s""",
                    (outcome.message_id, *where))
                result.sent.append(outcome.recipient)
                log.info("%s %s (%s): sent to %s %s", report_id, period_key, kind, outcome.recipient,
                         outcome.message_id)
                return
            conn.execute(
                """update reports.outbox
                   set status = case when %s then 'failed' else 'pending' end,
                       attempts = attempts + %s, last_error = %s, updated_at = now()
                   where report_id = %s and period_key = %s and kind = %s and recipient = %s""",
                (outcome.permanent, int(outcome.attempted), outcome.error, *where))
            result.failed[outcome.recipient] = outcome.error or "not accepted"
            if outcome.permanent:
                refused.append(outcome.recipient)
            log.warning("%s %s (%s): %s not reached: %s", report_id, period_key, kind, outcome.recipient,
                        outcome.error)

        try:
            send_messages(smtp, to_send, on_outcome=record, context=context)
        except SmtpSessionError as exc:
            conn.execute(
                """update reports.outbox set attempts = attempts + 1, last_error = %s, updated_at = now()
                   where report_id = %s and period_key = %s and kind = %s and recipient = any(%s)""",
                (exc.reason, *key, [r for r, _ in to_send]))
            result.failed.update({r: exc.reason for r, _ in to_send})
            raise DeliveryError(
                f"{report_id} {period_key} ({kind}) via SMTP {smtp.host}:{smtp.port}: {exc.reason}; "
                f"{len(to_send)} of {len(targets)} recipient(s) still pending in reports.outbox", result,
            ) from exc

    if result.failed:
        first = next(iter(result.failed.items()))
        raise DeliveryError(
            f"{report_id} {period_key} ({kind}) via SMTP {smtp.host}:{smtp.port}: {first[0]}: {first[1]}; "
            f"{len(result.failed) - len(refused)} of {len(targets)} recipient(s) still pending, "
            f"{len(refused)} refused permanently (status failed), {len(result.sent)} sent now", result,
        )
    return result


def outbox_status(report_id: str, period_key: str | None = None, url: str | None = None) -> list[dict[str, Any]]:
    """The outbox rows of one report (optionally one period), for the CLI; [] before any delivery."""
    from psycopg.rows import dict_row

    with connect(url) as conn:
        if not relation_exists(conn, "reports.outbox"):
            return []
        with conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(
                """select report_id, period_key, kind, recipient, status, message_id, subject, archive_path,
                          attempts, last_error, created_at, updated_at, sent_at
                   from reports.outbox
                   where (%(report)s::text is null or report_id = %(report)s)
                     and (%(period)s::text is null or period_key = %(period)s)
                   order by report_id, period_key, kind, recipient""",
                {"report": report_id, "period": period_key}).fetchall()
