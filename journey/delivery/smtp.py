"""Email over SMTP, handed over after the text and before the final "."."""

from __future__ import annotations

import email.policy
import re
import smtplib
from email.message import EmailMessage

from journey.config import DeliverySettings
from journey.delivery.transport import (
    SEND_TIMEOUT_S,
    HandOver,
    Message,
    NotConfigured,
    Refused,
    Rejected,
    Unanswered,
    receiver_said,
)
from journey.domain.text import one_line

# A plain address: one `@`, no spaces, quotes, brackets, commas or control characters.
_ADDRESS_PART = r"[^\s\x00-\x1f\x7f\"<>(),;:@\\\[\]]+"
_PLAIN_ADDRESS = re.compile(f"{_ADDRESS_PART}@{_ADDRESS_PART}")
# What a Message-ID cannot hold (the key may carry a person's handle).
_NOT_IN_MESSAGE_ID = re.compile(r"[\s\x00-\x1f\x7f<>]")


def message_id(key: str) -> str:
    """The outbox key as an email Message-ID, so a receiving system can spot a resend.

    `/` becomes `.` and `@` (a milestone: `acme/enablement/2026-03-02@0.5`) becomes `+`:
    the left part of a Message-ID may not contain `@`; a space, a control character or an
    angle bracket (which would end it, or the header) becomes `-`.
    """
    return f"<{_NOT_IN_MESSAGE_ID.sub('-', key).replace('/', '.').replace('@', '+')}@journey>"


def envelope_address(recipient: str, domain: str) -> str:
    """The one address a message goes to: a handle without `@` gets `@domain`. Anything
    else than a single plain address (line breaks, several addresses, a display name) is
    `Rejected`: it could add recipients or headers, and no retry makes it right."""
    address = recipient if "@" in recipient else f"{recipient}@{domain}"
    if not _PLAIN_ADDRESS.fullmatch(address):
        raise Rejected(f"not a single email address: {receiver_said(recipient)!r}")
    return address


class SmtpMailer:
    """Sends through the SMTP server of `settings` (no host: email is not configured)."""

    def __init__(self, settings: DeliverySettings) -> None:
        self.settings = settings

    def send(self, message: Message, hand_over: HandOver) -> None:
        settings = self.settings
        if not settings.smtp_host:
            raise NotConfigured("email is not configured (set JOURNEY_SMTP_HOST)")
        mail, recipient = email_message(settings, message)
        mail_once(settings, settings.smtp_host, mail, recipient, hand_over=hand_over)


def email_message(settings: DeliverySettings, message: Message) -> tuple[EmailMessage, str]:
    """The email for `message` and the one address it goes to (`Rejected` if the
    recipient is not a single plain address)."""
    recipient = envelope_address(message.recipient, settings.email_domain)
    mail = EmailMessage()
    mail["From"] = settings.email_from
    mail["To"] = recipient
    # The subject is data (account names): one line, so it cannot add a header.
    mail["Subject"] = one_line(message.subject)
    mail["Message-ID"] = message_id(message.key)
    # Quoted-printable keeps the text 7-bit, so no server extension is needed to carry it.
    mail.set_content(message.body, cte="quoted-printable")
    return mail, recipient


def mail_once(settings: DeliverySettings, host: str, message: EmailMessage, recipient: str, *, hand_over: HandOver) -> None:
    """Send `message` over SMTP, handing over after the text and before the final "."."""
    text = message.as_bytes(policy=email.policy.SMTP)
    text = re.sub(rb"(?m)^\.", b"..", text)  # dot-stuffing (RFC 5321 4.5.2)
    if not text.endswith(b"\r\n"):
        text += b"\r\n"
    try:
        smtp = smtplib.SMTP(host, settings.smtp_port, timeout=SEND_TIMEOUT_S)
    except smtplib.SMTPResponseException as err:  # the greeting was a refusal
        raise refusal(err.smtp_code, err.smtp_error, "the connection") from err
    finished = False
    try:
        _greet(smtp, settings)
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


def _greet(smtp: smtplib.SMTP, settings: DeliverySettings) -> None:
    """STARTTLS and login if configured, then EHLO; a refusal classified by its code."""
    step = "EHLO"
    try:
        if settings.smtp_starttls:
            step = "STARTTLS"
            smtp.starttls()
        if settings.smtp_user and settings.smtp_password:
            step = "login"
            smtp.login(settings.smtp_user, settings.smtp_password)
        step = "EHLO"
        smtp.ehlo_or_helo_if_needed()
    except smtplib.SMTPResponseException as err:
        raise refusal(err.smtp_code, err.smtp_error, step) from err
    except smtplib.SMTPNotSupportedError as err:  # no STARTTLS or no AUTH: the settings are wrong
        raise Rejected(f"SMTP server refused {step}: {err}") from err
    except smtplib.SMTPException as err:
        if isinstance(err, smtplib.SMTPServerDisconnected):
            raise
        # No authentication method both sides know: also the settings, not the moment.
        raise Rejected(f"SMTP server refused {step}: {err}") from err


def refusal(code: int, answer: bytes | str, step: str) -> Refused | Rejected:
    """The error for an SMTP refusal: 5xx is permanent (`Rejected`: 535 login refused,
    550 no such mailbox, 554 ...), anything else worth another attempt (`Refused`: 421
    busy, 451 try later, 452 mailbox full)."""
    text = f"SMTP server refused {step}: {code} {receiver_said(answer)}".rstrip()
    return Rejected(text) if 500 <= code < 600 else Refused(text)


def _expect(reply: tuple[int, bytes], codes: tuple[int, ...], step: str) -> None:
    code, answer = reply
    if code not in codes:
        raise refusal(code, answer, step)
