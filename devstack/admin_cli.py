"""Bootstrap administrators: `make create-admin EMAIL=... NAME=... MOBILE=...`.

    python -m devstack.admin_cli create-admin --email a@discom.in --name "A Admin" \
        --mobile +919876543210

The first admin cannot be invited by an admin, so this command does what an
invitation does: it writes an admin account waiting for the same email and
mobile confirmation as everyone else and emails the confirmation link. The
person opens the link (the portal's verify-email page), enters the SMS code,
and is an active admin. Nothing here skips a check.

Where it writes is the usual environment: in the ``local`` stage (the default)
it talks to the running `make run` stack at AWS_ENDPOINT_URL (default
http://127.0.0.1:5000; read the email with `make outbox`); with APP_STAGE=dev
or prod and no AWS_ENDPOINT_URL it talks to AWS with the usual credentials
and RESOURCE_PREFIX.
"""

from __future__ import annotations

import argparse
import os
import sys

LOCAL_DEFAULTS = {
    "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
    "AWS_DEFAULT_REGION": "ap-south-1",
    # The emulator accepts any credentials; these are placeholders, not secrets.
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
}


def configure_environment() -> None:
    if os.environ.get("APP_STAGE", "local") == "local":
        for key, value in LOCAL_DEFAULTS.items():
            os.environ.setdefault(key, value)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devstack.admin_cli",
                                     description="Bootstrap administrator accounts.")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-admin", help="invite an administrator")
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--mobile", required=True, help="+91 followed by 10 digits")
    return parser.parse_args(argv)


def create_admin(email: str, name: str, mobile: str) -> int:
    # Imported only now: project modules read the environment when imported.
    from pydantic import TypeAdapter, ValidationError

    from functions.api.admin_users import InvitationBody
    from functions.core.accounts.signup import NewAccount, invite_admin
    from functions.core.errors import DomainError
    from functions.core.settings import get_settings

    try:
        body = TypeAdapter(InvitationBody).validate_python(
            {"email": email, "name": name, "mobile": mobile})
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            print(f"error: {'.'.join(map(str, error['loc']))}: {error['msg']}", file=sys.stderr)
        return 2
    try:
        user = invite_admin(NewAccount(body.name, body.email, body.mobile),
                            invited_by="bootstrap")
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    settings = get_settings()
    print(f"Administrator {user.email} ({user.user_id}) created in stage {settings.stage!r}, "
          "waiting for email and mobile confirmation.")
    print("A confirmation link was emailed; opening it sends an SMS code to the mobile.")
    if settings.is_local:
        print("Locally the email is in the developer outbox: make outbox")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_environment()
    if args.command == "create-admin":
        return create_admin(args.email, args.name, args.mobile)
    return 2


if __name__ == "__main__":
    sys.exit(main())
