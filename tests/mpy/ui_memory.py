# Heap used by the UI on a 100 KB heap.
#   micropython ui_memory.py FLASH.img SESSION.json|SESSION.wire [fit]
# SESSION is a session message with realistic parts (item 300x48, staff
# 200x24, QR 120x120): its decoded field list as JSON, or the signed wire
# message to go through protocol.messages.decode first. Prints one JSON line
# of heap byte counts.
import gc
import json
import sys

gc.collect()
start = gc.mem_alloc()

from blockdev import mount  # noqa: E402
from spi_recorder import DummyPin  # noqa: E402

from firmware.clock import Clock  # noqa: E402
from firmware.display import Display  # noqa: E402
from firmware.evaluator import Evaluator  # noqa: E402
from firmware.outbox import Outbox  # noqa: E402
from firmware.panel import ST7789  # noqa: E402
from protocol import messages  # noqa: E402

KEY = b"0123456789abcdef0123456789abcdef"
gc.collect()
imported = gc.mem_alloc()


class Config:
    device_id = "dev-w01"
    hall = "hall-1"
    window = "W01"
    key = KEY
    response_interval_ms = 3000
    session_ttl_s = 120
    thanks_ms = 3000


class NullSPI:
    """The bus: costs nothing, so only the driver's and display's heap counts."""

    def write(self, buf):
        pass


ticks = [0]
mount(sys.argv[1], "/flash", block_count=64)
gc.collect()
mounted = gc.mem_alloc()
dc = DummyPin()
panel = ST7789(NullSPI(), dc, sleep_ms=lambda ms: None)
display = Display(panel)
outbox = Outbox("/flash/outbox")
evaluator = Evaluator(Config(), display, outbox, Clock(lambda: ticks[0]), lambda: ticks[0])
gc.collect()
constructed = gc.mem_alloc()

with open(sys.argv[2], "rb") as f:
    wire = f.read()
wire_bytes = len(wire)
gc.collect()
received = gc.mem_alloc()
if sys.argv[2].endswith(".wire"):
    fields = messages.decode(wire, (KEY,), "dev-w01", messages.MAX_HOST_MESSAGE, False)
else:
    fields = json.loads(wire)  # the field list as decode() returns it
del wire
evaluator.on_session(fields)
del fields  # the evaluator keeps what it needs
gc.collect()
holding = gc.mem_alloc()
# Drawing, with the session in memory and the collector off: the sum of all
# allocations bounds the drawing's peak from above. With "fit" as the third
# argument the collector stays on: does it all fit in this heap?
draw_alloc = None
if sys.argv[3:] != ["fit"]:
    gc.disable()
    before_draw = gc.mem_alloc()
    display.redraw()
    draw_alloc = gc.mem_alloc() - before_draw
    gc.enable()
    gc.collect()
print(
    json.dumps(
        {
            "wire_bytes": wire_bytes,
            "imports": imported - start,
            "constructed": constructed - start,
            "constructed_without_fs": constructed - start - (mounted - imported),
            "holding_session": holding - start,
            "session_fields": holding - received + wire_bytes,
            "draw_alloc": draw_alloc,
            "draw_peak_upper_bound": draw_alloc and holding - start + draw_alloc,
            # The same without the modules' own code and constants (in flash when frozen).
            "data_peak_upper_bound": draw_alloc and holding - imported + draw_alloc,
            "screen": display.screen,
            "missing": display.missing,
        }
    )
)
