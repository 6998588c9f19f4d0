"""Email over SMTP, handed over after the text and before the final "."."""

from __future__ import annotations

import email.policy
import re
import smtplib
from email.message import EmailMessage

from journey.config import DeliverySettings
from journey.delivery.transport import SEND_TIMEOUT_S, HandOver, Message, NotConfigured, Refused, Unanswered


def message_id(key: str) -> str:
    """The outbox key as an email Message-ID, so a receiving system can spot a resend.

    `/` becomes `.` and `@` (a milestone: `acme/enablement/2026-03-02@0.5`) becomes `+`:
    the left part of a Message-ID may not contain `@`.
    """
    return f"<{key.replace('/', '.').replace('@', '+')}@journey>"


class SmtpMailer:
    """Sends through the SMTP server of `settings` (no host: email is not configured)."""

    def __init__(self, settings: DeliverySettings) -> None:
        self.settings = settings

    def send(self, message: Message, hand_over: HandOver) -> None:
        settings = self.settings
        if not settings.smtp_host:
            raise NotConfigured("email is not configured (set JOURNEY_SMTP_HOST)")
        recipient = message.recipient
        if "@" not in recipient:
            recipient = f"{recipient}@{settings.email_domain}"
        mail = EmailMessage()
        mail["From"] = settings.email_from
        mail["To"] = recipient
        mail["Subject"] = message.subject
        mail["Message-ID"] = message_id(message.key)
        # Quoted-printable keeps the text 7-bit, so no server extension is needed to carry it.
        mail.set_content(message.body, cte="quoted-printable")
        mail_once(settings, settings.smtp_host, mail, recipient, hand_over=hand_over)


def mail_once(settings: DeliverySettings, host: str, message: EmailMessage, recipient: str, *, hand_over: HandOver) -> None:
    """Send `message` over SMTP, handing over after the text and before the final "."."""
    text = message.as_bytes(policy=email.policy.SMTP)
    text = re.sub(rb"(?m)^\.", b"..", text)  # dot-stuffing (RFC 5321 4.5.2)
    if not text.endswith(b"\r\n"):
        text += b"\r\n"
    smtp = smtplib.SMTP(host, settings.smtp_port, timeout=SEND_TIMEOUT_S)
    finished = False
    try:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user and settings.smtp_password:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.ehlo_or_helo_if_needed()
        _expect(smtp.mail(settings.email_from), (250,), "MAIL FROM")
        _expect(smtp.rcpt(recipient), (250, 251), "RCPT TO")
        _expect(smtp.docmd("DATA"), (354,), "DATA")
        smtp.send(text)
        hand_over()
        try:
            smtp.send(b".\r\n")
            code, answer = smtp.getreply()
        except (OSError, smtplib.SMTPServerDisconnected) as err:
            raise Unanswered(f"{type(err).__name__}: {err}") from err
        _expect((code, answer), (250,), "the message")
        finished = True
    finally:
        if finished:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
        else:
            # Closing without the final "." (never QUIT, which would become message text)
            # makes the server drop the unfinished message.
            smtp.close()


def _expect(reply: tuple[int, bytes], codes: tuple[int, ...], step: str) -> None:
    code, answer = reply
    if code not in codes:
        raise Refused(f"SMTP server refused {step}: {code} {answer.decode(errors='replace')}")
