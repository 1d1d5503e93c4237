# The serial simulator: the real firmware on the MicroPython unix port with a virtual board.
