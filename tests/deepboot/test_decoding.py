"""deepboot.decoding: uploads decoded in processes at the lowest CPU priority, the same working copy
as in the caller's thread, errors crossing intact, and a lost process not losing the pool."""

import io
import os
import pickle
import signal

import numpy as np
import pytest
from PIL import Image

from deepboot.decoding import DecodePool, DecoderLost, decode_source
from deepboot.imaging import SOURCE_SIZE, UnsupportedMode


@pytest.fixture(scope="module")
def pool():
    pool = DecodePool(1)
    yield pool
    pool.stop()


def jpeg_bytes(size=(2300, 1700), seed=0):
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def test_a_decoding_process_gives_the_working_copy_the_caller_would_decode(pool, tmp_path):
    data = jpeg_bytes()
    (tmp_path / "upload.jpg").write_bytes(data)
    here = decode_source(data, 1024)
    for source in (data, str(tmp_path / "upload.jpg")):
        there = pool.decode(source, 1024)
        assert (there.mode, there.size) == ("RGB", here.size) == ("RGB", (1150, 850))
        assert there.info[SOURCE_SIZE] == (2300, 1700)
        assert np.array_equal(np.asarray(there), np.asarray(here))


def test_the_decoding_processes_run_at_the_lowest_priority(pool):
    (future,) = pool.start()
    pid = future.result(timeout=60)
    assert pid != os.getpid()
    assert os.sched_getscheduler(pid) == os.SCHED_IDLE


def test_errors_cross_from_the_decoding_process_as_what_pillow_raised(pool):
    data = jpeg_bytes((600, 400))
    with pytest.raises(OSError, match="truncated"):
        pool.decode(data[: len(data) // 2], 1024)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "TIFF")
    assert pool.decode(buffer.getvalue(), 1024).size == (8, 8)


def test_an_unsupported_mode_keeps_its_name_across_the_process_boundary():
    assert pickle.loads(pickle.dumps(UnsupportedMode("I;16S"))).mode == "I;16S"


def test_a_killed_decoding_process_fails_its_image_and_the_next_image_is_decoded():
    pool = DecodePool(1)
    try:
        (future,) = pool.start()
        os.kill(future.result(timeout=60), signal.SIGKILL)
        with pytest.raises(DecoderLost):
            pool.decode(jpeg_bytes((600, 400)), 1024)
        assert pool.decode(jpeg_bytes((600, 400)), 1024).size == (600, 400)
    finally:
        pool.stop()


def test_no_processes_decodes_in_the_callers_thread():
    pool = DecodePool(0)
    assert pool.start() == []
    assert pool.decode(jpeg_bytes((300, 200)), 1024).size == (300, 200)
    assert pool._executor is None
