"""A server's resident memory, as the memory tests and the benchmarks read it: the worker process
and the processes under it (its upload decoders, deepboot/decoding.py), from /proc. Plain Python,
no Django, so bench/ imports it too."""

from pathlib import Path


def process_tree(pid):
    """`pid` and every process under it."""
    found = [pid]
    for parent in found:
        for children in Path(f"/proc/{parent}/task").glob("*/children"):
            try:
                found += [int(child) for child in children.read_text().split()]
            except OSError:  # the thread or the process has just ended
                pass
    return found


def rss_kib(pid, field="VmRSS"):
    """Resident memory of `pid` and the processes under it, KiB, from /proc/<pid>/status; with
    field="VmHWM", the sum of their peaks (a bound on the peak of the whole)."""
    total = 0
    for member in process_tree(pid):
        try:
            lines = Path(f"/proc/{member}/status").read_text().splitlines()
        except OSError:
            lines = []
        sizes = [int(line.split()[1]) for line in lines if line.startswith(field + ":")]
        if not sizes and member == pid:
            raise RuntimeError(f"no {field} for {pid}")
        total += sum(sizes)  # none for a decoder that has just ended (gone, or a zombie)
    return total
