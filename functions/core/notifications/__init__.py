"""Notifications: an outbox keyed by the event that caused each message, email
templates in Jinja2, SMS templates with their DLT ids, a sender that hands each
message to SES or SNS once, and SES delivery events (delivered, bounced,
complained) with the suppression list they feed. docs/notifications.md."""
