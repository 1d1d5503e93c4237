"""User-facing errors: each carries a one-line message saying what to do.

The CLI turns them into output in one place (hostd/cli/__init__.py); nothing else
prints them. `exit_code` follows click: 1 for a failed action, 2 for a bad
argument or setting.
"""


class UserError(Exception):
    exit_code = 1


class HomeMissing(UserError):
    """No home was given, or it was never initialised."""


class HomeExists(UserError):
    """`hostd init` on a home that already has a config."""


class ConfigError(UserError):
    """hostd.toml names an unknown key or holds a bad value."""

    exit_code = 2


class BadBrokerUrl(UserError):
    exit_code = 2


class PortInUse(UserError):
    """A port hostd must listen on is taken by another program."""


class BrokerFailed(UserError):
    """The broker could not be started."""
