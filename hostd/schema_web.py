"""Tables of web users, login sessions and the evaluator-data access log, added after hostd/schema.py's core ones.

A new change is a new function at the end; never edit one that has shipped.
"""
from sqlite_utils import Migrations

MIGRATIONS = Migrations("hostd.web")
