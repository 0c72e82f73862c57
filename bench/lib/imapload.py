"""The IMAP load of bench/imap and bench/compare: a raw IMAP client on asyncio (many connections per
process, a few processes), the same for every server.

Mixed workload: each client logs in as one of the users (round robin) and, until the time is up,
repeats one iteration:
  select        SELECT INBOX
  fetch_flags   UID FETCH 1:* (UID FLAGS)                        (a client resynchronising its flags)
  fetch_list    FETCH <last 200> (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE)]),
                every other iteration (UID FLAGS RFC822.SIZE ENVELOPE) instead
  fetch_body    3 x UID FETCH <random> BODY.PEEK[]
  store         2 x UID STORE <random> +FLAGS (\\Seen)
  search        1 x UID SEARCH UNSEEN | FROM "<name>" | SUBJECT "<topic>" in turn
  append        APPEND INBOX of a 5 KB message (LITERAL+ when offered)
  expunge       every 5th iteration: UID STORE <5 random> +FLAGS.SILENT (\\Deleted), then EXPUNGE
An operation counts when its tagged OK arrives before the deadline; NO/BAD count as errors of its kind.
Every client runs the same sequence, so the rates of the kinds keep the same proportions; what tells
the kinds apart is their mean latency (from sending the command to its tagged reply), also returned.

Idle memory: N connections logged in (LOGIN) with INBOX selected, kept open while the caller measures the
server's memory.
"""

import asyncio
import multiprocessing
import os
import random
import re
import ssl
import time

from common import NAMES, PASSWORD, TOPICS, BenchError, message

LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")
EXISTS = re.compile(rb"^\* (\d+) EXISTS")
UID = re.compile(rb"UID (\d+)")
KINDS = ["select", "fetch_flags", "fetch_list", "fetch_body", "store", "search", "append", "expunge"]


_TLS = None


def tls_context():
    """One client context for every connection (loading the CA store each time costs ~30 ms)."""
    global _TLS
    if _TLS is None:
        _TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        _TLS.check_hostname = False
        _TLS.verify_mode = ssl.CERT_NONE
    return _TLS


class ImapError(Exception):
    pass


class Conn:
    """One IMAP connection. command() sends a tagged command and returns (status, untagged lines)."""

    def __init__(self, reader, writer):
        self.r, self.w = reader, writer
        self.n = 0
        self.caps = b""
        self.exists = 0

    @classmethod
    async def open(cls, host, port, tls, timeout=60):
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=tls_context() if tls else None, limit=1 << 22), timeout)
        c = cls(reader, writer)
        greeting = await asyncio.wait_for(reader.readuntil(b"\r\n"), timeout)
        if not greeting.startswith(b"* OK"):
            writer.close()
            raise ImapError(f"greeting: {greeting[:100]!r}")
        return c

    async def _read_until(self, tag):
        lines = []
        r = self.r
        while True:
            line = await r.readuntil(b"\r\n")
            while line.endswith(b"}\r\n"):
                m = LITERAL.search(line)
                if not m:
                    break
                lines.append(line)
                lines.append(await r.readexactly(int(m.group(1))))
                line = await r.readuntil(b"\r\n")
            if line.startswith(tag):
                return line[len(tag):].split(b" ", 1)[0], lines, line
            if line.startswith(b"* ") and line.endswith(b" EXISTS\r\n"):
                self.exists = int(EXISTS.match(line).group(1))
            lines.append(line)

    async def command(self, text, literal=None):
        self.n += 1
        tag = b"a%d " % self.n
        if literal is None:
            self.w.write(tag + text + b"\r\n")
        elif b"LITERAL+" in self.caps:
            self.w.write(tag + text + b" {%d+}\r\n" % len(literal) + literal + b"\r\n")
        else:
            self.w.write(tag + text + b" {%d}\r\n" % len(literal))
            line = await self.r.readuntil(b"\r\n")
            while not line.startswith(b"+"):
                if line.startswith(tag):
                    return line[len(tag):].split(b" ", 1)[0], [], line
                line = await self.r.readuntil(b"\r\n")
            self.w.write(literal + b"\r\n")
        status, lines, last = await self._read_until(tag)
        return status, lines, last

    async def login(self, user):
        status, _, last = await self.command(b'LOGIN "%s" "%s"' % (user.encode(), PASSWORD.encode()))
        if status != b"OK":
            raise ImapError(f"LOGIN {user}: {last.strip()[:200]!r}")
        status, lines, _ = await self.command(b"CAPABILITY")
        self.caps = b" ".join(l for l in lines if l.startswith(b"* CAPABILITY"))

    async def select(self):
        status, _, last = await self.command(b"SELECT INBOX")
        if status != b"OK":
            raise ImapError(f"SELECT: {last.strip()[:200]!r}")
        return self.exists

    def close(self):
        try:
            self.w.close()
        except Exception:
            pass


