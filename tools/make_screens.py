"""Screenshots of the 评价器 for the docs, from the real firmware in the simulator.

    .venv/bin/python tools/make_screens.py [--out docs/screens]

Drives one simulated device (the real firmware on the MicroPython unix port,
100 KB heap, its panel's SPI stream decoded) through a real Mosquitto, with
hostd's Collector storing and acking its ratings, and saves each screen as
docs/screens/device-<name>.png inside a drawing of the device: the 320x240
panel at twice its size and, under it, the five physical buttons, each
centred under the option it presses, so a reader sees the alignment. The
buttons are drawn unlabelled, as the README's hardware notes recommend: the
screen says what each one does.

  idle          who is serving (idle message, window and staff bitmaps)
  session       item, staff name and 工号, the five options, the captioned QR code
  reason        after a 差评 press: the reasons, each over its button, the countdown
  reason-more   after 更多: 便捷性, 其他, 跳过 and 返回
  thanks        after a press: the same screen whatever was chosen (回避式)
  paused        idle message with nobody serving: 暂停服务
  idle-offline  powered on with the host unreachable: the kept idle message,
                the window's standing QR code (its counter sticker's), the
                options (an offline rating, once a minute) and 离线
  outbox-full   the flash is full: presses refused, the citizen sent to the QR code
  revoked       the broker refuses the device's login: 设备已停用

Session and idle bitmaps are rendered by hostd's renderer (bench/firmware.py).

The voice: the first device has it on, with hostd's clips on its flash, and
docs/screens/voice-played.png is the waveform of what its I2S played through
the screens above (the simulator's speaker.wav); voice-<n>.png are the five
clips as the device decodes them, each with its text and length.
"""

import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from bench import firmware as fw  # noqa: E402
from bench.common import mosquitto_binary, start_mosquitto, stop  # noqa: E402

FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
SCALE = 2  # panel pixels to picture pixels
BUTTON_COLOUR = (120, 124, 132)  # unlabelled buttons: no printed level word to mistake
CAPTIONS = {
    "idle": "空闲：显示当前在岗人员",
    "session": "办结后：事项、人员与工号、五个评价选项、扫码评价二维码",
    "reason": "差评后：原因标在各自按键上方，倒计时结束自动跳过",
    "reason-more": "按“更多”：便捷性、其他（扫码填写）、跳过、返回",
    "thanks": "评价已记录：回避式，不显示所选等级",
    "paused": "无人在岗：暂停服务",
    "idle-offline": "断网开机：沿用上次在岗信息，离线评价每分钟一次",
    "outbox-full": "存储已满：按键暂停，引导扫码评价，事项仍在屏上",
    "revoked": "设备已停用：引导扫窗口二维码评价",
}


def frame(panel_png, caption, out):
    """The panel inside a drawing of the device, the five buttons under it."""
    panel = Image.open(panel_png).convert("RGB")
    w, h = panel.size[0] * SCALE, panel.size[1] * SCALE
    margin, bezel = 40, 24
    buttons_h, caption_h = 150, 56
    width = w + 2 * (margin + bezel)
    height = margin + bezel + h + bezel + buttons_h + caption_h
    font = ImageFont.truetype(FONT, 22)
    img = Image.new("RGB", (width, height), (236, 238, 242))
    draw = ImageDraw.Draw(img)
    body = (margin - 12, margin - 12, width - margin + 12, margin + 2 * bezel + h + buttons_h - 16)
    draw.rounded_rectangle(body, radius=28, fill=(45, 50, 58))
    x0, y0 = margin + bezel, margin + bezel
    img.paste(panel.resize((w, h), Image.NEAREST), (x0, y0))
    column = w // 5
    centre_y = y0 + h + bezel + 48
    for i in range(5):
        cx = x0 + column * i + column // 2
        # A faint guide from the option above to its button.
        for y in range(y0 + h + 2, centre_y - 36, 6):
            draw.line((cx, y, cx, y + 2), fill=(150, 155, 165))
        draw.ellipse((cx - 34, centre_y - 34, cx + 34, centre_y + 34), fill=(20, 22, 26))
        draw.ellipse((cx - 28, centre_y - 28, cx + 28, centre_y + 28), fill=BUTTON_COLOUR)
    tw = draw.textlength(caption, font=font)
    draw.text(((width - tw) / 2, height - caption_h + 8), caption, fill=(30, 30, 30), font=font)
    img.save(out)


