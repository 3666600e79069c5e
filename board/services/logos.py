"""Organisation logos: a PNG or JPEG of at most 2 MB, recognised by its content (never by
its name or declared type), decoded with Pillow within a pixel budget, resized and
re-encoded as a fresh PNG (whatever else the upload carried, trailing script included, is
not kept), stored under UPLOAD_DIR/logos with a generated name and served only through
the board's checks.

Files follow the database transaction the way reply attachments do (services.uploads): a
logo stored in a transaction that does not commit is removed; a replaced logo is removed
once the change has committed."""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l

from . import uploads
from .errors import Invalid

MAX_BYTES = 2 * 1024 * 1024  # the default of LOGO_MAX_BYTES
#: Largest picture decoded (width x height): a small file that expands beyond this (a
#: decompression bomb) is refused before its pixels are read.
MAX_PIXELS = 25_000_000
#: The stored logo fits in this square.
SIZE = 256
_KEY = re.compile(r"^[0-9a-f]{32}\.png$")


def folder() -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / "logos"


def path_of(key: str | None) -> Path | None:
    """Where a stored logo lives; None for anything that is not a key we generate."""
    if not key or not _KEY.match(key):
        return None
    return folder() / key


def max_bytes() -> int:
    from flask import has_app_context

    return int(current_app.config.get("LOGO_MAX_BYTES", MAX_BYTES)) if has_app_context() else MAX_BYTES


def _refuse(message=None):
    raise Invalid(message or _l("Upload a PNG or JPEG image: this file is not one."), "logo")


def reencode(data: bytes) -> bytes:
    """The upload as a clean PNG of at most SIZE x SIZE pixels, or Invalid."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > max_bytes():
        _refuse(_l("The image is larger than %(mb)d MB.", mb=max(1, max_bytes() // (1024 * 1024))))
    if not data:
        _refuse(_l("The file is empty."))
    if not (data.startswith(b"\x89PNG\r\n\x1a\n") or data.startswith(b"\xff\xd8\xff")):
        _refuse()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=["PNG", "JPEG"]) as probe:
                w, h = probe.size
                if w < 1 or h < 1 or w * h > MAX_PIXELS:
                    _refuse(_l("The image is too large in pixels; upload a smaller one."))
                probe.verify()
            with Image.open(io.BytesIO(data), formats=["PNG", "JPEG"]) as img:
                img.draft("RGB", (SIZE * 2, SIZE * 2))  # JPEG: decode at a reduced size
                img.load()
                img = img.convert("RGBA")
                img.thumbnail((SIZE, SIZE))
                out = io.BytesIO()
                img.save(out, format="PNG", optimize=True)
    except Invalid:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        _refuse(_l("The image is too large in pixels; upload a smaller one."))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        _refuse()
    return out.getvalue()


def store(file_storage) -> str:
    """Check, re-encode and keep an uploaded logo; returns its generated key."""
    data = uploads._read_limited(file_storage.stream, max_bytes())
    return uploads.keep(folder(), reencode(data), ".png")


def discard(key: str | None) -> None:
    """Delete a stored logo once the transaction that stops pointing to it commits."""
    path = path_of(key)
    if path is not None:
        uploads._pending()["old"].append(path)
