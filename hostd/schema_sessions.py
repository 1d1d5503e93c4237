"""Tables of sessions, staff, rendering, rate-later and default ratings, added after hostd/schema.py's core ones.

A new change is a new function at the end; never edit one that has shipped.
"""
from sqlite_utils import Migrations

MIGRATIONS = Migrations("hostd.sessions")
