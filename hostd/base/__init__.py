"""The ground floor: what every other room may use, and which uses none of them.

errors.py     user-facing errors: one line saying what to do
clock.py      the wall clock the rules read (a test can set it)
config.py     the hostd.toml schema, checked apart from the code that uses it
home.py       the home folder: every piece of state lives under it
broker_url.py an MQTT broker URL, as hostd.toml and `--broker` give it
periodic.py   a job `hostd run` repeats in a thread of its own
context.py    what the web app, the schedulers and the CLI share while running

Imports: the standard library, third-party libraries and `protocol` only.
"""
