"""`hostd user add|list|passwd`: accounts for the hall pages (hostd/web/auth.py).

hostd/cli/root.py calls register() with the click group, so these commands share
its one error handler (one line, never a traceback).
"""

import getpass
import sys
import time

import click

from hostd.base.errors import UserError


class BadUserArgument(UserError):
    exit_code = 2


def _read_password(prompt_twice=True):
    """From stdin when it is not a terminal (scripts), else a hidden prompt."""
    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise BadUserArgument(
                "no password on stdin: pipe it in, e.g. `echo PASSWORD | hostd user add ...`"
            )
        return line
    return click.prompt("Password", hide_input=True, confirmation_prompt=prompt_twice)


def register(cli, home_of, db_of):
    """Add the `user` group to the click group `cli`."""
    # lazy: the web side (FastAPI, argon2) loads only for hostd user
    from hostd.web import auth

    @cli.group()
    def user():
        """Accounts of the hall web pages: admin, supervisor, staff.

        Example: hostd user add zhang --role staff --staff-id s01
        """

    @user.command("add")
    @click.argument("name")
    @click.option(
        "--role",
        required=True,
        type=click.Choice(auth.ROLES),
        help="admin (devices, config), supervisor (监督考核), staff (own results only).",
    )
    @click.option("--staff-id", help="For role staff: the staff member (staff.staff_id) this login is.")
    @click.pass_context
    def user_add(ctx, name, role, staff_id):
        """Add a user; the password is read from a hidden prompt or stdin.

        Example: hostd user add wang --role supervisor   (or pipe the password in on stdin)
        """
        db = db_of(home_of(ctx))
        password = _read_password()
        if staff_id and not db.execute("SELECT 1 FROM staff WHERE staff_id = ?", [staff_id]).fetchone():
            raise BadUserArgument("no staff member %s: add the staff first (or check the id)" % staff_id)
        try:
            with db.conn:
                auth.add_user(db, name, password, role, staff_id, now=time.time())
        except auth.BadUser as exc:
            raise BadUserArgument(str(exc))
        click.echo("added %s (%s)" % (name, role))

    @user.command("list")
    @click.pass_context
    def user_list(ctx):
        """List users with role, linked staff and state.

        Example: hostd user list
        """
        db = db_of(home_of(ctx))
        for u in auth.list_users(db):
            click.echo(
                "%-20s %-10s %-12s %s"
                % (
                    u["username"],
                    u["role"],
                    u["staff_id"] or "-",
                    "disabled" if u["disabled_at"] else "active",
                )
            )

    @user.command("passwd")
    @click.argument("name")
    @click.pass_context
    def user_passwd(ctx, name):
        """Set a new password (from a prompt or stdin); logs the user out everywhere.

        Example: hostd user passwd wang
        """
        db = db_of(home_of(ctx))
        if auth.get_user(db, name) is None:
            raise BadUserArgument("no user %s: see `hostd user list`" % name)
        password = _read_password()
        try:
            with db.conn:
                auth.set_password(db, name, password)
        except auth.BadUser as exc:
            raise BadUserArgument(str(exc))
        click.echo("password of %s changed" % name)

    def _known(db, name):
        if auth.get_user(db, name) is None:
            raise BadUserArgument("no user %s: see `hostd user list`" % name)

    @user.command("disable")
    @click.argument("name")
    @click.pass_context
    def user_disable(ctx, name):
        """Stop a user logging in; their open sessions end at once.

        Example: hostd user disable wang
        """
        db = db_of(home_of(ctx))
        _known(db, name)
        with db.conn:
            auth.set_disabled(db, name, True, now=time.time())
        click.echo("disabled %s (logged out everywhere)" % name)

    @user.command("enable")
    @click.argument("name")
    @click.pass_context
    def user_enable(ctx, name):
        """Let a disabled user log in again.

        Example: hostd user enable wang
        """
        db = db_of(home_of(ctx))
        _known(db, name)
        with db.conn:
            auth.set_disabled(db, name, False)
        click.echo("enabled %s" % name)

    @user.command("remove")
    @click.argument("name")
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    @click.pass_context
    def user_remove(ctx, name, yes):
        """Remove a user for good (their actions stay in the trails, by name).

        To stop someone logging in for a while, use `hostd user disable` instead.

        Example: hostd user remove wang --yes
        """
        db = db_of(home_of(ctx))
        _known(db, name)
        if not yes and sys.stdin.isatty():
            click.confirm("remove %s for good?" % name, abort=True)
        try:
            with db.conn:
                auth.remove_user(db, name)
        except auth.BadUser as exc:
            raise BadUserArgument(str(exc))
        click.echo("removed %s (logged out everywhere)" % name)

    @user.command("unlock")
    @click.argument("name", required=False)
    @click.option("--address", help="Unlock an address (IP) instead, after too many failures from it.")
    @click.pass_context
    def user_unlock(ctx, name, address):
        """Lift a login lockout after too many wrong passwords (logged).

        Example: hostd user unlock wang    (or: hostd user unlock --address 192.168.1.20)
        """
        # lazy: the login log loads only for hostd user
        from hostd.web import logins

        db = db_of(home_of(ctx))
        actor = "cli:%s" % getpass.getuser()
        if not name and not address:
            raise BadUserArgument("give a user name or --address: e.g. `hostd user unlock wang`")
        with db.conn:
            if name:
                _known(db, name)
                logins.unlock(db, name, actor, time.time())
            if address:
                logins.unlock_address(db, address, actor, time.time())
        click.echo("unlocked %s" % " and ".join(x for x in (name, address) if x))
