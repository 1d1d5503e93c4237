"""The voice (语音邀请, issue 20): prompts rendered on the host by espeak-ng
(hostd/devices/voice.py), coded as IMA ADPCM (protocol/adpcm.py), played by the
real firmware through I2S without ever holding a press back."""

import json
import math
import shutil
import struct
import wave

import pytest
from hostd_helpers import HostdProcess, db_rows, wait_for
from hostd_support import hostd, make_home

from conftest import ROOT, run_micropython
from hostd.devices import voice
from protocol import adpcm
from protocol.host import adpcm as encoder
from simulator.supervisor import SPEAKER_FILE, Supervisor

DEVICE, WINDOW = "w05-a", "05"

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    cache = tmp_path_factory.mktemp("voice-cache")
    return dict(voice.clips(cache)), cache


def decoded(clip, shift=0):
    """The clip's samples as the device decodes them (protocol/adpcm.py)."""
    count, _ = encoder.read_header(clip)
    body = clip[encoder.HEADER :]
    pcm = bytearray(4 * len(body))
    adpcm.decode(body, len(body), pcm, [0, 0], shift)
    return list(struct.unpack("<%dh" % (2 * len(body)), bytes(pcm)))[:count]


def correlation(a, b):
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    ma, mb = sum(a) / n, sum(b) / n
    num = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    den = math.sqrt(sum((x - ma) ** 2 for x in a) * sum((y - mb) ** 2 for y in b))
    return num / den


def rms(samples):
    return math.sqrt(sum(s * s for s in samples) / len(samples))


# -- the codec ---------------------------------------------------------------
def test_adpcm_keeps_a_tone_and_speech_close_to_the_original():
    tone = [int(12000 * math.sin(2 * math.pi * 440 * i / 8000)) for i in range(8000)]
    clip = encoder.clip(tone, 8000)
    assert len(clip) == encoder.HEADER + 4000  # 4 bits a sample
    assert correlation(tone, decoded(clip)) > 0.99
    speech = voice.samples(voice.THANKS)
    assert correlation(speech, decoded(encoder.clip(speech, voice.RATE))) > 0.98


def test_the_step_table_is_the_standard_one():
    assert encoder.STEPS == (
        7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 19, 21, 23, 25, 28, 31, 34, 37, 41, 45, 50, 55, 60, 66, 73,
        80, 88, 97, 107, 118, 130, 143, 157, 173, 190, 209, 230, 253, 279, 307, 337, 371, 408, 449, 494,
        544, 598, 658, 724, 796, 876, 963, 1060, 1166, 1282, 1411, 1552, 1707, 1878, 2066, 2272, 2499,
        2749, 3024, 3327, 3660, 4026, 4428, 4871, 5358, 5894, 6484, 7132, 7845, 8630, 9493, 10442,
        11487, 12635, 13899, 15289, 16818, 18500, 20350, 22385, 24623, 27086, 29794, 32767,
    )  # fmt: skip


