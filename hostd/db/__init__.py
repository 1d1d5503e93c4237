"""The database: one SQLite file, one writer thread (an engine, no rules).

store.py      Store: the single writer with group commit; read connections
schema/       the tables, as sqlite-utils Migrations, one set per area
upkeep.py     planner statistics (ANALYZE), kept fresh by `hostd run`

Imports: hostd.base only. The write tasks come from the rooms above it.
"""
