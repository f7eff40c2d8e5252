"""`make outbox`: the emails and SMS the local emulator captured instead of sending.

    python -m devstack.outbox [--to ADDRESS_OR_NUMBER] [--last N] [--json]

Reads AWS_ENDPOINT_URL (default http://127.0.0.1:5000, the `make run`
emulator). Links and codes are printed in full: this is the developer's own
laptop, and finishing a sign-up by hand is the point.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
from typing import Any

from devstack.emulator import captured_messages

DEFAULT_ENDPOINT = "http://127.0.0.1:5000"


def render(messages: dict[str, list[dict[str, Any]]]) -> str:
    lines: list[str] = []
    lines.append(f"== {len(messages['emails'])} email(s) ==")
    for number, email in enumerate(messages["emails"], 1):
        lines += [f"-- email {number} --", f"To:      {', '.join(email['to'])}",
                  f"From:    {email['source']}", f"Subject: {email['subject']}", "",
                  str(email["body"]).rstrip(), ""]
    lines.append(f"== {len(messages['sms'])} SMS ==")
    for number, sms in enumerate(messages["sms"], 1):
        lines.append(f"-- sms {number} to {sms['to']}: {sms['message']}")
        lines.append(f"   {dlt_line(str(sms['message']))}")
    return "\n".join(lines)


def dlt_line(text: str) -> str:
    """The DLT ids the SMS went out with (entity, sender header, template), found as an
    operator would: by matching its text against the registered templates."""
    from functions.core.notifications.templates import registration_of_text

    found = registration_of_text(text)
    if found is None:
        return "DLT: matches no registered template (operators would drop it)"
    name, lang, dlt = found
    return (f"DLT: template {dlt.template_id} ({name}, {lang}, {dlt.category}), "
            f"entity {dlt.entity_id}, header {dlt.header}")


def select(messages: dict[str, list[dict[str, Any]]], to: str | None, last: int | None
           ) -> dict[str, list[dict[str, Any]]]:
    emails, sms = messages["emails"], messages["sms"]
    if to:
        emails = [m for m in emails if any(to.lower() == a.lower() for a in m["to"])]
        sms = [m for m in sms if m["to"] == to]
    if last:
        emails, sms = emails[-last:], sms[-last:]
    return {"emails": emails, "sms": sms}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.outbox",
                                     description="Emails and SMS the emulator captured.")
    parser.add_argument("--to", help="only messages to this email address or mobile number")
    parser.add_argument("--last", type=int, help="only the newest N of each kind")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or DEFAULT_ENDPOINT
    try:
        messages = select(captured_messages(endpoint), args.to, args.last)
    except (urllib.error.URLError, OSError) as exc:
        print(f"cannot read the outbox at {endpoint}: {exc}. Is `make run` running?",
              file=sys.stderr)
        return 1
    print(json.dumps(messages, indent=2) if args.json else render(messages))
    return 0


if __name__ == "__main__":
    sys.exit(main())
