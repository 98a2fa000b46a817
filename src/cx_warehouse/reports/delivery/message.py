"""Building the messages: address checks, header text that cannot inject, deterministic Message-IDs, MIME.

The SMTP envelope recipient is always the one address we were given, never read back from the
headers, so nothing in a header (which may carry customer text) can add one.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy as email_policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

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


