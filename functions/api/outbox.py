"""The developer outbox: emails and SMS the local emulator kept instead of
sending, so a person can finish sign-up by hand.

Public on purpose (whoever reaches 127.0.0.1 is the developer), and it exists
only in the ``local`` stage: blueprints.py registers it there and nowhere else.
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from functions.api.http import Access, route
from functions.core.notifications import mailbox
from functions.core.settings import get_settings

bp = Blueprint(__name__)


@route(bp, "/dev/outbox", access=Access.PUBLIC,
       summary="Local only: emails and SMS the emulator captured, newest last")
def outbox() -> dict[str, Any]:
    endpoint = get_settings().aws_endpoint_url or "http://127.0.0.1:5000"
    return mailbox.captured(endpoint)
