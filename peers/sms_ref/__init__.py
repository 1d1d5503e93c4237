"""A reference SMS platform: a test peer for hostd's SMS reminders, not part of
the product. gateway.py has the rules it enforces (the shape and limits of
the common Chinese SMS APIs), server.py the HTTP side."""
