"""hostd/devices/render.py: 1-bit parts the device blits, wrapping, cache, font choice."""

import json

import pytest
import qrcode

from conftest import run_micropython
from hostd.devices import render
from protocol import messages

LONG = "不动产登记（首次登记、转移登记、变更登记及抵押权登记）业务办理"


@pytest.fixture(scope="module")
def renderer():
    return render.Renderer()


def ink(part):
    w, h, data = render.unpack(part)
    stride = (w + 7) // 8
    return [[bool(data[y * stride + x // 8] & (0x80 >> (x % 8))) for x in range(w)] for y in range(h)]


def test_the_installed_cjk_font_is_found_and_a_bad_path_is_one_line(tmp_path):
    assert render.find_font("").endswith((".ttc", ".ttf", ".otf"))
    with pytest.raises(render.NoFont) as caught:
        render.find_font(str(tmp_path / "missing.ttf"))
    assert "render.font" in str(caught.value) and "\n" not in str(caught.value)


def test_a_long_item_name_wraps_to_two_lines_with_an_ellipsis(renderer):
    font = renderer.font(render.ITEM_FONT_PX)
    lines = render.wrap(LONG, font, render.ITEM_BOX[0], 2)
    assert len(lines) == 2 and lines[1].endswith(render.ELLIPSIS)
    assert all(font.getlength(line) <= render.ITEM_BOX[0] for line in lines)
    assert "".join(lines)[:-1] == LONG[: len("".join(lines)) - 1]  # nothing skipped
    assert render.wrap("户口迁移", font, 300, 2) == ["户口迁移"]
    name, w, h, _ = renderer.item(LONG)
    assert name == "item" and w <= 300 and 30 < h <= 48  # two lines of ink in the box
    assert renderer.item("户口迁移")[2] <= 24  # one line


def test_parts_are_msb_first_rows_padded_and_hold_ink(renderer):
    rows = ink(renderer.staff("张三"))
    assert any(any(r) for r in rows)
    assert any(rows[0]) and any(rows[-1])  # cropped to the ink
    assert any(r[-1] for r in rows)  # and to its right edge


def test_the_qr_part_is_the_module_matrix(renderer):
    url = "http://192.168.1.10:8080/r/s0123456789ab"
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=render.QR_BORDER)
    code.add_data(url)
    code.make(fit=True)
    assert ink(render.qr_part(url)) == [[bool(m) for m in row] for row in code.get_matrix()]
    assert len(code.get_matrix()) * 2 <= 120  # the device scales it at least 2x


def test_text_parts_are_cached_per_item_and_staff():
    r = render.Renderer()
    first = r.session_parts("户口迁移", "张三", "http://x/1")
    again = r.session_parts("户口迁移", "张三", "http://x/2")
    assert first[0] is again[0] and first[1] is again[1] and first[2] != again[2]
    assert (r.hits, r.misses) == (2, 2)


def test_the_device_decodes_a_session_message_from_the_host(renderer, tmp_path):
    key = bytes(range(32))
    parts = renderer.session_parts(LONG, "欧阳娜娜", "http://192.168.1.10:8080/r/s0123456789ab")
    fields = [
        1,
        "S",
        "w07-a",
        "s0123456789ab",
        "A001",
        LONG[:40],
        "s1",
        "欧阳娜娜",
        "0042",
        3,
        120,
        "http://192.168.1.10:8080/r/s0123456789ab",
        1795248000,
        parts,
    ]
    wire = messages.sign(key, fields)
    assert len(wire) < messages.MAX_HOST_MESSAGE
    path = tmp_path / "session.wire"
    path.write_bytes(wire)
    out = run_micropython("tests/mpy/render_parts.py", str(path), key.hex())
    got = {j["name"]: j for j in map(json.loads, out.stdout.splitlines())}
    for part in parts:
        assert (got[part[0]]["w"], got[part[0]]["h"]) == (part[1], part[2])
        assert got[part[0]]["ink"] == sum(map(sum, ink(part)))