def uids_of(lines):
    return [int(m.group(1)) for l in lines if l.startswith(b"* ") and (m := UID.search(l))]


async def _client(host, port, tls, user, seed, deadline_box, stats, size):
    """One connection, in two steps (an async generator): the first step connects and logs in, the
    second runs the mixed workload until deadline_box[0], which is set between the two; fills stats."""
    rnd = random.Random(seed)
    c = await Conn.open(host, port, tls)
    await c.login(user)
    counts, errors = stats["counts"], stats["errors"]
    it = 0
    uids = []
    try:
        yield True
        deadline = deadline_box[0]

        async def op(kind, text, literal=None):
            t0 = time.monotonic()
            status, lines, last = await c.command(text, literal)
            t1 = time.monotonic()
            if t1 <= deadline:
                if status == b"OK":
                    counts[kind] += 1
                    stats["seconds"][kind] += t1 - t0
                else:
                    errors[kind] += 1
                    if kind not in stats["samples"]:
                        stats["samples"][kind] = last.strip()[:200].decode(errors="replace")
            return status, lines

        while time.monotonic() < deadline:
            await op("select", b"SELECT INBOX")
            _, lines = await op("fetch_flags", b"UID FETCH 1:* (UID FLAGS)")
            uids = uids_of(lines) or uids
            first = max(1, c.exists - 199)
            items = (b"(UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE)])" if it % 2 == 0
                     else b"(UID FLAGS RFC822.SIZE ENVELOPE)")
            await op("fetch_list", b"FETCH %d:* %s" % (first, items))
            if uids:
                for _ in range(3):
                    await op("fetch_body", b"UID FETCH %d BODY.PEEK[]" % rnd.choice(uids))
                for _ in range(2):
                    await op("store", b"UID STORE %d +FLAGS (\\Seen)" % rnd.choice(uids))
            k = it % 3
            if k == 0:
                await op("search", b"UID SEARCH UNSEEN")
            elif k == 1:
                await op("search", b'UID SEARCH FROM "%s"' % rnd.choice(NAMES).encode())
            else:
                await op("search", b'UID SEARCH SUBJECT "%s"' % rnd.choice(TOPICS).encode())
            await op("append", b"APPEND INBOX", message(user, rnd.randrange(1 << 30), size, seed="append"))
            if it % 5 == 4 and len(uids) > 10:
                victims = b",".join(b"%d" % u for u in rnd.sample(uids[-200:], 5))
                await c.command(b"UID STORE %s +FLAGS.SILENT (\\Deleted)" % victims)
                await op("expunge", b"EXPUNGE")
            it += 1
        await c.command(b"LOGOUT")
    finally:
        c.close()


async def _worker_main(host, port, tls, assignments, barrier, duration, size):
    stats = {"counts": dict.fromkeys(KINDS, 0), "errors": dict.fromkeys(KINDS, 0), "samples": {},
             "seconds": dict.fromkeys(KINDS, 0.0)}
    deadline_box = [0.0]
    gens = [_client(host, port, tls, user, seed, deadline_box, stats, size) for user, seed in assignments]
    # Connect and log in every client first (sequentially: login storms are not what is measured).
    for g in gens:
        await g.__anext__()
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, barrier.wait, 120)
    deadline_box[0] = time.monotonic() + duration
    start = time.process_time()

    async def run(g):
        try:
            await g.__anext__()
        except StopAsyncIteration:
            pass

    results = await asyncio.gather(*(run(g) for g in gens), return_exceptions=True)
    failures = [repr(r) for r in results if isinstance(r, BaseException)]
    stats["failures"] = failures[:3]
    stats["failed_clients"] = len(failures)
    stats["cpu_s"] = time.process_time() - start
    return stats


def _worker(host, port, tls, assignments, barrier, duration, size, queue):
    try:
        stats = asyncio.run(_worker_main(host, port, tls, assignments, barrier, duration, size))
    except Exception as e:  # a client could not connect or log in: nobody waits for this worker
        barrier.abort()
        stats = {"error": f"{type(e).__name__}: {e}"}
    queue.put(stats)


