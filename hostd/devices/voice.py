"""The device's voice prompts, rendered on the host (语音邀请, 000 二(一)).

An offline Mandarin text-to-speech, Debian's `espeak-ng` with its `cmn`
voice, speaks each prompt into a WAV file; soxr resamples it to 8 kHz with a
proper anti-alias filter; protocol/host/adpcm.py packs it as a 4-bit IMA
ADPCM clip (4 KB a second) that the device keeps on flash and plays through
its I2S amplifier (firmware/voice.py). Clips are cached by what made them
(text, voice, speed, format), so a hall renders each prompt once.

The prompts, by the number the device plays them under:
  0 the invitation when a session arrives (the hall's own text, `device.voice_invitation`);
  1 thanks after a rating;
  2 the five choices, by button (a long press reads them; for citizens who cannot read the screen);
  3, 4 the 差评 reason screen's two pages, by button.
"""

import hashlib
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy
import soxr

from hostd.base.errors import UserError
from protocol.host import adpcm

RATE = 8000  # the clips' sample rate: telephone speech, 4 KB a second
VOICE = "cmn"  # espeak-ng's Mandarin
SPEED = 160  # words a minute: a little slower than espeak-ng's 175, for a hall's older citizens
PEAK = 0.9  # of full scale: the loudest sample of each clip
SILENCE = 0.02  # of the peak: quieter than this at either end is trimmed
FORMAT = "ima1"  # bump when the rendering changes: the cache key holds it
INVITATION = "您好，请对本次服务进行评价"
THANKS = "感谢您的评价"
LEVELS = "从左起：非常满意，满意，基本满意，不满意，非常不满意"
REASON_PAGES = (
    "请选不满意的原因，从左起：态度，效率，质量，环境，更多",
    "从左起：便捷性，其他，跳过，第五键返回",
)
CLIPS = 5  # clip files voice0 ... voice4 on the device


class NoSpeech(UserError):
    """espeak-ng is missing or failed."""


def texts(invitation=INVITATION):
    """The prompts in the device's order (see the module's text)."""
    return [invitation or INVITATION, THANKS, LEVELS, *REASON_PAGES]


def espeak():
    path = shutil.which("espeak-ng")
    if path is None:
        raise NoSpeech(
            "espeak-ng is not installed, so the device's voice prompts cannot be made: "
            "run `sudo apt-get install espeak-ng` (or `make deps`), then try again"
        )
    return path


def speak(text):
    """espeak-ng's Mandarin reading of `text`: (16-bit samples, its sample rate)."""
    with tempfile.TemporaryDirectory(prefix="hostd-voice-") as tmp:
        out = Path(tmp) / "speech.wav"
        done = subprocess.run(
            [espeak(), "-v", VOICE, "-s", str(SPEED), "-w", str(out), text],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0 or not out.exists():
            raise NoSpeech("espeak-ng could not speak %r: %s" % (text, (done.stderr or "").strip()[-200:]))
        with wave.open(str(out)) as w:
            if w.getsampwidth() != 2 or w.getnchannels() != 1:
                raise NoSpeech(
                    "espeak-ng wrote %d-byte, %d-channel audio" % (w.getsampwidth(), w.getnchannels())
                )
            rate = w.getframerate()
            frames = w.readframes(w.getnframes())
    return numpy.frombuffer(frames, dtype="<i2"), rate


def samples(text):
    """`text` spoken at RATE, its peak at PEAK of full scale: a list of ints."""
    speech, rate = speak(text)
    low = soxr.resample(speech.astype(numpy.float32) / 32768.0, rate, RATE, quality="HQ")
    peak = float(numpy.max(numpy.abs(low))) if len(low) else 0.0
    if peak < 1e-4:
        raise NoSpeech("espeak-ng made only silence for %r" % text)
    loud = numpy.flatnonzero(numpy.abs(low) > peak * SILENCE)
    edge = RATE // 20  # 50 ms kept either side of the speech
    low = low[max(0, loud[0] - edge) : loud[-1] + edge]
    scaled = numpy.clip(numpy.round(low * (PEAK * 32767.0 / peak)), -32768, 32767)
    return scaled.astype(numpy.int16).tolist()


def cache_key(text):
    return hashlib.sha256("\0".join([FORMAT, VOICE, str(SPEED), str(RATE), text]).encode()).hexdigest()[:24]


def clip(text, cache_dir):
    """The clip file's bytes for `text`, rendered once into `cache_dir`."""
    cache = Path(cache_dir) / (cache_key(text) + ".ima")
    if cache.exists():
        data = cache.read_bytes()
        try:
            adpcm.read_header(data)
            return data
        except ValueError:
            pass  # a torn write: render it again
    data = adpcm.clip(samples(text), RATE)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(cache)
    return data


def clips(cache_dir, invitation=INVITATION):
    """[(device file name, clip bytes)] of every prompt, in the device's order."""
    return [("voice%d" % n, clip(text, cache_dir)) for n, text in enumerate(texts(invitation))]


class UnknownWindow(UserError):
    exit_code = 2


def window_volume(db, hall, window, default):
    """The voice loudness (0 off ... 5) at a window: its own, else `default`
    (the hall's device.voice_volume)."""
    rows = list(db.query("SELECT voice_volume FROM windows WHERE hall = ? AND window = ?", [hall, window]))
    own = rows[0]["voice_volume"] if rows else None
    return default if own is None else own


def set_window_volume(db, hall, window, volume):
    """A window's own loudness (0-5), or None for the hall's; returns the
    window's devices, which take it at their next provisioning."""
    devices = [
        row["device_id"]
        for row in db.query(
            "SELECT device_id FROM devices WHERE hall = ? AND window = ? AND revoked_at IS NULL"
            " ORDER BY device_id",
            [hall, window],
        )
    ]
    known = list(db.query("SELECT 1 FROM windows WHERE hall = ? AND window = ?", [hall, window]))
    if not known and not devices:
        raise UnknownWindow(
            "no window %s in hall %s: add it (`hostd window add %s`) or see `hostd window list`"
            % (window, hall, window)
        )
    with db.conn:
        db.execute("INSERT OR IGNORE INTO windows (hall, window) VALUES (?, ?)", [hall, window])
        db.execute(
            "UPDATE windows SET voice_volume = ? WHERE hall = ? AND window = ?", [volume, hall, window]
        )
    return devices
