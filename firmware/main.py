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
# The voice: an I2S amplifier (MAX98357A), BCLK GPIO 14, LRCLK 13, DIN 22.
_PIN_BCLK = const(14)
_PIN_LRCLK = const(13)
_PIN_DIN = const(22)


_GOT_IP = const(1010)  # network.STAT_GOT_IP, and the other ESP32 station codes
_CONNECTING = const(1001)
_IDLE = const(1000)
_NO_AP_FOUND = const(201)
_WRONG_PASSWORD = const(202)
_WIFI_FIRST_MS = const(2000)  # the first rejoin after a failed join; doubling ...
_WIFI_MAX_MS = const(60000)  # ... up to this
_MAINTENANCE_MS = const(1800000)  # the watchdog while the REPL is in use: 30 min
_CRASH = const(6)  # the reset cause sent after the firmware reset itself on an error


def _wifi(cfg):
    """The Wi-Fi watcher (None with no network to join): a function the loop
    calls every turn. It never blocks: connect() only starts a join, and
    status() says how it went. It rejoins when the network drops, with a
    backoff; it returns None while joined, else why not (ASCII, for the
    screen). Closures and locals, not a class: their names cost no qstrs."""
    if not cfg.wifi_ssid:
        return None
    import network  # only when this board has Wi-Fi to join

    wlan = network.WLAN(network.STA_IF)
    wlan.active(True)
    ticks_ms, ticks_diff = time.ticks_ms, time.ticks_diff
    state = [ticks_ms(), _WIFI_FIRST_MS, False]  # next join, backoff, joined

    def step():
        status = wlan.status()
        if status == _GOT_IP:
            if not state[2]:
                state[1] = _WIFI_FIRST_MS
                print("wifi: joined, status %d" % status)
            state[2] = True
            return None
        now = ticks_ms()
        if state[2]:
            state[2] = False
            state[0] = now  # it dropped: rejoin at once
            print("wifi: lost it, status %d" % status)
        if status != _CONNECTING and ticks_diff(now, state[0]) >= 0:
            wlan.connect(cfg.wifi_ssid, cfg.wifi_password)
            state[0] = now + state[1]
            state[1] = min(state[1] * 2, _WIFI_MAX_MS)
        if status == _WRONG_PASSWORD:
            return "WIFI BAD PASSWORD"
        if status == _NO_AP_FOUND:
            return "WIFI NOT FOUND"
        if status == _CONNECTING or status == _IDLE:
            return "WIFI CONNECTING"
        return "WIFI DOWN %d" % status

    return step


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
    outbox = Outbox("outbox", cfg.outbox_capacity)
    parts = open("parts.bin", "w+b")  # host bitmaps (firmware/hostmsg.py), opened once
    # (reset cause, boot count) for the heartbeat: machine.reset_cause(), or
    # _CRASH after the firmware reset itself on an error; the count from the
    # file boot_record.txt (one small write a boot), which then also says
    # "crashed!" (names and words over 10 characters are not interned: no qstr).
    cause = machine.reset_cause()
    boots = 0
    try:
        with open("boot_record.txt") as f:
            words = f.read().split()
        boots = int(words[0])
        if len(words) > 1:
            cause = _CRASH
    except (OSError, ValueError, IndexError):
        pass
    boots += 1
    try:
        with open("boot_record.txt", "w") as f:
            f.write(str(boots))
    except OSError:
        pass
    voice = None
    if cfg.voice:
        # The voice's code loads only where it is on (config voice 1-5): its
        # names cost a device with it off nothing (README, "Device heap").
        from firmware import voice as speech  # lazy: only with the voice on

        pins = (Pin(_PIN_BCLK), Pin(_PIN_LRCLK), Pin(_PIN_DIN))
        voice = speech.open(getattr(machine, "I2S", None), pins, cfg.voice)
    evaluator = Evaluator(cfg, display, outbox, clock, time.ticks_ms, time.ticks_diff, voice)
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
        (cause, boots),
    )


def main():
    app = build(_CFG)
    step = _wifi(_CFG)
    # Topics and the MQTT password are made once, by App(): those two
    # modules go too (firmware/app.py imports them there, not at its top).
    import protocol

    _drop(protocol, "topics")
    _drop(protocol, "credentials")
    gc.collect()
    # The hardware watchdog, from here on: the loop feeds it once a turn. It
    # cannot be stopped once started (ESP32), so the REPL gets a long one
    # below; the REPL before this point (provisioning a new board) has none.
    wdt = machine.WDT(timeout=_CFG.watchdog_s * 1000)
    try:
        app.run(step, wdt.feed)
    except KeyboardInterrupt:
        # The serial console (hall IT, mpremote) stops the firmware: 30 min
        # at the REPL, then the watchdog resets the board into the firmware.
        machine.WDT(timeout=_MAINTENANCE_MS)
        print("firmware stopped; the watchdog resets the board in 30 min (or power-cycle it)")
        raise
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
        try:
            with open("boot_record.txt", "w") as f:
                f.write("%d crashed!\n" % app.boot[1])
        except Exception:  # noqa: BLE001 - flash full or failing: the cause will say soft
            pass
        machine.reset()


main()
