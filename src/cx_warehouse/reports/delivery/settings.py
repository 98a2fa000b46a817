"""Where and how to send: the ``cx_smtp`` Airflow connection, parsed and checked into :class:`SmtpSettings`.

The connection holds the server and the credentials; nothing secret lives in the repository.
Credentials go over plain SMTP only to a loopback host.
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

if TYPE_CHECKING:
    pass
from cx_warehouse.reports.delivery.message import _is_address, _is_control_or_space, check_address

Security = Literal["starttls", "tls", "none"]
SECURITY_MODES: tuple[Security, ...] = ("starttls", "tls", "none")
DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "tls": 465, "none": 25}
CONN_ID = "cx_smtp"
DEFAULT_SENDER = "cx-warehouse@localhost"
"""From address when the connection names none (fine for Mailpit; real relays want ``sender``)."""
EXAMPLE_URI = "smtp://user:password@smtp.example.com:587?security=starttls&sender=cx-reports%40example.com"

class SmtpConfigError(ValueError):
    """The ``cx_smtp`` connection is missing or invalid; the message says how to fix it."""



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


