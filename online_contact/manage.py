"""Command line: `python -m online_contact.manage migrate | seed | create-admin EMAIL NAME |
deactivate EMAIL | retention`.

create-admin reads the password from OC_ADMIN_PASSWORD or asks for it (never from argv, which
other users of the machine can see).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from alembic import command
from alembic.config import Config

from online_contact.config import PROJECT_ROOT, database_url


def migrate(url: str | None = None) -> None:
    """Upgrade the database to the newest Alembic revision."""
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    cfg.attributes["url"] = url or database_url()
    cfg.attributes["skip_logging"] = True
    command.upgrade(cfg, "head")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="online_contact.manage")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("migrate", help="apply Alembic migrations")
    sub.add_parser(
        "seed",
        help="create the demo workspace when the database is empty: on the default SQLite file, or with OC_DEMO=1",
    )
    admin = sub.add_parser("create-admin", help="create an admin account")
    admin.add_argument("email")
    admin.add_argument("name")
    off = sub.add_parser(
        "deactivate",
        help="deactivate an account (e.g. the demo accounts): it can no longer log in; the running server signs its tabs out within a second",
    )
    off.add_argument("email")
    sub.add_parser("retention", help="delete or anonymize now what is past its retention (설정 › 개인정보); the server does it hourly")
    args = parser.parse_args(argv)

    if args.cmd == "migrate":
        migrate()
        print(f"Database is up to date: {database_url().split('@')[-1]}")
        return 0
    if args.cmd == "seed":
        from online_contact.services.seed import demo_wanted, seed_demo

        if not demo_wanted():
            print("No demo workspace: DATABASE_URL names a database of its own (OC_DEMO=1 creates it there) or OC_DEMO=0.")
            return 0
        print(seed_demo())
        return 0
    if args.cmd == "create-admin":
        from online_contact.models.agent import ROLE_ADMIN
        from online_contact.services.auth import create_agent
        from online_contact.services.db import session_scope
        from online_contact.services.errors import ServiceError

        password = os.environ.get("OC_ADMIN_PASSWORD") or getpass.getpass("Password: ")
        try:
            with session_scope() as session:
                create_agent(session, args.email, args.name, password, role=ROLE_ADMIN)
        except ServiceError as exc:
            print(f"error: {exc.code} {exc.params or ''}", file=sys.stderr)
            return 2
        print(f"Admin {args.email} created.")
        return 0
    if args.cmd == "deactivate":
        from sqlmodel import select

        from online_contact.models import Agent
        from online_contact.services.agents import deactivate
        from online_contact.services.db import session_scope

        with session_scope() as session:
            agent = session.exec(select(Agent).where(Agent.email == args.email.strip().lower())).first()
            if agent is None:
                print(f"error: no account {args.email}", file=sys.stderr)
                return 2
            change = deactivate(session, agent)
        print(f"{args.email} deactivated; {len(change.moved)} unopened chat(s) handed back to the queue.")
        return 0
    if args.cmd == "retention":
        from online_contact.services.db import engine
        from online_contact.services.retention import run_once

        counts = run_once(engine())
        print("retention: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
