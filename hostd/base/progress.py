"""A progress line for long work at the terminal: bytes, percentage, time left.

On a terminal the line redraws itself in place; elsewhere (a log, a pipe, a
test) it prints one line at each tenth of the way, so a log shows progress
without thousands of lines. The time left is the rate so far applied to what
is left; the clock is injectable so tests see fixed figures.

    bar = Bar("write", total=1_638_464, say=click.echo)
    bar.update(4096)      # bytes done so far
    bar.done()
"""

import sys
import time

WIDTH = 24
STEPS = 10  # lines printed when not on a terminal


def human_bytes(n):
    """1638464 -> '1.6 MB'; 4096 -> '4.0 KB'; 12 -> '12 B' (1024-based, as flash sizes are)."""
    if n < 1024:
        return "%d B" % n
    if n < 1024 * 1024:
        return "%.1f KB" % (n / 1024)
    return "%.1f MB" % (n / (1024 * 1024))


def human_seconds(s):
    s = int(round(s))
    if s < 60:
        return "%d s" % s
    return "%d min %02d s" % (s // 60, s % 60)


class Bar:
    def __init__(self, label, total, say=None, tty=None, clock=time.monotonic, stream=None):
        self.label = label
        self.total = max(int(total), 1)
        self.clock = clock
        self.started = clock()
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.say = say or (lambda text: print(text, file=self.stream, flush=True))
        self.done_bytes = 0
        self.shown_step = -1
        self.finished = False

    def line(self):
        """The current line, e.g. 'write  [######------------------]  25%  400.0 KB / 1.6 MB  6 s left'."""
        frac = min(self.done_bytes / self.total, 1.0)
        filled = int(frac * WIDTH)
        elapsed = self.clock() - self.started
        if self.finished:
            tail = "done in %s" % human_seconds(elapsed)
        elif self.done_bytes and elapsed > 0:
            tail = "%s left" % human_seconds(elapsed * (self.total - self.done_bytes) / self.done_bytes)
        else:
            tail = "starting"
        return "%-6s [%s%s] %3d%%  %s / %s  %s" % (
            self.label,
            "#" * filled,
            "-" * (WIDTH - filled),
            int(frac * 100),
            human_bytes(min(self.done_bytes, self.total)),
            human_bytes(self.total),
            tail,
        )

    def update(self, done_bytes):
        """Show that `done_bytes` of the total are done (a count, not an increment)."""
        self.done_bytes = max(0, min(int(done_bytes), self.total))
        if self.tty:
            self.stream.write("\r" + self.line())
            self.stream.flush()
            return
        step = self.done_bytes * STEPS // self.total
        if step > self.shown_step and step < STEPS:
            self.shown_step = step
            self.say(self.line())

    def done(self):
        """Mark the whole total done and print the last line."""
        self.done_bytes = self.total
        self.finished = True
        if self.tty:
            self.stream.write("\r" + self.line() + "\n")
            self.stream.flush()
        else:
            self.say(self.line())