def run_mixed(host, port, tls, users, clients, duration, procs=2, size=5120, seed=1):
    """Runs the mixed workload; returns {"ops_s", "per_kind": {kind: ops/s}, "errors": {...}, ...}."""
    ctx = multiprocessing.get_context("fork")
    procs = max(1, min(procs, clients))
    assignments = [[] for _ in range(procs)]
    for i in range(clients):
        assignments[i % procs].append((users[i % len(users)], seed * 1000 + i))
    barrier = ctx.Barrier(procs + 1)
    queue = ctx.Queue()
    workers = [ctx.Process(target=_worker, args=(host, port, tls, a, barrier, duration, size, queue))
               for a in assignments]
    for w in workers:
        w.start()
    try:
        barrier.wait(timeout=300)
    except Exception:
        pass
    results = [queue.get(timeout=duration + 300) for _ in workers]
    for w in workers:
        w.join()
    bad = [r["error"] for r in results if "error" in r]
    if bad:
        raise BenchError(f"IMAP clients could not start: {bad[0]}")
    counts = dict.fromkeys(KINDS, 0)
    errors = dict.fromkeys(KINDS, 0)
    seconds = dict.fromkeys(KINDS, 0.0)
    samples = {}
    for r in results:
        for k in KINDS:
            counts[k] += r["counts"][k]
            errors[k] += r["errors"][k]
            seconds[k] += r["seconds"][k]
        samples.update(r["samples"])
    failed = sum(r["failed_clients"] for r in results)
    failures = [f for r in results for f in r["failures"]]
    total = sum(counts.values())
    return {
        "ops_s": total / duration,
        "per_kind": {k: counts[k] / duration for k in KINDS},
        "latency_ms": {k: 1000 * seconds[k] / counts[k] for k in KINDS if counts[k]},
        "errors": {k: v for k, v in errors.items() if v},
        "error_samples": samples,
        "failed_clients": failed,
        "failures": failures[:3],
        "client_cpu": sum(r["cpu_s"] for r in results) / duration,
    }


async def _warm(host, port, tls, user):
    c = await Conn.open(host, port, tls)
    try:
        await c.login(user)
        n = await c.select()
        for items in (b"(UID FLAGS RFC822.SIZE ENVELOPE)",
                      b"(UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE)])"):
            status, _, last = await c.command(b"FETCH 1:* " + items)
            if status != b"OK":
                raise ImapError(f"FETCH: {last.strip()[:200]!r}")
        for q in (b"UNSEEN", b'FROM "alice"', b'SUBJECT "report"'):
            await c.command(b"UID SEARCH " + q)
        await c.command(b"LOGOUT")
        return n
    finally:
        c.close()


def warm_up(host, port, tls, users):
    """Opens each user's INBOX once (index and caches built, envelopes parsed); returns message counts."""
    async def main():
        return await asyncio.gather(*(_warm(host, port, tls, u) for u in users))
    return asyncio.run(main())


def probe(host, port, tls, user):
    """None when the server greets, logs the user in and selects INBOX; else what went wrong."""
    async def main():
        c = await Conn.open(host, port, tls, timeout=10)
        try:
            await asyncio.wait_for(c.login(user), 10)
            await asyncio.wait_for(c.select(), 30)
        finally:
            c.close()
    try:
        asyncio.run(main())
        return None
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ImapError, ssl.SSLError) as e:
        return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__


def idle_memory(host, port, tls, users, count, measure, select=True, concurrency=20, settle=2.0):
    """Opens `count` connections (logged in, INBOX selected unless select=False) spread over `users`,
    calls measure() before and after (it returns a dict of kB figures), closes them. Returns
    {"opened", "failed", "before", "after", "sample_error", "open_s"}."""
    async def main():
        conns, failed, sample = [], 0, None
        sem = asyncio.Semaphore(concurrency)

        async def one(i):
            nonlocal failed, sample
            async with sem:
                try:
                    c = await Conn.open(host, port, tls)
                    conns.append(c)
                    await c.login(users[i % len(users)])
                    if select:
                        await c.select()
                except Exception as e:
                    failed += 1
                    sample = sample or f"{type(e).__name__}: {e}"
        before = measure()
        t0 = time.monotonic()
        await asyncio.gather(*(one(i) for i in range(count)))
        open_s = time.monotonic() - t0
        await asyncio.sleep(settle)
        after = measure()
        for c in conns:
            c.close()
        await asyncio.sleep(0.2)
        return {"opened": count - failed, "failed": failed, "before": before, "after": after,
                "sample_error": sample, "open_s": open_s}
    return asyncio.run(main())
