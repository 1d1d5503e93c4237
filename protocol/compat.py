# The few names MicroPython has that CPython lacks, with CPython fallbacks.
try:
    # The ESP32 stub declares const(expr, /); the fallback below cannot use "/".
    from micropython import const  # noqa: F401  # pyright: ignore[reportAssignmentType]
except ImportError:

    def const(value):
        return value
