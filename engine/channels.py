"""Sending the outbox: email over SMTP and JSON webhooks, each delivery leased, retried, recorded.

A delivery is taken with a lease (`engine.leases`), sent outside any transaction, then marked
`sent` together with its `reminder_sent` audit event. A failure waits with exponential backoff
and is tried again; after the last attempt the row stays `failed`, with its error, for
`linkage deliveries --status failed` and `GET /api/v1/deliveries`. When a channel cannot even
be reached in a sweep, its other deliveries of that sweep are deferred without a try, so one dead
mail server costs one timeout, not one per message, and the other channel goes on.

A worker killed between sending and recording sends that message again once its lease has run
out: outside channels get at-least-once, with the delivery id in the email's Message-ID so a
receiving system can tell.
"""
import json
import logging
import os
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass, fields
from email.message import EmailMessage
from email.utils import formatdate

from sqlalchemy import select, update

from engine.errors import Conflict
from engine.leases import (DEFAULT_LEASE_SECONDS, backoff, lease_end, lease_free, lock_case,
                           skip_locked)
from engine.models import Event
from engine.scheduler_models import Delivery

log = logging.getLogger("linkage.channels")
BATCH = 50
RECORD_ATTEMPTS = 5


class ChannelError(Exception):
    """A message was refused or could not be sent; `unreachable` when the channel is down."""

    def __init__(self, message, unreachable=False):
        super().__init__(message)
        self.unreachable = unreachable


@dataclass
class ChannelSettings:
    """Per deployment: where links point, the SMTP server, the webhook, retry policy.

    `from_config` reads a Flask config (keys as below) and falls back to `LINKAGE_<KEY>`
    environment variables, so the worker and the web processes agree.
    """

    base_url: str = "http://127.0.0.1:5000"
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "linkage@localhost"
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_timeout: float = 10.0
    webhook_url: str = ""
    webhook_timeout: float = 10.0
    delivery_max_attempts: int = 5
    delivery_backoff_seconds: int = 60
    lease_seconds: int = DEFAULT_LEASE_SECONDS

    @property
    def email_enabled(self):
        return bool(self.smtp_host)

    @property
    def webhook_enabled(self):
        return bool(self.webhook_url)

    @classmethod
    def from_config(cls, config=None, environ=None):
        config, environ = config or {}, os.environ if environ is None else environ
        values = {}
        for field in fields(cls):
            key = field.name.upper()
            raw = config.get(key)
            if raw is None:
                raw = environ.get(f"LINKAGE_{key}")
            if raw is None or raw == "":
                continue
            values[field.name] = _coerce(field.type, raw, key)
        return cls(**values)


def _coerce(kind, raw, key):
    if kind in (bool, "bool"):
        return raw if isinstance(raw, bool) else str(raw).strip().lower() in ("1", "true", "yes", "on")
    try:
        if kind in (int, "int"):
            return int(raw)
        if kind in (float, "float"):
            return float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"配置 {key} 的值无效: {raw!r}") from None
    return str(raw)


def send_email(settings, delivery):
    message = EmailMessage()
    message["Subject"] = delivery.subject
    message["From"] = settings.smtp_from
    message["To"] = delivery.recipient
    message["Date"] = formatdate(localtime=False)
    domain = settings.smtp_from.rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<linkage-delivery-{delivery.id}@{domain}>"
    message.set_content(delivery.body)
    smtp_class = smtplib.SMTP_SSL if settings.smtp_ssl else smtplib.SMTP
    try:
        with smtp_class(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout) as smtp:
            if settings.smtp_starttls and not settings.smtp_ssl:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            smtp.send_message(message)
    except (smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected) as exc:
        raise ChannelError(f"无法连接邮件服务器 {settings.smtp_host}:{settings.smtp_port}: {exc}",
                           unreachable=True) from exc
    except smtplib.SMTPException as exc:  # refused this message (recipient, size, auth)
        raise ChannelError(f"邮件服务器拒绝: {_smtp_reason(exc)}") from exc
    except OSError as exc:  # refused connection, DNS, timeout
        raise ChannelError(f"无法连接邮件服务器 {settings.smtp_host}:{settings.smtp_port}: {exc}",
                           unreachable=True) from exc


