# Wire protocol shared by the device firmware (MicroPython) and hostd (CPython).
# See protocol/README.md for the versioned spec.
