"""Decoding uploaded images in a few processes at the lowest CPU priority, so that a worker busy
reading large images still answers its other requests at once.

Decoding a 10 MB JPEG takes a core for tens of milliseconds. In the serving process it ran at the
priority of everything else there, and on a machine of one or two cores the pages and the moves
waited behind it (the speed issue's head-of-line goal; bench/head_of_line.py). A lower priority for
the decoding *thread* does not help: it takes the interpreter's lock between pieces of the file,
and a preempted low-priority thread holding the lock stalls the others. A process shares no lock:
under SCHED_IDLE (Linux; elsewhere the lowest niceness) it gets only the CPU the serving process
leaves, and the kernel hands the CPU back the moment the worker has anything to do.

`DecodePool(processes).decode(source, side)` returns what `imaging.decode_working` returns for the
image in `source` (bytes, or the path of a file: a large upload stays on disk and only its name
crosses), or raises what it raises (Pillow's errors for a truncated or corrupt file, UnsupportedMode,
a DecompressionBombWarning as an error). The decoded pixels come back through shared memory, so
the serving process copies them once, not through a pipe and a pickle. A decoding process that dies
(a crash in a decoder, the kernel's OOM killer) raises DecoderLost in the caller, and the next call
starts new ones. With `processes=0` the image is decoded in the caller's thread.

The decoding processes are spawned, not forked (the serving process runs TensorFlow's threads,
which do not survive a fork), and import only Pillow and NumPy.
"""

import io
import os
import threading
import warnings
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context, shared_memory

from PIL import Image

from .imaging import decode_working


class DecoderLost(RuntimeError):
    """A decoding process died while it decoded this image."""


def decode_source(source, side):
    """`imaging.decode_working` for the image in `source` (bytes, or a file's path), with Pillow's
    decompression-bomb warning as an error (the caller has checked the header's size already;
    this is the last line)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
            return decode_working(image, side)


def lowest_priority():
    """Run this process only when the CPU is otherwise idle: SCHED_IDLE where Linux offers it,
    else niceness 19."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        os.nice(19 - os.nice(0))


def _decode_to_shared_memory(source, side):
    """In a decoding process: the image decoded (decode_source) and its pixels left in a new shared
    memory block; (block name, mode, size, info) for `_take_from_shared_memory`."""
    image = decode_source(source, side)
    pixels = image.tobytes()
    block = shared_memory.SharedMemory(create=True, size=max(1, len(pixels)))
    block.buf[:len(pixels)] = pixels
    block.close()
    return block.name, image.mode, image.size, image.info


def _take_from_shared_memory(name, mode, size, info):
    """In the caller: the image a decoding process left in block `name`, which is then freed."""
    block = shared_memory.SharedMemory(name)
    try:
        image = Image.frombytes(mode, size, block.buf)
    finally:
        block.close()
        block.unlink()
    image.info.update(info)
    return image


def _started():
    return os.getpid()


class DecodePool:
    """`processes` decoding processes at the lowest priority, started by `start()` or the first
    `decode`; with 0, `decode` runs in the caller's thread."""

    def __init__(self, processes):
        self.processes = processes
        self._executor = None
        self._lock = threading.Lock()

    def _pool(self):
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    self.processes, mp_context=get_context("spawn"), initializer=lowest_priority
                )
            return self._executor

    def start(self):
        """Start every decoding process now (a serving worker's start), so that no request waits
        for one; returns futures of their process ids without waiting for them."""
        if not self.processes:
            return []
        pool = self._pool()
        return [pool.submit(_started) for _ in range(self.processes)]

    def decode(self, source, side):
        """The working copy of the image in `source` (see the module docstring)."""
        if not self.processes:
            return decode_source(source, side)
        pool = self._pool()
        try:
            return _take_from_shared_memory(*pool.submit(_decode_to_shared_memory, source, side).result())
        except BrokenProcessPool as exc:
            with self._lock:
                if self._executor is pool:
                    self._executor = None
            pool.shutdown(wait=False)
            raise DecoderLost("a decoding process died") from exc

    def stop(self):
        """End the decoding processes (a worker that stops); a later `decode` starts new ones."""
        with self._lock:
            pool, self._executor = self._executor, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
