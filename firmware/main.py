# The device's entry point: the only module that touches `machine` and `network`.
#
# It builds the real pins, SPI display, Wi-Fi and clock for an ESP32 board
# (or the simulator's virtual board, which provides the same two modules)
# and hands them to the logic in firmware/app.py.
import gc

# The receive buffer for host messages (sessions with their bitmaps, up to
# MAX_HOST_MESSAGE bytes, with their topic), taken first, while the heap is
# whole: a 3.3 KB session read into a fresh bytearray later can fail on a
# fragmented heap even with 20 KB free. Reused for every inbound message
# (firmware/link.py).
_RX = bytearray(4096 + 128)  # protocol.wire.MAX_HOST_MESSAGE + firmware.mqtt_packet.TOPIC_ROOM
# The send buffer, for the same reason: a rating (protocol.wire.MAX_DEVICE_MESSAGE)
# and its MQTT header, or a status message and a few small packets.
_TX = bytearray(1024 + 128)

import time  # noqa: E402

import machine  # noqa: E402


def _load_config():
    # The schema and its checks are needed once, at boot: load, then give
    # the module's heap back (a few KB of a 100 KB heap).
    import sys

    import firmware
    from firmware import config as config_file

    cfg = config_file.load()
    sys.modules.pop("firmware.config", None)
    if hasattr(firmware, "config"):
        delattr(firmware, "config")
    return cfg


# The config first, so that the heap its schema and checks leave is free
# again before the modules that stay are loaded.
_CFG = _load_config()
gc.collect()

# Then the modules one at a time, dependencies first, each followed by a
# collection: what loading one leaves behind is freed before the next one
# loads, and the next one's objects fill those holes instead of leaving them
# scattered across the heap. On the simulator this boot needs ~6 KB less heap
# than importing all at once (bench/firmware.py measures the peak).
for _name in ("protocol.compat", "protocol.errors", "protocol.hmac_sha256",
              "protocol.canonical", "protocol.topics", "protocol.wire", "protocol.credentials",
              "firmware.mqtt_packet", "firmware.link", "firmware.hostmsg", "firmware.app",
              "firmware.panel", "firmware.glyphs", "firmware.display", "firmware.outbox",
              "firmware.evaluator", "firmware.buttons", "firmware.clock"):
    __import__(_name)
    gc.collect()
del _name

from firmware.app import App  # noqa: E402
from firmware.buttons import Buttons  # noqa: E402
from firmware.clock import Clock  # noqa: E402
from firmware.display import Display  # noqa: E402
from firmware.evaluator import Evaluator  # noqa: E402
from firmware.link import Link  # noqa: E402
from firmware.outbox import Outbox  # noqa: E402
from firmware.panel import ST7789  # noqa: E402

from protocol.compat import const  # noqa: E402

# Board wiring (ESP32-DevKitC + 2.8" ST7789 320x240). Change here only.
_SPI_ID = const(1)
_PIN_SCK = const(18)
_PIN_MOSI = const(23)
_PIN_DC = const(2)
_PIN_CS = const(5)
_PIN_RST = const(4)
# Buttons, left to right (非常满意 ... 非常不满意): GPIO 32, 33, 25, 26, 27.


def _wifi(cfg):
    if not cfg.wifi_ssid:
        return
    import network  # only when this board has Wi-Fi to join

    wlan = network.WLAN(network.STA_IF)
    wlan.active(True)
    if not wlan.isconnected():
        wlan.connect(cfg.wifi_ssid, cfg.wifi_password)  # the link retries until it is up


def _ssl_context(cfg):
    if not cfg.tls_ca:
        return None
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=cfg.tls_ca)
    return context


def build(cfg):
    Pin = machine.Pin
    spi = machine.SPI(_SPI_ID, baudrate=40000000, sck=Pin(_PIN_SCK), mosi=Pin(_PIN_MOSI))
    panel = ST7789(spi, Pin(_PIN_DC, Pin.OUT), Pin(_PIN_CS, Pin.OUT), Pin(_PIN_RST, Pin.OUT))
    display = Display(panel)
    buttons = Buttons([Pin(n, Pin.IN, Pin.PULL_UP) for n in (32, 33, 25, 26, 27)], time.ticks_ms)
    # MicroPython on the ESP32 counts seconds from 2000-01-01; the protocol sends Unix time.
    clock = Clock(time.ticks_ms, 946684800 if time.gmtime(0)[0] == 2000 else 0)
    outbox = Outbox("outbox")
    parts = open("parts.bin", "w+b")  # host bitmaps (firmware/hostmsg.py), opened once
    evaluator = Evaluator(cfg, display, outbox, clock, time.ticks_ms)
    _wifi(cfg)
    gc.collect()
    return App(cfg, evaluator, outbox, buttons, clock, time.ticks_ms, time.ticks_diff,
               Link, _ssl_context(cfg), _RX, parts, _TX)


def main():
    app = build(_CFG)
    gc.collect()
    app.run()


main()
