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


def _drop(package, leaf):
    # A module needed only at boot: give its heap back.
    import sys

    sys.modules.pop(package.__name__ + "." + leaf, None)
    if hasattr(package, leaf):
        delattr(package, leaf)


def _boot():
    """Load the config, then the modules; returns the Config.

    The config first: its schema and checks are needed once, so the module
    is dropped and its heap is free again before the modules that stay are
    loaded. Then those one at a time, dependencies first, each followed by a
    collection: what loading one leaves behind is freed before the next one
    loads, and the next one's objects fill those holes instead of leaving
    them scattered across the heap. On the simulator this boot needs ~6 KB
    less heap than importing all at once (bench/firmware.py measures the
    peak). A function, not module code: its names are locals, not qstrs."""
    import firmware
    from firmware import config as config_file

    cfg = config_file.load()
    del config_file
    _drop(firmware, "config")
    gc.collect()
    for name in (
        "protocol.compat",
        "protocol.errors",
        "protocol.hmac_sha256",
        "protocol.canonical",
        "protocol.wire",
        "firmware.mqtt_packet",
        "firmware.link",
        "firmware.hostmsg",
        "firmware.app",
        "firmware.panel",
        "firmware.glyphs",
        "firmware.display",
        "firmware.outbox",
        "firmware.evaluator",
        "firmware.buttons",
        "firmware.clock",
    ):
        __import__(name)
        gc.collect()
    return cfg


_CFG = _boot()

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
    from binascii import a2b_base64

    with open(cfg.tls_ca, "rb") as f:
        ca = f.read()
    # hostd provisions a PEM file; not every port's mbedTLS parses PEM (the
    # unix port does not), every port takes DER: decode the first certificate.
    begin = ca.find(b"-----BEGIN CERTIFICATE-----")
    if begin >= 0:
        ca = a2b_base64(ca[begin + 27 : ca.find(b"-----END", begin)])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.verify_mode = ssl.CERT_REQUIRED  # MicroPython's default is CERT_NONE: any server
    context.load_verify_locations(cadata=ca)
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
    return App(
        cfg,
        evaluator,
        outbox,
        buttons,
        clock,
        time.ticks_ms,
        time.ticks_diff,
        Link,
        _ssl_context(cfg),
        _RX,
        parts,
        _TX,
    )


def main():
    app = build(_CFG)
    # Topics and the MQTT password are made once, by App(): those two
    # modules go too (firmware/app.py imports them there, not at its top).
    import protocol

    _drop(protocol, "topics")
    _drop(protocol, "credentials")
    gc.collect()
    try:
        app.run()
    except KeyboardInterrupt:
        raise  # the serial console (hall IT, mpremote) stops the firmware
    except Exception as e:  # noqa: BLE001
        # A device at a window must come back by itself, not sit at the
        # REPL until someone power-cycles it: say why, then reset. Ratings
        # not yet acked are in the flash outbox and go out after the boot.
        try:
            import sys

            print("firmware: %s, restarting" % type(e).__name__)
            sys.print_exception(e)
        except Exception:  # noqa: BLE001 - no heap even to print: reset all the same
            pass
        machine.reset()


main()
