"""The disk's limit for a mail server: durable small-file creations per second (write 5 KB, fsync,
rename, fsync the folder), measured with bench/lib/durable_create.c compiled on the fly, in a folder
on the same filesystem as the benchmarks' temporary folders.
"""

import os
import subprocess
import tempfile
import time

from common import BenchError, make_tempdir, remove_tree

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "durable_create.c")


def compile_tool(folder):
    exe = os.path.join(folder, "durable_create")
    cc = os.environ.get("CC", "cc")
    r = subprocess.run([cc, "-O2", "-pthread", "-o", exe, SOURCE], capture_output=True, text=True)
    if r.returncode != 0:
        raise BenchError(f"{cc} durable_create.c: {r.stderr.strip()[:300]}")
    return exe


def filesystem(path):
    """'ext4 on /dev/vda' for the filesystem holding path."""
    best = ("?", "?", "")
    with open("/proc/mounts") as f:
        for line in f:
            dev, mnt, fstype = line.split()[:3]
            if (path + "/").startswith(mnt.rstrip("/") + "/") and len(mnt) >= len(best[2]):
                best = (fstype, dev, mnt)
    return f"{best[0]} on {best[1]}"


def c_rate(threads, seconds=3.0, size=5120):
    """Files per second with `threads` threads writing into one folder."""
    d = make_tempdir("disk")
    try:
        exe = compile_tool(d)
        work = os.path.join(d, "files")
        os.mkdir(work)
        r = subprocess.run([exe, work, str(threads), str(seconds), str(size)], capture_output=True, text=True)
        if r.returncode != 0:
            raise BenchError(f"durable_create: {r.stderr.strip()[:300]}")
        made, elapsed = r.stdout.split()
        return int(made) / float(elapsed)
    finally:
        remove_tree(d)


def python_rate(seconds=3.0, size=5120, sync=True):
    """The same loop in Python, single-threaded; sync=False leaves the fsyncs out, which measures what
    the loop costs Python itself."""
    d = make_tempdir("disk-py")
    try:
        payload = bytes(size)
        dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        n = 0
        start = time.monotonic()
        end = start + seconds
        while time.monotonic() < end:
            tmp, final = os.path.join(d, f"{n}.tmp"), os.path.join(d, f"{n}.msg")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, payload)
            if sync:
                os.fsync(fd)
            os.close(fd)
            os.rename(tmp, final)
            if sync:
                os.fsync(dfd)
            n += 1
        elapsed = time.monotonic() - start
        os.close(dfd)
        return n / elapsed
    finally:
        remove_tree(d)


def where():
    return filesystem(tempfile.gettempdir())
