# The few names MicroPython has that CPython lacks, with CPython fallbacks.
try:
    from micropython import const  # noqa: F401
except ImportError:

    def const(value):
        return value