def test_micropython_decodes_bit_for_bit_as_cpython(tmp_path):
    tone = [int(9000 * math.sin(2 * math.pi * 300 * i / 8000) + 3000 * math.sin(i)) for i in range(2001)]
    clip = encoder.clip(tone, 8000)
    (tmp_path / "clip").write_bytes(clip)
    proc = run_micropython(
        """
from protocol import adpcm
f = open("clip", "rb")
f.read(12)  # the header
state, src, dst, out = [0, 0], bytearray(128), bytearray(512), open("pcm", "wb")
while True:
    n = f.readinto(src)
    if not n:
        break
    out.write(memoryview(dst)[: adpcm.decode(src, n, dst, state, 1)])
out.close()
print("done")
""",
        cwd=tmp_path,
    )
    assert "done" in proc.stdout
    got = struct.unpack("<%dh" % (len((tmp_path / "pcm").read_bytes()) // 2), (tmp_path / "pcm").read_bytes())
    assert list(got[: len(tone)]) == decoded(clip, shift=1)


def test_a_truncated_or_foreign_clip_is_refused():
    clip = encoder.clip([0] * 100, 8000)
    with pytest.raises(ValueError, match="truncated"):
        encoder.read_header(clip[:-10])
    with pytest.raises(ValueError, match="not an IMA1"):
        encoder.read_header(b"RIFF" + clip[4:])


# -- rendering on the host ------------------------------------------------------
def test_every_prompt_is_rendered_as_clear_speech_of_a_sensible_length(clips):
    by_name, _ = clips
    assert sorted(by_name) == ["voice%d" % n for n in range(voice.CLIPS)]
    for name, clip in by_name.items():
        count, rate = encoder.read_header(clip)
        assert rate == voice.RATE
        assert 1.0 < count / rate < 15.0, (name, count / rate)
        samples = decoded(clip)
        assert rms(samples) > 1500, name  # speech, not silence
        loud = [i for i, s in enumerate(samples) if abs(s) > 0.05 * 32767]
        assert loud[0] < 0.15 * rate, name  # no dead air before the prompt ...
        assert len(samples) - loud[-1] < 0.15 * rate, name  # ... nor after it


def test_clips_are_cached_by_text_and_a_torn_cache_file_is_made_again(clips, monkeypatch):
    by_name, cache = clips
    files = sorted(cache.glob("*.ima"))
    assert len(files) == voice.CLIPS
    calls = []
    real = voice.speak
    monkeypatch.setattr(voice, "speak", lambda text: calls.append(text) or real(text))
    assert dict(voice.clips(cache)) == by_name
    assert calls == []  # all from the cache
    files[0].write_bytes(files[0].read_bytes()[:100])  # a write cut short
    again = dict(voice.clips(cache))
    assert again == by_name and len(calls) == 1
    other = dict(voice.clips(cache, "请到3号窗口办理"))
    assert other["voice0"] != by_name["voice0"] and other["voice1"] == by_name["voice1"]


def test_without_espeak_ng_the_error_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(voice.shutil, "which", lambda name: None)
    with pytest.raises(voice.NoSpeech, match="apt-get install espeak-ng"):
        voice.clips(tmp_path)


# -- the device's loop ------------------------------------------------------------
def test_playback_never_holds_a_press_back_and_plays_the_clips_exactly(clips, tmp_path):
    by_name, _ = clips
    for name, clip in by_name.items():
        (tmp_path / name).write_bytes(clip)
    image = tmp_path / "flash.img"
    image.write_bytes(b"\xff" * 64 * 4096)
    proc = run_micropython(ROOT / "tests" / "mpy" / "ui_voice.py", str(image), cwd=tmp_path)
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    press, long_press = got["turns"]
    # The invitation was playing when the press came, and the press rated on
    # the very turn the buttons reported it (the loop's own turns, no clock).
    assert got["playing_after_session"]
    assert press["index"] == 0 and press["playing_before"]
    assert press["did"] and press["rated"] == 1 and press["state"] == "thanks"
    assert got["max_writes"] == 1  # one chunk a turn at most: the work a turn does is bounded
    # A long press of button 2 reads the choices (clip 2) and rates nothing.
    assert long_press["index"] == 5 + 2 and long_press["did"] is False
    assert got["state_after_long"] == "session" and got["depth"] == 1
    plays = got["plays"]
    assert [p[0] for p in plays] == [0, 1, 0, 2]
    assert long_press["turn"] - plays[2][2] >= 150  # held 1.5 s (10 ms turns) after the session came
    # What the I2S was given is exactly the device's decoding of each clip,
    # at full volume: the start of the invitation, the whole thanks, ...
    pcm = (tmp_path / "capture.pcm").read_bytes()
    assert len(pcm) == got["bytes"]
    ends = [p[1] for p in plays[1:]] + [len(pcm)]
    for (number, start, _), end in zip(plays, ends):
        played = list(struct.unpack("<%dh" % ((end - start) // 2), pcm[start:end]))
        want = decoded(by_name["voice%d" % number])
        assert played[: len(want)] == want[: len(played)], number
        if number == 1:
            assert len(played) >= len(want)  # thanks played to its end
            assert not any(played[len(want) :])  # then only the odd sample's padding


# -- end to end: provisioned by hostd, heard on the simulator's speaker --------------
def speaker_samples(board):
    """The samples in the board's speaker.wav (simulator/board/machine.py I2S)."""
    path = board.flash_dir / SPEAKER_FILE
    if not path.exists():
        return []
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (8000, 2, 1)
        frames = w.readframes(w.getnframes())
    return list(struct.unpack("<%dh" % (len(frames) // 2), frames))


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    work = tmp_path_factory.mktemp("voice-hall")
    home = make_home(work / "home")
    for args in (
        ("device", "add", DEVICE, "--window", WINDOW),
        ("staff", "add", "s01", "--name", "张晓明", "--staff-no", "0042"),
        ("window", "voice", WINDOW, "--volume", "3"),
    ):
        result = hostd(home, *args)
        assert result.exit_code == 0, result.output
    daemon = HostdProcess(home)
    board = Supervisor(work / "flash", firmware="none").start()
    assert board.wait_event("ready", 30)
    yield home, board
    board.stop(kill=True)
    daemon.stop()


def test_a_provisioned_device_speaks_the_invitation_and_reads_the_choices_on_a_long_press(hall):
    home, board = hall
    result = hostd(home, "device", "provision", DEVICE, "--port", board.port, "--timeout", "60")
    assert result.exit_code == 0, result.output
    assert "voice: 5 clips" in result.output and "volume 3 of 5" in result.output
    clips = dict(voice.clips(home.path / "voice"))  # hostd's own cache: nothing rendered again
    assert hostd(home, "staff", "on", "s01", "--window", WINDOW).exit_code == 0
    started = hostd(
        home, "session", "start", "--window", WINDOW, "--item-code", "A1", "--item-name", "户口迁移"
    )
    assert started.exit_code == 0, started.output
    invitation = decoded(clips["voice0"], shift=2)  # volume 3 of 5: a quarter of full scale
    wait_for(lambda: len(speaker_samples(board)) >= len(invitation), 30, 0.1)
    heard = speaker_samples(board)
    assert heard[: len(invitation)] == invitation
    assert correlation(heard, voice.samples(voice.INVITATION)) > 0.95  # it is espeak-ng's speech
    # A long press (2 s) of button 3 reads the five choices; nothing is rated.
    board.press(3, 2000)
    levels = decoded(clips["voice2"], shift=2)
    wanted = struct.pack("<4000h", *levels[:4000])
    wait_for(lambda: wanted in struct.pack("<%dh" % len(heard := speaker_samples(board)), *heard), 30, 0.2)
    assert db_rows(home, "SELECT COUNT(*) FROM ratings") == [(0,)]