def _smtp_reason(exc):
    """The server's own words (often Chinese on domestic mail systems), decoded."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "；".join(f"{rcpt}: {_smtp_reason(smtplib.SMTPResponseException(*answer))}"
                        for rcpt, answer in exc.recipients.items())
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        return f"{exc.smtp_code} {text}"
    return str(exc)


def send_webhook(settings, delivery):
    """Group-robot style JSON, as work chat tools (WeCom, DingTalk, Feishu) accept."""
    payload = {"msgtype": "text", "text": {"content": delivery.body}}
    request = urllib.request.Request(
        settings.webhook_url, data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json; charset=utf-8"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=settings.webhook_timeout) as response:
            body = response.read(65536)
    except urllib.error.HTTPError as exc:
        raise ChannelError(f"Webhook 返回 HTTP {exc.code}") from exc
    except OSError as exc:  # URLError, refused connection, timeout
        raise ChannelError(f"无法连接 Webhook: {getattr(exc, 'reason', exc)}", unreachable=True) from exc
    try:
        answer = json.loads(body.decode("utf-8")) if body else {}
    except (UnicodeDecodeError, ValueError):
        answer = {}
    code = answer.get("errcode", answer.get("code", 0)) if isinstance(answer, dict) else 0
    if code not in (0, "0", None):
        raise ChannelError(f"Webhook 拒绝: {answer.get('errmsg') or answer.get('msg') or code}")


SENDERS = {"email": send_email, "webhook": send_webhook}


def _claim(engine, settings, now):
    with engine.db.unit_of_work() as session:
        query = (select(Delivery).where(Delivery.status == "pending",
                                        Delivery.next_attempt_at <= now, lease_free(Delivery, now))
                 .order_by(Delivery.next_attempt_at, Delivery.id).limit(BATCH))
        rows = session.scalars(skip_locked(query, session)).all()
        for row in rows:
            row.leased_until = lease_end(now, settings.lease_seconds)
            row.attempts += 1
        return rows


def deliver_due(engine, settings, now, senders=None):
    """Send every delivery due at `now`; return (sent, failed for good) counts."""
    senders = senders or SENDERS
    sent = failed = 0
    while True:
        rows = _claim(engine, settings, now)
        if not rows:
            return sent, failed
        down = {}
        for row in rows:
            error = down.get(row.channel)
            if error is None:
                try:
                    sender = senders.get(row.channel)
                    if sender is None:
                        raise ChannelError(f"未知的通道 {row.channel}")
                    if not getattr(settings, f"{row.channel}_enabled", True):
                        raise ChannelError(f"通道 {row.channel} 未配置")
                    sender(settings, row)
                except ChannelError as exc:
                    error = str(exc)
                    if exc.unreachable:
                        down[row.channel] = f"{error}（本轮不再重试该通道）"
                except Exception as exc:  # noqa: BLE001 - a bad message must not stop the outbox
                    log.exception("delivery %s failed unexpectedly", row.id)
                    error = f"{exc.__class__.__name__}: {exc}"
            outcome = _record(engine, settings, row, now, error)
            sent += outcome == "sent"
            failed += outcome == "failed"


def _record(engine, settings, claimed, now, error):
    """Record the outcome; a busy case (its audit chain moving) is waited for, then retried."""
    for attempt in range(RECORD_ATTEMPTS):
        try:
            return _record_once(engine, settings, claimed, now, error)
        except Conflict:
            if attempt + 1 == RECORD_ATTEMPTS:
                raise


def _record_once(engine, settings, claimed, now, error):
    with engine.db.unit_of_work() as session:
        if claimed.case_id and error is None:
            # The event joins the case's audit chain: hold the case while it does.
            lock_case(session, claimed.case_id, wait=True)
        outcome, values = "sent", {"leased_until": None}
        if error is None:
            values.update(status="sent", sent_at=now, last_error=None)
        elif claimed.attempts >= settings.delivery_max_attempts:
            outcome = "failed"
            values.update(status="failed", last_error=error[:2000])
        else:
            outcome = "retry"
            values.update(last_error=error[:2000], next_attempt_at=now + backoff(
                settings.delivery_backoff_seconds, claimed.attempts))
        changed = session.execute(update(Delivery).where(
            Delivery.id == claimed.id, Delivery.status == "pending",
            Delivery.attempts == claimed.attempts).values(**values))
        if changed.rowcount != 1:
            return "lost"  # our lease ran out and another worker took the row over
        if outcome == "sent" and claimed.case_id:
            session.add(Event(case_id=claimed.case_id, at=now, actor="scheduler",
                              kind="reminder_sent", element=claimed.element,
                              detail={**claimed.detail, "channel": claimed.channel,
                                      "recipient": claimed.recipient}))
        elif outcome == "failed":
            log.warning("delivery %s (%s to %s) failed for good: %s", claimed.id, claimed.channel,
                        claimed.recipient, error)
        return outcome
