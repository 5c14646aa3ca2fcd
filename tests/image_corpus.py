"""Files the upload tests send: hostile, broken and awkward-but-valid images, made here.

`HOSTILE` maps a name to (bytes, filename, expected HTTP status); `VALID` maps a name to
(bytes, filename, expected (width, height) after EXIF orientation).
"""

import io
import struct
import zlib

from PIL import Image


def jpeg(size=(64, 48), color=(200, 30, 30), mode="RGB", **save):
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, "JPEG", **save)
    return buffer.getvalue()


def png(image):
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def png_bomb(width=100_000, height=100_000):
    """A valid PNG header claiming width x height pixels, with a tiny (truncated) zlib stream."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = zlib.compress(b"\x00" * (width + 1) * 4, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def animated_gif():
    frames = [Image.new("P", (40, 30), i * 60) for i in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def sixteen_bit_png():
    image = Image.new("I;16", (50, 40))
    image.putdata([(x * 1300) % 65535 for x in range(50 * 40)])
    return png(image)


def palette_png():
    return png(Image.new("RGB", (30, 20), (10, 120, 200)).convert("P", palette=Image.Palette.ADAPTIVE))


def rgba_png():
    return png(Image.new("RGBA", (30, 20), (10, 120, 200, 128)))


def cmyk_jpeg():
    return jpeg(mode="CMYK", color=(0, 255, 255, 0))


def exif_rotated_jpeg():
    """Stored 80 wide x 40 high, with EXIF orientation 6 (rotate 90° clockwise to view): 40 x 80."""
    image = Image.new("RGB", (80, 40), (0, 200, 0))
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def large_file(megabytes=12):
    """A real JPEG padded past the upload limit with a trailing comment-like tail."""
    return jpeg() + b"\0" * (megabytes * 1024 * 1024)


HOSTILE = {
    "empty": (b"", "empty.jpg", 400),
    "text renamed .jpg": (b"just some text, not a picture\n" * 20, "notes.jpg", 400),
    "html": (b"<!doctype html><html><body><script>alert(1)</script></body></html>", "page.html", 400),
    "svg": (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "x.svg", 400),
    "truncated jpeg": (jpeg((400, 300))[:700], "cut.jpg", 400),
    "truncated png": (png(Image.new("RGB", (300, 200), (1, 2, 3)).effect_spread(5))[:300], "cut.png", 400),
    "png decompression bomb": (png_bomb(), "bomb.png", 400),
    "12 MB file": (large_file(), "big.jpg", 413),
}

VALID = {
    "animated gif": (animated_gif(), "anim.gif", (40, 30)),
    "16-bit png": (sixteen_bit_png(), "deep.png", (50, 40)),
    "cmyk jpeg": (cmyk_jpeg(), "print.jpg", (64, 48)),
    "palette png": (palette_png(), "pal.png", (30, 20)),
    "rgba png": (rgba_png(), "alpha.png", (30, 20)),
    "exif-rotated jpeg": (exif_rotated_jpeg(), "phone.jpg", (40, 80)),
}
