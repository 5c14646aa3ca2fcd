"""One validation path for every uploaded image (the classify and detect APIs and pages).

`read_uploaded_image` turns the `image` field of a request into an RGB Pillow image with its
EXIF orientation applied, or raises UploadError with the HTTP status and a message a person
can act on. Its cost is bounded: the sides and the pixel count are checked from the header before
decoding, a JPEG is decoded at a reduced scale, and any image is shrunk by a whole factor to
between WORKING_SIDE and twice that on its longer side as soon as it is decoded
(`source_size(image)` still gives the size of the uploaded image, for boxes in its pixels).

The pixels are decoded in the worker's decoding processes (deepboot/decoding.py, at the lowest CPU
priority), not in the request's thread. Nothing is written to disk here: Django's upload handlers
keep a small file in memory (its bytes go to the decoder) and a large one in a temporary file
(only its path goes), and remove their temporary files themselves.
"""

import io
import warnings

from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from deepboot.decoding import DecodePool, DecoderLost
from deepboot.imaging import SOURCE_SIZE, UnsupportedMode

ACCEPTED_FORMATS = {"JPEG", "PNG", "GIF", "BMP", "WEBP", "TIFF"}
FIELD = "image"
# The longer side an upload is shrunk to at the least (and to under twice that): above every
# model's input (224 for the classifiers, at most 640 for the detectors) and the pages' previews (800).
WORKING_SIDE = 1024


class UploadError(Exception):
    """An upload we refuse; `status` is the HTTP status to answer with."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.message = message
        self.status = status


def _megabytes(n_bytes):
    return f"{n_bytes / (1024 * 1024):.0f} MB"


def body_refusal(content_length, transfer_encoding=""):
    """The one rule on a request body's size, from its headers: (status, message) for one we refuse,
    else None. Too large for the upload limit (with room for the form's other fields): 413. Chunked
    with no Content-Length: 411 (Django would read it as empty and the message would lie). A
    Content-Length that is not a number: 400."""
    if not content_length:
        if "chunked" in (transfer_encoding or "").lower():
            return 411, _("Send the upload with a Content-Length header: chunked request bodies are not accepted.")
        return None
    limit = settings.DEEPBOOT_MAX_UPLOAD_BYTES
    try:
        length = int(content_length)
    except ValueError:
        return 400, _("The Content-Length header is not a number.")
    if length > limit + 64 * 1024:
        return 413, _too_large(limit)
    return None


def check_request_size(request):
    """Refuse an oversized (or chunked) body by `body_refusal`, before Django parses it."""
    refusal = body_refusal(request.META.get("CONTENT_LENGTH"), request.META.get("HTTP_TRANSFER_ENCODING", ""))
    if refusal is not None:
        raise UploadError(refusal[1], status=refusal[0])


def uploaded_file(request):
    """The single file in the `image` field, or UploadError."""
    files = request.FILES.getlist(FIELD)
    if not files:
        raise UploadError(_("No image was sent: upload a file in the '%(field)s' field.") % {"field": FIELD})
    if len(files) > 1:
        raise UploadError(
            _("Send one image at a time: the '%(field)s' field came %(count)d times.") % {"field": FIELD, "count": len(files)}
        )
    upload = files[0]
    if upload.size == 0:
        raise UploadError(_("The file is empty."))
    if upload.size > settings.DEEPBOOT_MAX_UPLOAD_BYTES:
        raise UploadError(_too_large(settings.DEEPBOOT_MAX_UPLOAD_BYTES), status=413)
    return upload


def source_size(image):
    """(width, height) of the uploaded image a working copy was made from (its own size otherwise)."""
    return tuple(image.info.get(SOURCE_SIZE, image.size))


def open_image(source):
    """Decode an image (bytes, or a file's path) into an RGB working copy, refusing what is not a
    whole, reasonable image. The header is checked here; the pixels are decoded by `decoder()`."""
    max_pixels = settings.DEEPBOOT_MAX_IMAGE_PIXELS
    # We refuse from the header's size before decoding. Pillow's own process-wide bomb guard is left
    # as it is (changing it would leak into every other use of Pillow); its warning counts as an error.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
                check_header(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise UploadError(_too_many_pixels(max_pixels)) from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise UploadError(
                _("This file is not an image we can read (JPEG, PNG, GIF, BMP, WebP, TIFF).")
            ) from exc
    try:
        return decoder().decode(source, WORKING_SIDE)
    except UnsupportedMode as exc:
        raise UploadError(_("Unsupported image mode '%(mode)s'.") % {"mode": exc.mode}, status=415) from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UploadError(_too_many_pixels(max_pixels)) from exc
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, DecoderLost) as exc:
        raise UploadError(_("The image is truncated or corrupt.")) from exc


def check_header(image):
    """Refuse an opened image from its header: its format, its sides and its pixel count."""
    if image.format not in ACCEPTED_FORMATS:
        raise UploadError(
            _("Unsupported image format '%(format)s': send a JPEG, PNG, GIF, BMP, WebP or TIFF.")
            % {"format": image.format},
            status=415,
        )
    width, height = image.size
    max_side = settings.DEEPBOOT_MAX_IMAGE_SIDE
    if max(width, height) > max_side:
        raise UploadError(
            _("The image is too large: it is %(width)s x %(height)s pixels and the limit is %(limit)s pixels a side.")
            % {"width": width, "height": height, "limit": f"{max_side:,}"}
        )
    if width * height > settings.DEEPBOOT_MAX_IMAGE_PIXELS:
        raise UploadError(_too_many_pixels(settings.DEEPBOOT_MAX_IMAGE_PIXELS))
    if width < 1 or height < 1:
        raise UploadError(_("The image has no pixels."))


_decoder = None


def decoder():
    """This process's DecodePool of DEEPBOOT_DECODE_PROCESSES, made on first use; a serving worker
    starts its processes as it starts (deepboot_site/asgi.py)."""
    global _decoder
    if _decoder is None:
        _decoder = DecodePool(settings.DEEPBOOT_DECODE_PROCESSES)
    return _decoder


def _too_many_pixels(max_pixels):
    return _("The image has too many pixels: the limit is %(megapixels)s megapixels.") % {"megapixels": f"{max_pixels / 1e6:.0f}"}


def _too_large(limit):
    return _("The file is too large: the limit is %(size)s.") % {"size": _megabytes(limit)}


def read_uploaded_image(request):
    """The request's `image` upload as an RGB image, or UploadError (status and message)."""
    check_request_size(request)
    upload = uploaded_file(request)
    if hasattr(upload, "temporary_file_path"):  # a large upload, on disk: its bytes stay there
        return open_image(upload.temporary_file_path())
    return open_image(upload.read(settings.DEEPBOOT_MAX_UPLOAD_BYTES + 1))
