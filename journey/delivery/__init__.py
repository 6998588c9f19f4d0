"""Delivering automated touches: Slack and SMTP behind one `Transport` interface, and the
outbox sender that hands each row over exactly once (`journey.delivery.outbox`)."""
