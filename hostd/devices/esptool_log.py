"""esptool's output, taken in hand: its lines kept (for an error's context and
for --verbose), its progress turned into hostd's own progress line.

esptool 5 logs through esp-pylib's logger singleton; the documented way to
redirect it is a subclass of `esp_pylib.logger.EspLogBase` installed with
`EspLog.set_logger`. `captured()` installs one for the length of a `with`
block and puts the previous logger back afterwards.
"""

import contextlib
from collections import deque

from esp_pylib.logger import EspLog, EspLogBase


def _no_progress(done, total):
    pass


class Captured(EspLogBase):
    """Keeps esptool's last lines; calls `on_progress(done, total)` for its progress bars."""

    def __init__(self, echo=None, keep=40):
        self.lines = deque(maxlen=keep)
        self.echo = echo  # --verbose: every esptool line, as esptool wrote it
        self.on_progress = _no_progress
        self._partial = ""

    def _keep(self, text):
        for line in text.splitlines():
            if line.strip():
                self.lines.append(line.strip())
                if self.echo is not None:
                    self.echo("  esptool: " + line.strip())

    def print(self, *args, **kwargs):
        end = kwargs.get("end", "\n")
        text = self._partial + " ".join(str(a) for a in args)
        if end == "\n":
            self._partial = ""
            self._keep(text)
        else:
            self._partial = text + end

    def err(self, *args, suggestion=None):
        self._keep("error: " + " ".join(str(a) for a in args))

    def warn(self, *args, suggestion=None):
        self._keep("warning: " + " ".join(str(a) for a in args))

    def note(self, *args):
        self._keep("note: " + " ".join(str(a) for a in args))

    def hint(self, *args):
        self._keep(" ".join(str(a) for a in args))

    def debug(self, *args):
        pass

    def set_verbosity(self, mode):
        pass

    def progress_bar(self, cur_iter, total_iters, prefix="", suffix="", bar_length=30):
        self.on_progress(cur_iter, total_iters)

    def last(self):
        """esptool's last line, for an error message."""
        return self.lines[-1] if self.lines else ""


@contextlib.contextmanager
def captured(echo=None):
    previous = EspLog.instance
    log = Captured(echo)
    EspLog.set_logger(log)
    try:
        yield log
    finally:
        EspLog.instance = previous
