"""E-mail delivery of the stakeholder reports, in four parts a reader can take one at a time:

* :mod:`.settings`: the ``cx_smtp`` connection, checked (``SmtpSettings``);
* :mod:`.message`: addresses, header text, Message-IDs and MIME (``Email``, ``build_message``);
* :mod:`.smtp`: one session over verified TLS (``smtp_session``, ``send_messages``);
* :mod:`.outbox`: ``reports.outbox`` and :func:`deliver`, which ties them together.

The names below are the package's public API; callers import them from here.
"""

from cx_warehouse.reports.delivery.message import (
    Attachment,
    Email,
    InlineImage,
    build_message,
    check_address,
    clean_header_text,
    make_message_id,
)
from cx_warehouse.reports.delivery.outbox import (
    KINDS,
    DeliveryError,
    DeliveryResult,
    deliver,
    ensure_outbox,
    outbox_status,
)
from cx_warehouse.reports.delivery.settings import CONN_ID, SmtpConfigError, SmtpSettings
from cx_warehouse.reports.delivery.smtp import SendOutcome, SmtpSessionError, send_messages, smtp_session, tls_context

__all__ = [
    "CONN_ID", "KINDS", "Attachment", "DeliveryError", "DeliveryResult", "Email", "InlineImage", "SendOutcome",
    "SmtpConfigError", "SmtpSessionError", "SmtpSettings", "build_message", "check_address", "clean_header_text",
    "deliver", "ensure_outbox", "make_message_id", "outbox_status", "send_messages", "smtp_session", "tls_context",
]
