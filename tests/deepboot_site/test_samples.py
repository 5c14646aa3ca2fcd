"""Sample images: read from disk shrunk as uploads are (without the upload validator's limits),
and listed once per model record."""

from types import SimpleNamespace

from PIL import Image

from deepboot.imaging import SOURCE_SIZE
from deepboot_site.samples import SamplesCache, open_sample
from deepboot_site.uploads import WORKING_SIDE


def test_a_large_sample_is_decoded_shrunk_and_keeps_its_own_size(tmp_path, settings):
    settings.DEEPBOOT_MAX_IMAGE_SIDE = 1000  # an upload this size would be refused; a sample is not
    path = tmp_path / "big.jpg"
    Image.new("RGB", (4000, 3000), (10, 200, 30)).save(path, "JPEG")
    image = open_sample(path)
    assert image.mode == "RGB"
    assert WORKING_SIDE <= max(image.size) < 2 * WORKING_SIDE
    assert image.info[SOURCE_SIZE] == (4000, 3000)


def test_a_missing_or_unreadable_sample_is_none(tmp_path):
    (tmp_path / "junk.jpg").write_bytes(b"not an image")
    assert open_sample(tmp_path / "gone.jpg") is None
    assert open_sample(tmp_path / "junk.jpg") is None


def test_samples_are_found_once_per_model_record():
    calls = []

    def find(record):
        calls.append(record.pk)
        return [f"sample of {record.pk}"]

    cache = SamplesCache()
    first, second = SimpleNamespace(pk=1), SimpleNamespace(pk=2)
    assert cache.get(first, find) == cache.get(first, find) == ["sample of 1"]
    assert cache.get(second, find) == ["sample of 2"]
    assert calls == [1, 2]
    cache.clear()
    cache.get(first, find)
    assert calls == [1, 2, 1]
