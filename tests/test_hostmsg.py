"""firmware/hostmsg.py: host messages with bitmaps, checked and taken apart
in the device's receive buffer, the bitmaps decoded to flash a few hundred
bytes at a time (never a whole bitmap, nor its base64, in the heap).

Real MicroPython (tests/mpy/hostmsg_check.py) against messages signed here
by protocol.messages.sign; and the paused idle screen (暂停服务) drawn from a
real idle message, checked on the decoded panel.
"""

import base64
import hashlib
import json

from bench import firmware as fw
from conftest import ROOT, run_micropython
from protocol import messages
from simulator.panel_decode import decode_file

KEY = bytes(range(32))
DEVICE = fw.DEVICE


def sha(part):
    w, h = part[1], part[2]
    return hashlib.sha256(base64.b64decode(part[3])[: ((w + 7) // 8) * h]).hexdigest()


def run(tmp_path, cases):
    spec = {
        "key": KEY.hex(),
        "device": DEVICE,
        "cases": [{"name": n, "wire": w.decode("latin-1")} for n, w in cases],
    }
    (tmp_path / "cases.json").write_text(json.dumps(spec))
    proc = run_micropython(
        ROOT / "tests" / "mpy" / "hostmsg_check.py",
        str(tmp_path / "flash.img"),
        str(tmp_path / "cases.json"),
        str(tmp_path / "idle.spi"),
        heap="256K",
    )  # compiling .py on the device costs more than running it
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_session_and_idle_bitmaps_reach_flash_exactly(tmp_path):
    session = fw.session_message(KEY, "s-1")
    idle = fw.idle_message(KEY)
    sent = {
        "session": messages.decode(session, (KEY,), DEVICE, messages.MAX_HOST_MESSAGE),
        "idle": messages.decode(idle, (KEY,), DEVICE, messages.MAX_HOST_MESSAGE),
    }
    out = {r["name"]: r for r in run(tmp_path, [("session", session), ("idle", idle)]) if "name" in r}
    for name in ("session", "idle"):
        got, want = out[name], sent[name]
        assert got["intact"], name
        assert got["fields"][:-1] == want[:-1]  # every field before the parts, as sent
        assert got["fields"][-1] == [[p[0], p[1], p[2], sha(p)] for p in want[-1]]
    assert [p[0] for p in out["session"]["fields"][-1]] == ["item", "staff", "qr"]


def test_tampered_and_foreign_messages_are_refused(tmp_path):
    good = fw.session_message(KEY, "s-2")
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0x01  # a bit inside the item bitmap's base64
    other_key = fw.session_message(bytes(32), "s-3")
    other_device = fw.session_message(KEY, "s-4", device="w99")
    out = run(
        tmp_path,
        [
            ("flipped", bytes(flipped)),
            ("key", other_key),
            ("device", other_device),
            ("truncated", good[:-10]),
        ],
    )
    reasons = {r["name"]: r.get("reason") for r in out}
    assert reasons == {
        "flipped": "bad_signature",
        "key": "bad_signature",
        "device": "wrong_device",
        "truncated": "malformed",
    }


def test_bad_part_is_left_out_and_the_rest_kept(tmp_path):
    parts = [["item", 300, 48, "!!notbase64"], ["staff", 16, 2, base64.b64encode(b"\xff\x00" * 2).decode()]]
    wire = messages.sign(KEY, [1, "S", DEVICE, "s-5", "C", "N", "st", "n", "7", 1, 60, "q", 0, parts])
    out = run(tmp_path, [("bad", wire)])
    assert out[0]["fields"][-1] == [["staff", 16, 2, hashlib.sha256(b"\xff\x00" * 2).hexdigest()]]


def test_paused_idle_message_shows_paused_on_the_panel(tmp_path):
    """Issue 5: nobody on duty (serving false, no staff) -> 暂停服务."""
    out = run(tmp_path, [("paused", fw.idle_message(KEY, serving=False))])
    assert out[0]["fields"][4:8] == [None, None, None, False]
    assert out[-1] == {"screen": "idle", "serving": False, "failed": 0, "missing": 0}
    panel = decode_file(tmp_path / "idle.spi")
    panel.image().save(tmp_path / "paused.png")
    red = sum(1 for y in range(100, 132) for x in range(96, 224) if panel.raw(x, y) == 0xA800)
    assert red > 300  # 暂停服务 in red, centred
    window = sum(1 for y in range(4, 52) for x in range(10, 310) if panel.raw(x, y) == 0)
    assert window > 500  # the window's name, from the message's bitmap
    assert all(panel.raw(x, 200) == 0xFFFF for x in range(0, 320, 8))  # no options to press
