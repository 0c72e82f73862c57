"""A bounded soak: the server's memory while it carries large messages, and after.

Mixed load on one server: SMTP deliveries (small and 5 MB), IMAP FETCH of large messages by a client
that reads at full speed, one that reads slowly and two that never read, POP3 RETR, then 1,500 small
deliveries expunged again. The server's resident set size (VmRSS) is printed at the
start (after a warm-up that touches every path once), at its peak and at the end. Asserted, with
generous bounds (memory, never time):
- a session that asks for 50 x 5 MB and never reads holds at most a few MB: the RSS grows by less than
  NEVER_READ_BOUND while it waits (it grew by the whole response, 250 MB and more, when FETCH
  formatted its messages in memory before writing);
- when every client has gone, the RSS is back within END_RATIO of the warm-up figure plus END_SLACK.
The work is a fixed amount (no loop on the clock): about 15 s on an idle 2-core machine.
"""

import base64
import fcntl
import poplib
import random
import re
import smtplib
import socket
import struct
import termios
import threading
import time

from harness import DOMAIN, HOST, PASSWORD, WAIT, TernTestCase, main, rss_kib
from imap_client import Conn, message

MB = 1024 * 1024
BIG = 5 * MB
NEVER_READ_BOUND = 64 * 1024   # KiB
END_RATIO = 1.2
END_SLACK = 40 * 1024          # KiB
SAMPLES = 20                   # RSS samples taken while a never-reading client holds its FETCH


