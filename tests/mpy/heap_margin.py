# The heap a test program leaves free at its tightest point.
#
# A program that runs the firmware on the 100 KB heap calls note() where its
# heap is fullest (after each step) and report() at the end; the host
# (tests/conftest.py run_micropython) reads the line and fails the test with
# the figure when the margin is under its floor, before the heap's edge shows
# up as a MemoryError somewhere deep in the harness.
import gc

_low = [-1]


def note():
    """Count the live heap here (after a collection: the garbage is not
    the program's); keep the smallest free figure seen."""
    gc.collect()
    free = gc.mem_free()
    if _low[0] < 0 or free < _low[0]:
        _low[0] = free


def report():
    note()
    print("heap-margin:", _low[0])
