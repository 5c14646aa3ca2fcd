"""The demo pages' sample images: files of the test split the active model was trained on.

They are files on the server's own disk, not uploads, so they do not go through the upload
validator (deepboot_site.uploads); they are decoded the same memory-bounded way
(deepboot.decoding.decode_source, in the request's thread), so a sample costs what an upload of it
would. Each app's service finds its samples (a model's split file, a VOC folder) and keeps them in
a `SamplesCache`.
"""

from PIL import Image, UnidentifiedImageError

from deepboot.decoding import decode_source

from .uploads import WORKING_SIDE


class SamplesCache:
    """The samples found for each model record, found once per process (keyed by the record's id,
    so activating another model lists its own samples)."""

    def __init__(self):
        self._by_record = {}

    def get(self, record, find):
        """The samples of `record`, from `find(record)` the first time."""
        if record.pk not in self._by_record:
            self._by_record[record.pk] = find(record)
        return self._by_record[record.pk]

    def clear(self):
        self._by_record.clear()


def open_sample(path):
    """A sample file as a working RGB image (upright, shrunk as uploads are, its own size under
    deepboot.imaging.SOURCE_SIZE), or None when it is gone or cannot be read."""
    try:
        return decode_source(str(path), WORKING_SIDE)
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning,
            OSError, SyntaxError, ValueError, EOFError, IndexError):
        return None
