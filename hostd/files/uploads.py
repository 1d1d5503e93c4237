"""One upload module for every file a person hands hostd (a 书面 form's scan,
a work order's or an appeal's evidence; a table to import goes through
hostd/files/tables.py, which shares the size check).

A file is accepted only when its bytes parse as what it claims to be:
  jpeg, png   Pillow opens and verifies it; more than MAX_PIXELS is refused
  pdf         pypdf reads its page tree; an encrypted or empty PDF is refused
and only when it is at most web.upload_max_kb. Its name is never trusted.

It is stored once, by its SHA-256, in hostd.db's uploads table, in the same
transaction as the rows that refer to it: a refused entry leaves nothing
behind, and the backups and the Litestream replica carry the files with the
database, so restoring a hall restores its scans and evidence too.
"""

import hashlib
import io
import warnings
from collections import namedtuple

from hostd.base.errors import UserError

KINDS = {"jpeg": "image/jpeg", "png": "image/png", "pdf": "application/pdf"}
KIND_NAMES = {"jpeg": "JPEG 图片", "png": "PNG 图片", "pdf": "PDF 文件"}
MAX_PIXELS = 40_000_000  # a 600 dpi A3 scan is about 70 MP at full colour; phones take 12-50 MP

Upload = namedtuple("Upload", "sha256 kind size data")


class UploadError(UserError):
    """A file refused: str() says why, in Chinese and English."""


def check_size(data, max_kb):
    """UploadError for an empty file or one over web.upload_max_kb."""
    if not data:
        raise UploadError("文件是空的 / the file is empty")
    if len(data) > max_kb * 1024:
        raise UploadError(
            "文件 %d KB，超过上限 %d KB（web.upload_max_kb） / the file is %d KB, over the %d KB limit"
            % (-(-len(data) // 1024), max_kb, -(-len(data) // 1024), max_kb)
        )


def check(data, max_kb):
    """The kind ('jpeg', 'png' or 'pdf') of `data`, or UploadError saying why not."""
    check_size(data, max_kb)
    if data[:5] == b"%PDF-":
        return _check_pdf(data)
    return _check_image(data)


def _check_image(data):
    from PIL import Image  # lazy: Pillow is heavy and only an upload needs it here

    not_image = UploadError("文件不是图片或 PDF（只收 JPEG、PNG、PDF） / the file is not a JPEG, PNG or PDF")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind = {"JPEG": "jpeg", "PNG": "png"}.get(image.format or "")
                if kind is None:
                    raise not_image
                if image.width * image.height > MAX_PIXELS:
                    raise UploadError(
                        "图片 %d×%d 像素过大 / the image is too large (%d × %d pixels)"
                        % (image.width, image.height, image.width, image.height)
                    )
                image.verify()
    except UploadError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise UploadError("图片像素过多 / the image has too many pixels")
    except Exception:  # Pillow raises many kinds on a broken or foreign file
        raise not_image
    return kind


def _check_pdf(data):
    from pypdf import PdfReader  # lazy: only an upload needs the PDF parser

    broken = UploadError("PDF 文件已损坏或无法读取 / the PDF is damaged or cannot be read")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise UploadError(
                "PDF 有密码保护，请上传未加密的文件 / the PDF is encrypted: upload it unencrypted"
            )
        pages = len(reader.pages)
    except UploadError:
        raise
    except Exception:  # pypdf raises many kinds on a damaged file
        raise broken
    if pages < 1:
        raise broken
    return "pdf"


def prepare(data, max_kb):
    """Check `data` (before any transaction): the Upload to record()."""
    kind = check(data, max_kb)
    return Upload(hashlib.sha256(data).hexdigest(), kind, len(data), data)


def record(db, upload, by, now):
    """Store `upload` (inside the caller's transaction); once per content."""
    db.conn.execute(
        "INSERT OR IGNORE INTO uploads (sha256, kind, bytes, data, created_at, created_by)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (upload.sha256, upload.kind, upload.size, upload.data, int(now), by),
    )


def read(db, sha256):
    """(bytes, media type) of a stored upload, or None."""
    row = db.conn.execute("SELECT kind, data FROM uploads WHERE sha256 = ?", (sha256,)).fetchone()
    if row is None:
        return None
    return bytes(row[1]), KINDS[row[0]]