class Rig:
    """A broker, hostd's Collector, and one simulated device with its panel recorded."""

    def __init__(self, workdir):
        from hostd.db.store import Store
        from hostd.devices import registry
        from hostd.ingest.collector import Collector

        self.workdir = Path(workdir)
        self.broker, self.port = start_mosquitto(str(self.workdir))
        self.store = Store(self.workdir / "hostd.db")
        self.key = registry.add_device(self.store, fw.DEVICE, fw.WINDOW, fw.HALL)
        self.collector = Collector(self.store, "127.0.0.1", self.port)
        if not self.collector.start(10):
            raise RuntimeError("the collector could not subscribe")
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.pusher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="screens-push")
        self.pusher.connect("127.0.0.1", self.port)
        self.pusher.loop_start()
        self.device = None

    def power_on(self, port=None, flash="device", before=None, wait_link=True, voice=0):
        from simulator.device import SimDevice

        self.device = SimDevice(self.workdir / flash, name=fw.DEVICE)
        if voice:
            from hostd.devices import voice as clips

            self.device.write_files(dict(clips.clips(self.workdir / "voice-cache")))
        self.device.write_config(
            {
                "device_id": fw.DEVICE,
                "hall": fw.HALL,
                "window": fw.WINDOW,
                "key": self.key.hex(),
                "broker_host": "127.0.0.1",
                "broker_port": port or self.port,
                "heartbeat_s": 5,
                "response_interval_ms": 500,
                "thanks_ms": 2500,
                "voice": voice,
            }
        )
        if before is not None:
            before(self.device)
        self.device.start(record_panel=True)
        if wait_link and not self.device.wait_log("link: ", 20):
            raise RuntimeError("the device did not start:\n" + self.device.log_text()[-800:])
        time.sleep(0.5)

    def push(self, wire):
        from protocol import topics

        self.pusher.publish(topics.topic(fw.HALL, fw.DEVICE, topics.SESSION), wire, qos=1)
        time.sleep(1.0)

    def shot(self, name, out):
        raw = self.workdir / ("%s.png" % name)
        self.device.screenshot(raw)
        target = Path(out) / ("device-%s.png" % name)
        frame(raw, CAPTIONS[name], target)
        print(target)
        if os.environ.get("SCREENS_DEBUG"):
            print(self.device.log_text()[-600:])

    def close(self):
        if self.device is not None:
            self.device.stop()
        self.pusher.loop_stop()
        self.collector.stop()
        self.store.close()
        stop(self.broker)