def big_message(subject, size, seed):
    payload = random.Random(seed).randbytes(size * 3 // 4)
    head = (f"From: big@example.test\r\nTo: soak@{DOMAIN}\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n"
            "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n").encode()
    return head + base64.encodebytes(payload).replace(b"\n", b"\r\n")


def imap(server, user, rcvbuf=None):
    """A logged-in IMAP connection on the plain listener with INBOX selected; `rcvbuf` shrinks the
    socket's receive buffer before connecting (a client that reads little)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(WAIT)
    s.connect((HOST, server.ports["imap"]))
    c = Conn.__new__(Conn)
    c.sock, c.buf, c.n, c.inflate, c.deflate = s, b"", 0, None, None
    c.greeting = c.response()
    c.login(user)
    c.select()
    return c


def drain(c, tag, block=1 << 18, pause=0.0):
    """Reads the responses up to `tag`'s, skipping literal data (no copy of it is kept); returns the
    tagged line and the literal octets read. `pause` after each block makes a slow reader."""
    buf = bytearray(c.buf)
    c.buf = b""
    total = 0

    def more():
        chunk = c.sock.recv(block)
        if not chunk:
            raise ConnectionError("closed by the server")
        if pause:
            time.sleep(pause)
        return chunk

    while True:
        i = buf.find(b"\r\n")
        while i < 0:
            buf += more()
            i = buf.find(b"\r\n")
        line = bytes(buf[:i])
        del buf[:i + 2]
        if line.startswith(tag.encode() + b" "):
            return line, total
        m = re.search(rb"\{(\d+)\}$", line)
        if not m:
            continue
        n = int(m.group(1))
        total += n
        take = min(n, len(buf))
        del buf[:take]
        n -= take
        while n > 0:
            chunk = more()
            if len(chunk) > n:
                buf += chunk[n:]
            n -= min(n, len(chunk))


def unread_octets(sock):
    return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]


class SoakTests(TernTestCase):
    def setUp(self):
        self.t = self.make_server(users=(), allow_plaintext=True, services=("smtp", "imap", "pop3"))
        self.big_user = f"big@{DOMAIN}"
        self.mix_user = f"mix@{DOMAIN}"
        self.bulk_user = f"bulk@{DOMAIN}"
        for u in (self.big_user, self.mix_user, self.bulk_user):
            self.t.add_user(u)
        self.peak = 0
        self.sampling = threading.Event()

    # -- load ------------------------------------------------------------------------------------

    def smtp_send(self, rcpt, messages):
        with smtplib.SMTP(HOST, self.t.ports["smtp"], local_hostname="client.test", timeout=WAIT) as s:
            for m in messages:
                s.sendmail("sender@example.test", [rcpt], m)

    def wait_count(self, user, n):
        deadline = time.monotonic() + 4 * WAIT
        while len(self.t.message_list(user)) < n:
            self.assertLess(time.monotonic(), deadline, f"{user} did not get {n} messages")
            time.sleep(0.1)

    def fill_big_mailbox(self):
        """50 x 5 MB in big@'s INBOX: 5 appended, then copied (COPY links the immutable files)."""
        c = imap(self.t, self.big_user)
        for i in range(5):
            r = c.cmd_literals(["APPEND INBOX ", ("lit", big_message(f"big {i}", BIG, i))])
            self.assertEqual(r.status, "OK", r)
        c.select()
        for _ in range(9):
            c.ok("COPY 1:5 INBOX")
        self.assertEqual(len(self.t.message_list(self.big_user)), 50)
        c.logout()

    def fetch_all(self, spec="1:*", pause=0.0, block=1 << 18):
        c = imap(self.t, self.big_user)
        tag = c.next_tag()
        c.send(f"{tag} FETCH {spec} BODY.PEEK[]\r\n")
        line, total = drain(c, tag, block=block, pause=pause)
        self.assertTrue(line.startswith(tag.encode() + b" OK"), line)
        c.logout()
        return total

    def pop_retr_all(self, user, expect):
        p = poplib.POP3(HOST, self.t.ports["pop3"], timeout=WAIT)
        p.user(user)
        p.pass_(PASSWORD)
        n, _ = p.stat()
        got = 0
        for i in range(1, n + 1):
            _, lines, octets = p.retr(i)
            got += octets
        p.quit()
        self.assertGreaterEqual(n, expect)
        return got

    def never_reader(self):
        """Sends FETCH 1:* BODY.PEEK[] of the 50 x 5 MB and never reads; returns once the server has
        begun to answer (octets wait in the client's receive buffer)."""
        c = imap(self.t, self.big_user, rcvbuf=4096)
        c.send(f"{c.next_tag()} FETCH 1:* BODY.PEEK[]\r\n")
        deadline = time.monotonic() + WAIT
        while unread_octets(c.sock) == 0:
            self.assertLess(time.monotonic(), deadline, "the server sent nothing")
            time.sleep(0.01)
        return c

    # -- memory ----------------------------------------------------------------------------------

    def sample(self):
        kib = rss_kib(self.t)
        self.peak = max(self.peak, kib)
        return kib

    def sampler(self):
        while not self.sampling.wait(0.05):
            self.sample()

    def wait_sessions_closed(self):
        """Every IMAP and POP3 session the server logged a connect for has logged its disconnect (SMTP
        logs its disconnects at debug level; its clients wait for the QUIT reply)."""
        deadline = time.monotonic() + WAIT
        while True:
            log = self.t.log()
            opened = len(re.findall(r"(?:imap|pop3) \S+: connect from", log))
            closed = len(re.findall(r"(?:imap|pop3) \S+: disconnect from", log))
            if closed >= opened:
                return
            self.assertLess(time.monotonic(), deadline, f"{opened - closed} sessions still open")
            time.sleep(0.05)

    # -- the soak --------------------------------------------------------------------------------

    def test_soak(self):
        self.fill_big_mailbox()
        mixed = [message(f"small {i}", body=b"line of text\r\n" * (10 + i)) for i in range(20)]
        mixed += [big_message(f"mixed big {i}", BIG if i < 2 else MB, 100 + i) for i in range(4)]
        # Warm-up: every path once (SMTP in, IMAP FETCH out, POP3 RETR out).
        self.smtp_send(self.mix_user, mixed)
        self.wait_count(self.mix_user, len(mixed))
        self.assertEqual(self.fetch_all("1:5"), 5 * len(big_message("big 0", BIG, 0)))
        self.pop_retr_all(self.mix_user, len(mixed))
        self.wait_sessions_closed()
        warm = self.sample()

        # A client that never reads, alone: the server must not hold its response.
        base = self.sample()
        c = self.never_reader()
        held = 0
        for _ in range(SAMPLES):  # samples over a second while the response waits on the client
            held = max(held, self.sample())
            time.sleep(0.05)
        print(f"\nRSS never-reading FETCH of 50 x 5 MB: {base} KiB before, {held} KiB while held "
              f"(+{held - base} KiB)", flush=True)
        self.assertLess(held - base, NEVER_READ_BOUND,
                        f"a never-reading session grew the server by {held - base} KiB")
        c.close()

        # Mixed load, side by side.
        sampler = threading.Thread(target=self.sampler)
        sampler.start()

        def stop_sampling():
            self.sampling.set()
            sampler.join()
        self.addCleanup(stop_sampling)  # before the server's cleanup (cleanups run last in, first out)
        errors = []

        def run(f, *args):
            try:
                f(*args)
            except Exception as e:  # reported below: a thread's failure fails the test
                errors.append(f"{f.__name__}: {e!r}")

        stuck = [self.never_reader(), self.never_reader()]
        more = [message(f"more {i}", body=(b"x" * 70 + b"\r\n") * (3 + 20 * i)) for i in range(40)]
        more += [big_message(f"more big {i}", BIG, 200 + i) for i in range(2)]
        jobs = [threading.Thread(target=run, args=a) for a in [
            (self.smtp_send, self.mix_user, more[0::2]), (self.smtp_send, self.mix_user, more[1::2]),
            (self.fetch_all,), (self.fetch_all, "1:10", 0.002, 1 << 16),
            (self.pop_retr_all, self.mix_user, len(mixed))]]
        for j in jobs:
            j.start()
        for j in jobs:
            j.join()
        self.assertEqual(errors, [])
        for c in stuck:
            c.close()

        # Many small deliveries, then expunged.
        bulk = [message(f"bulk {i}", body=b"short\r\n") for i in range(1500)]
        senders = [threading.Thread(target=run, args=(self.smtp_send, self.bulk_user, bulk[k::3])) for k in range(3)]
        for s in senders:
            s.start()
        for s in senders:
            s.join()
        self.assertEqual(errors, [])
        self.wait_count(self.bulk_user, len(bulk))
        c = imap(self.t, self.bulk_user)
        c.ok("STORE 1:* +FLAGS.SILENT (\\Deleted)")
        c.ok("EXPUNGE")
        c.logout()
        stop_sampling()

        self.wait_sessions_closed()
        end = self.sample()
        print(f"RSS warm-up {warm} KiB, peak {self.peak} KiB, end {end} KiB", flush=True)
        self.assertLess(end, warm * END_RATIO + END_SLACK,
                        f"the server kept {end - warm} KiB after its clients left (warm-up {warm} KiB)")


if __name__ == "__main__":
    main()
