"""`hostd device label`: a 1-bit 50x30 mm PNG at 300 dpi with the QR code of the id.

No QR decoder is installed (pyzbar/zbar), so the test regenerates the QR
matrix with `qrcode` and reads every module back from the label's pixels.
"""

from click.testing import CliRunner
from hostd_support import make_home
from PIL import Image

from hostd.cli import cli
from hostd.devices import label


def hostd(home, *args):
    return CliRunner().invoke(cli, ["--home", str(home.path), *args])


def test_the_label_has_the_size_the_mode_and_a_qr_code_of_the_id(tmp_path):
    home = make_home(tmp_path / "home", hall="hall-01")
    assert hostd(home, "device", "add", "w12-b", "--window", "12").exit_code == 0
    out = tmp_path / "w12-b.png"
    result = hostd(home, "device", "label", "w12-b", "--out", str(out))
    assert result.exit_code == 0, result.output
    image = Image.open(out)
    assert image.size == (590, 354) and image.mode == "1"
    assert round(image.info["dpi"][0]) == 300
    left, top, box, modules = label.qr_geometry("w12-b")
    assert box >= 8  # at 300 dpi: a module of 0.7 mm or more scans from a label printer
    matrix = label.qr_matrix("w12-b")
    pixels = image.load()
    for y in range(modules):
        for x in range(modules):
            dark = pixels[left + x * box + box // 2, top + y * box + box // 2] == 0
            assert dark == matrix[y][x], (x, y)
    text_area = image.crop((left + box * modules + 10, 0, 590, 354))
    assert 0 < text_area.histogram()[0] < text_area.width * text_area.height // 2


def test_a_different_id_gives_a_different_code(tmp_path):
    a = label.render("w01-a", "h1", "1")
    b = label.render("w01-b", "h1", "1")
    assert a.tobytes() != b.tobytes()


def test_an_unknown_device_and_a_missing_font_are_one_line(tmp_path):
    home = make_home(tmp_path / "home")
    result = hostd(home, "device", "label", "nobody")
    assert result.exit_code != 0 and result.output.strip().startswith("Error: no device 'nobody'")
    assert hostd(home, "device", "add", "w01-a", "--window", "1").exit_code == 0
    result = hostd(
        home,
        "device",
        "label",
        "w01-a",
        "--out",
        str(tmp_path / "x.png"),
        "--font",
        str(tmp_path / "none.ttc"),
    )
    assert result.exit_code != 0 and "fonts-wqy-microhei" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "x.png").exists()