def waveform(samples, rate, caption, out, width=960, height=180):
    """A clip's waveform: each column the lowest and highest sample it covers."""
    font = ImageFont.truetype(FONT, 20)
    img = Image.new("RGB", (width, height + 40), (250, 250, 252))
    draw = ImageDraw.Draw(img)
    mid = height // 2
    draw.line((0, mid, width, mid), fill=(200, 204, 212))
    per = max(1, len(samples) // width)
    for x in range(min(width, len(samples) // per)):
        chunk = samples[x * per : (x + 1) * per]
        lo, hi = min(chunk), max(chunk)
        draw.line((x, mid - hi * mid // 32768, x, mid - lo * mid // 32768), fill=(36, 99, 178))
    text = "%s（%.1f 秒，%d Hz）" % (caption, len(samples) / rate, rate)
    draw.text((8, height + 8), text, fill=(30, 30, 30), font=font)
    img.save(out)
    print(out)


def voice_pictures(out, workdir, played):
    """voice-<n>.png for each clip as the device decodes it, and voice-played.png
    from the simulator's speaker.wav (`played`)."""
    from hostd.devices import voice as clips
    from protocol import adpcm
    from protocol.host import adpcm as encoder

    texts = clips.texts()
    for n, (_, data) in enumerate(clips.clips(Path(workdir) / "voice-cache")):
        count, rate = encoder.read_header(data)
        body = data[encoder.HEADER :]
        pcm = bytearray(4 * len(body))
        adpcm.decode(body, len(body), pcm, [0, 0])
        samples = struct.unpack("<%dh" % (2 * len(body)), bytes(pcm))[:count]
        waveform(samples, rate, "提示音 %d：%s" % (n, texts[n]), Path(out) / ("voice-%d.png" % n))
    with wave.open(str(played)) as w:
        frames = w.readframes(w.getnframes())
        rate = w.getframerate()
    samples = struct.unpack("<%dh" % (len(frames) // 2), frames)
    waveform(samples, rate, "模拟器扬声器录音：以上各屏期间播放的全部语音", Path(out) / "voice-played.png")


def fill_flash(device, leave_kb=88):
    """Fill the device's flash with a file, leaving less than the outbox's reserve."""
    device.run_on_flash(
        "import os\n"
        "st = os.statvfs('.')\n"
        "left = st[0] * st[3] - %d\n"
        "buf = bytearray(4096)\n"
        "with open('fill.bin', 'wb') as f:\n"
        "    while left > 0:\n"
        "        f.write(buf)\n"
        "        left -= 4096\n" % (leave_kb * 1024),
        timeout=120,
    )


def refusing_broker(workdir):
    """A Mosquitto that lets nobody in: the device's login is refused, as after a revoke."""
    from bench.common import free_port

    port = free_port()
    conf = Path(workdir) / "refusing.conf"
    conf.write_text("listener %d 127.0.0.1\nallow_anonymous false\npersistence false\n" % port)
    proc = subprocess.Popen(
        [mosquitto_binary(), "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(0.5)
    return proc, port


def make(out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="hcp-screens-"))
    rig = Rig(workdir)
    try:
        rig.power_on(voice=4)
        rig.push(fw.idle_message(rig.key))
        rig.shot("idle", out)
        rig.push(fw.session_message(rig.key, "s-screens-0001"))
        rig.shot("session", out)
        rig.device.press(5)  # 非常不满意: a 差评 asks for the reason
        time.sleep(0.8)
        rig.shot("reason", out)
        rig.device.press(5)  # 更多
        time.sleep(0.8)
        rig.shot("reason-more", out)
        rig.device.press(1)  # 便捷性
        time.sleep(3.5)  # thanks, then idle again
        rig.push(fw.session_message(rig.key, "s-screens-0002"))
        rig.device.press(1)  # 非常满意
        time.sleep(0.6)
        rig.shot("thanks", out)
        time.sleep(3.0)
        rig.push(fw.idle_message(rig.key, serving=False))
        rig.shot("paused", out)
        rig.push(fw.idle_message(rig.key))
        rig.device.stop()
        voice_pictures(out, workdir, rig.device.speaker)
        # Power on with the host unreachable: the idle message kept on flash.
        from bench.common import free_port

        rig.power_on(free_port(), wait_link=False)
        time.sleep(2.0)
        rig.shot("idle-offline", out)
        rig.device.stop()
        # A device whose flash is full: the outbox refuses the press.
        rig.power_on(flash="device-full", before=fill_flash)
        rig.push(fw.idle_message(rig.key))
        rig.push(fw.session_message(rig.key, "s-screens-0003"))
        rig.device.press(1)
        time.sleep(0.8)
        rig.shot("outbox-full", out)
        rig.device.stop()

        refusing, port = refusing_broker(workdir)  # revoked: the broker refuses its login
        try:
            rig.power_on(port)
            time.sleep(2.0)
            rig.shot("revoked", out)
        finally:
            stop(refusing)
    finally:
        rig.close()
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", default=str(ROOT / "docs" / "screens"), help="folder for the device-<name>.png files"
    )
    args = parser.parse_args(argv)
    if not os.path.exists(FONT):
        print(
            "make_screens: the font %s is missing: apt-get install fonts-wqy-microhei" % FONT, file=sys.stderr
        )
        return 1
    make(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
