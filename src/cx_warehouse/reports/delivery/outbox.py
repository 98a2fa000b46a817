"""Delivering a rendered report: the outbox in ``reports.outbox``, written before any SMTP traffic.

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

import logging
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cx_warehouse.warehouse.connection import connect, relation_exists

if TYPE_CHECKING:
    import psycopg
from cx_warehouse.reports.delivery.message import (
    Email,
    build_message,
    check_address,
    clean_header_text,
    make_message_id,
)
from cx_warehouse.reports.delivery.settings import SmtpSettings
from cx_warehouse.reports.delivery.smtp import SendOutcome, SmtpSessionError, send_messages, tls_context

log = logging.getLogger(__name__)

KINDS = ("report", "delayed", "alert")
"""What a row of the outbox is: the report itself, the notice that it is late, or an alert."""



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


# -- outbox ---------------------------------------------------------------------------------
def ensure_outbox(conn: psycopg.Connection[Any]) -> None:
    """Make sure ``reports.outbox`` exists: it is migrations' own (``0001``), so this migrates
    the warehouse when it is behind (concurrent first runs are serialised there)."""
    from cx_warehouse.warehouse.migrations import ensure_current

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
