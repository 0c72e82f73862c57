"""System-test harness: runs the real `tern` binary in a temporary folder on free loopback ports.

Environment: TERN_BIN is the program under test (default: build/tern beside this repository);
TERN_PEERS is the folder where Postfix's smtp-source/smtp-sink were extracted.

A test makes its servers with TernTestCase.make_server(); each server gets its own temporary folder,
its own ports and its own data directory, so `ctest -j2` can run the test files side by side. When a
test fails, the logs of the servers it started are printed after the failure.

Delivery into a mailbox happens after the 250 (the spool delivers asynchronously), so tests that look
into a mailbox wait with wait_for_messages(); the timeouts here only bound a hang, no test asserts on
how long anything took.
"""

import base64
import email.utils
import json
import os
import re
import random
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TERN_BIN = os.environ.get("TERN_BIN") or os.path.join(REPO, "build", "tern")
TERN_PEERS = os.environ.get("TERN_PEERS") or os.path.join(REPO, "build", "peers")
HOST = "127.0.0.1"
DOMAIN = "tern.test"
PASSWORD = "secret-pw"
AUTHSERV_ID = "mx.tern.test"  # the hostname of every test server: its Authentication-Results id
WAIT = 30.0  # seconds; only a bound on a hang, never an assertion on speed


_given_ports = set()


def free_port():
    """A loopback port that is free now, from 20000-32767: below Linux's ephemeral range (32768-60999),
    so that no client connection of a test running beside this one takes it as its own local port
    between now and the server's bind (seen in CI: "Address already in use" at start-up). Never the
    same port twice in one process; a clash with another test process is left to Tern.start's retry."""
    rng = random.Random()
    for _ in range(1000):
        port = rng.randrange(20000, 32768)
        if port in _given_ports:
            continue
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind((HOST, port))
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:  # dnsmasq takes UDP too
                u.bind((HOST, port))
        except OSError:
            continue
        _given_ports.add(port)
        return port
    raise AssertionError("no free loopback port in 20000-32767")


def tls_context():
    """A client TLS context that accepts Tern's self-signed certificate."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def unique(prefix="m"):
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def make_message(sender, rcpt, subject, body=b"Hello.\r\n", extra_headers=b""):
    """An RFC 5322 message as bytes with CRLF line ends (passed to smtplib as bytes: sent unchanged)."""
    head = (
        f"From: <{sender}>\r\nTo: <{rcpt}>\r\nSubject: {subject}\r\n"
        f"Date: {email.utils.formatdate()}\r\nMessage-ID: <{uuid.uuid4().hex}@client.test>\r\n"
    ).encode("utf-8")
    return head + extra_headers + b"\r\n" + body


def send_message(server, msg, rcpt, sender, user=None):
    """(code, text) of the end of data, on the MX listener, or on submission logged in as `user`
    (PASSWORD); of the RCPT when it is refused."""
    port = server.ports["submission" if user else "smtp"]
    with smtplib.SMTP(HOST, port, local_hostname="client.test", timeout=WAIT) as s:
        s.ehlo()
        if user:
            s.login(user, PASSWORD)
        s.mail(sender)
        code, text = s.rcpt(rcpt)
        if code != 250:
            return code, text
        return s.data(msg)


def split_trace(stored):
    """Splits a stored message into (trace headers Tern added, the rest).

    The trace block is the leading Return-Path:, Received:, Authentication-Results:, the virus
    stage's X-Virus-Status:, the attachment stage's X-Tern-Removed: and the spam stage's X-Spam-Flag:
    and X-Spam-Status: fields (with their continuation lines)."""
    pos = 0
    while True:
        end = stored.find(b"\r\n", pos)
        if end < 0:
            break
        line = stored[pos:end]
        is_trace = line.startswith((b"Return-Path:", b"Received:", b"Authentication-Results:", b"X-Spam-Flag:",
                                    b"X-Spam-Status:", b"X-Virus-Status:", b"X-Tern-Removed:"))
        is_cont = pos > 0 and line[:1] in (b" ", b"\t")
        if not (is_trace or is_cont):
            break
        pos = end + 2
    return stored[:pos], stored[pos:]


DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"


def results_of(stored):
    """Tern's Authentication-Results field of a stored message, parsed by python3-authres."""
    import authres  # Debian's python3-authres: only the tests that read the field need it
    fields = re.findall(rb"^Authentication-Results:.*?\r\n(?![ \t])", stored, re.S | re.M)
    ours = [f for f in fields if f.split(b":", 1)[1].strip().lower().startswith(AUTHSERV_ID.encode())]
    assert len(ours) == 1, f"expected one Authentication-Results of ours, found {fields}"
    text = ours[0].decode().replace("\r\n", "")
    return authres.AuthenticationResultsHeader.parse(text)


class Dns:
    """dnsmasq answering only from its command line: MX and A records of the test domains."""

    def __init__(self, records, port=None):
        self.port = port or free_port()
        self.proc = subprocess.Popen(
            [DNSMASQ, "--no-daemon", "--no-resolv", "--no-hosts", "--no-poll", f"--port={self.port}",
             "--listen-address=127.0.0.1", "--bind-interfaces", "--local=/test/", "--log-facility=-",
             "--conf-file=/dev/null", "--user=" + ("root" if os.geteuid() == 0 else os.environ.get("USER", "nobody")),
             *records],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + WAIT
        while True:  # wait until it answers on UDP
            if self.proc.poll() is not None:
                raise AssertionError(f"dnsmasq exited with {self.proc.returncode}")
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.settimeout(0.2)
                    # a minimal query for "test" SOA
                    s.sendto(bytes.fromhex("abcd01000001000000000000047465737400000600 01".replace(" ", "")),
                             (HOST, self.port))
                    s.recv(512)
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("dnsmasq did not answer")
                time.sleep(0.05)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


class Tern:
    """One `tern serve` in its own temporary folder."""

    def __init__(self, allow_plaintext=False, limits=None, extra_toml="",
                 services=("smtp", "submission", "submissions")):
        self.dir = tempfile.mkdtemp(prefix="tern-sys-")
        self.config = os.path.join(self.dir, "tern.toml")
        self.data = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "serve.log")
        self.ports = {s: free_port() for s in services}
        self.allow_plaintext = allow_plaintext
        self.limits = dict(limits or {})
        self.extra_toml = extra_toml
        self.proc = None
        self._log_file = None
        self.saved_log = ""
        self.write_config()
        # Only `tern init` creates the data directory and its directory database (tern.db); given a
        # configuration that exists, it adds no domain. A minimal one of its own, since some tests
        # write a broken tern.toml on purpose.
        init_config = os.path.join(self.dir, "init.toml")
        with open(init_config, "w", encoding="utf-8") as f:
            f.write('hostname = "mx.tern.test"\ndata_dir = "data"\n')
        r = self.cli("init", config=init_config)
        if r.returncode != 0:
            raise AssertionError(f"tern init exited {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}")

    # -- configuration and command line ------------------------------------------------------------

    def config_text(self):
        lines = ['hostname = "mx.tern.test"', 'data_dir = "data"', "", "[listen]"]
        for svc, port in self.ports.items():
            lines.append(f'{svc} = ["{HOST}:{port}"]')
        lines += ["", "[auth]", f"allow_plaintext = {'true' if self.allow_plaintext else 'false'}"]
        if self.limits:
            lines += ["", "[limits]"]
            for k, v in self.limits.items():
                lines.append(f"{k} = {json.dumps(v)}")
        if "[dns]" not in self.extra_toml:
            # Never the system resolver: a server that answers nothing (tests that route mail start
            # their own dnsmasq and set [dns] themselves).
            lines += ["", "[dns]", f'servers = ["{HOST}:9"]']
        if self.extra_toml:
            lines += ["", self.extra_toml]
        return "\n".join(lines) + "\n"

    def write_config(self, text=None):
        with open(self.config, "w", encoding="utf-8") as f:
            f.write(self.config_text() if text is None else text)

    def cli(self, *args, input=None, config=None):
        """Runs `tern --config FILE ARGS...`; returns the CompletedProcess (text, UTF-8)."""
        cmd = [TERN_BIN, "--config", config or self.config, *args]
        return subprocess.run(cmd, input=input, capture_output=True, text=True, encoding="utf-8",
                              timeout=60)

    def cli_ok(self, *args, input=None):
        r = self.cli(*args, input=input)
        if r.returncode != 0:
            raise AssertionError(f"tern {' '.join(args)} exited {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}")
        return r

    def add_domain(self, name=DOMAIN):
        self.cli_ok("domain", "add", name)

    def add_user(self, address, password=PASSWORD):
        self.cli_ok("user", "add", address, input=password + "\n")

    # -- the server process -----------------------------------------------------------------------

    def start(self, fault=None):
        """Starts `tern serve`. `fault`: a fault point's name (TERN_FAULT, src/base/fault.hpp): the
        server kills itself with SIGKILL when it reaches that point; None starts it without."""
        env = dict(os.environ)
        env.pop("TERN_FAULT", None)
        if fault is not None:
            env["TERN_FAULT"] = fault
        for attempt in range(5):
            self._log_file = open(self.log_path, "ab")
            self.proc = subprocess.Popen([TERN_BIN, "serve", "--config", self.config], stdin=subprocess.DEVNULL,
                                         stdout=self._log_file, stderr=self._log_file, env=env)
            try:
                self.wait_ready()
                return self
            except AssertionError:
                # Another test's process took a port between free_port() and the bind: new ports, when
                # the configuration is the harness's own (a test's hand-written one is left as it is).
                with open(self.config, encoding="utf-8") as f:
                    ours = f.read() == self.config_text()
                if attempt == 4 or not ours or "Address already in use" not in self.log() or self.proc.poll() is None:
                    raise
                self._log_file.close()
                self.ports = {s: free_port() for s in self.ports}
                self.write_config()

    def wait_ready(self):
        """Waits until the smtp listener (or the first one) answers with a 220 greeting."""
        port = self.ports.get("smtp") or next(iter(self.ports.values()))
        plain = "submissions" not in self.ports or port != self.ports["submissions"]
        deadline = time.monotonic() + WAIT
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"tern serve exited with {self.proc.returncode} at start-up\n{self.log()}")
            try:
                with socket.create_connection((HOST, port), timeout=5) as s:
                    if plain:
                        greeting = s.recv(512)
                        if greeting.startswith(b"220"):
                            s.sendall(b"QUIT\r\n")
                            while s.recv(512):  # until the server closed: its session is over
                                pass
                            return
                    else:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"tern serve did not accept connections\n{self.log()}")
            time.sleep(0.02)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=WAIT):
        """Sends `sig` and waits; returns the exit status (negative: killed by a signal)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"tern serve did not exit after signal {sig}\n{self.log()}")
        rc = self.proc.returncode
        self.proc = None
        if self._log_file:
            self._log_file.close()
            self._log_file = None
        return rc

    def kill(self):
        return self.stop(signal.SIGKILL)

    def wait_exit(self, timeout=WAIT):
        """Waits for the server to end by itself (a fault point); returns its exit status (negative:
        killed by that signal), or raises when it is still running after `timeout`."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"tern serve is still running after {timeout}s\n{self.log()}") from None
        return self.stop()

    def signal(self, sig):
        self.proc.send_signal(sig)

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return self.saved_log

    def wait_for_log(self, needle, timeout=WAIT):
        """Waits until the log holds `needle`: a string, or a compiled regular expression."""
        deadline = time.monotonic() + timeout
        found = needle.search if isinstance(needle, re.Pattern) else (lambda log: needle in log)
        while not found(self.log()):
            if time.monotonic() > deadline:
                raise AssertionError(f"the server log never showed {needle!r}\n{self.log()}")
            time.sleep(0.02)

    def cleanup(self):
        if self.running():
            self.kill()
        self.saved_log = self.log()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- mailboxes and the outbox -----------------------------------------------------------------

    def message_list(self, address, folder="INBOX"):
        args = ["message", "list", address, "--json"]
        if folder != "INBOX":
            args += ["--folder", folder]
        return json.loads(self.cli_ok(*args).stdout)

    def wait_for_messages(self, address, n, timeout=WAIT, folder="INBOX"):
        """Polls `tern message list` until it shows at least n messages; returns the list. A folder
        that delivery makes on first use (Junk) may not exist yet."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                msgs = self.message_list(address, folder)
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
                continue
            if len(msgs) >= n or time.monotonic() > deadline:
                return msgs
            time.sleep(0.05)

    def folder_dir(self, address, folder="INBOX"):
        """data/mail/boxes/<domain>/<local>/folders/<folder>, names percent-encoded on disk."""
        local, domain = address.lower().rsplit("@", 1)
        boxes = os.path.join(self.data, "mail", "boxes")
        for d in os.listdir(boxes):
            if urllib.parse.unquote(d) != domain:
                continue
            for l in os.listdir(os.path.join(boxes, d)):
                if urllib.parse.unquote(l) == local:
                    fdir = os.path.join(boxes, d, l, "folders")
                    for f in os.listdir(fdir):
                        if urllib.parse.unquote(f) == folder:
                            return os.path.join(fdir, f)
        raise AssertionError(f"no folder {folder} of {address} under {boxes}")

    def message_bytes(self, address, uid, folder="INBOX"):
        """The stored file of message `uid`: folders/<folder>/<uid>.<tag>."""
        d = self.folder_dir(address, folder)
        names = [n for n in os.listdir(d) if n.split(".", 1)[0] == str(uid) and "." in n]
        if len(names) != 1:
            raise AssertionError(f"expected one file for uid {uid} in {d}, found {sorted(os.listdir(d))}")
        with open(os.path.join(d, names[0]), "rb") as f:
            return f.read()

    def stored_messages(self, address, folder="INBOX"):
        """[(entry, bytes)] for every message in the folder, by UID."""
        return [(m, self.message_bytes(address, m["uid"], folder)) for m in self.message_list(address, folder)]

    def outbox_files(self):
        d = os.path.join(self.data, "mail", "outbox")
        if not os.path.isdir(d):
            return []
        out = []
        for n in sorted(os.listdir(d)):
            if n.endswith(".msg"):
                with open(os.path.join(d, n), "rb") as f:
                    out.append(f.read())
        return out


class RawSMTP:
    """A plain socket SMTP client for what smtplib cannot do: pipelining, BDAT, odd bytes."""

    def __init__(self, port, timeout=WAIT, source=None):
        """source: the client's own loopback address (127.0.0.2, ...), to be another client."""
        self.sock = socket.create_connection((HOST, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sock.sendall(data)

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"connection closed; unread: {self.buf!r}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def reply(self):
        """Reads one (possibly multi-line) reply: (code, [text lines])."""
        lines = []
        while True:
            line = self._line()
            if len(line) < 3 or not line[:3].isdigit():
                raise AssertionError(f"malformed reply line {line!r}")
            lines.append(line[4:])
            if len(line) == 3 or line[3] == " ":
                return int(line[:3]), lines

    def cmd(self, line):
        self.send(line + "\r\n" if isinstance(line, str) else line + b"\r\n")
        return self.reply()

    def greeting(self):
        code, text = self.reply()
        assert code == 220, (code, text)
        return code, text

    def ehlo(self, name="client.test"):
        code, lines = self.cmd(f"EHLO {name}")
        assert code == 250, (code, lines)
        return [l.upper() for l in lines[1:]]

    def starttls(self, ctx=None):
        code, text = self.cmd("STARTTLS")
        assert code == 220, (code, text)
        self.start_tls(ctx)

    def start_tls(self, ctx=None):
        self.sock = (ctx or tls_context()).wrap_socket(self.sock, server_hostname="mx.tern.test")

    def auth_plain(self, user, password):
        token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        return self.cmd(f"AUTH PLAIN {token}")

    def pending(self, wait=0.5):
        """Whatever the server sends within `wait` seconds, without blocking longer (b"" when nothing)."""
        self.sock.settimeout(wait)
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            data = b""
        finally:
            self.sock.settimeout(WAIT)
        return self.buf + data

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class TernTestCase(unittest.TestCase):
    """Base class: make_server() starts a Tern that is cleaned up after the test; its log is printed
    when the test fails."""

    maxDiff = 4000

    def make_server(self, users=("bob@tern.test",), domains=(DOMAIN,), start=True, **kw):
        t = Tern(**kw)
        self._servers = getattr(self, "_servers", [])
        self._servers.append(t)
        self.addCleanup(t.cleanup)
        for d in domains:
            t.add_domain(d)
        for u in users:
            t.add_user(u)
        if start:
            t.start()
        return t

    def run(self, result=None):
        if result is None:
            return super().run(result)
        before = len(result.failures) + len(result.errors)
        self._servers = []
        out = super().run(result)
        if len(result.failures) + len(result.errors) > before:
            for i, t in enumerate(self._servers):
                sys.stderr.write(f"\n----- server log {i} of {self.id()} ({t.dir}) -----\n{t.saved_log or t.log()}"
                                 "----- end of server log -----\n")
        return out

    # -- assertions shared by the test files ------------------------------------------------------

    def assertReply(self, reply, code, enhanced=None):
        got_code, text = reply[0], reply[1]
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        if isinstance(text, list):
            text = "\n".join(text)
        self.assertEqual(got_code, code, f"reply {got_code} {text}")
        if enhanced is not None:
            self.assertTrue(text.startswith(enhanced), f"expected enhanced code {enhanced} in {got_code} {text}")

    def assertCheckClean(self, server):
        """`tern check` exits 0 (its report is shown when it does not)."""
        r = server.cli("check")
        self.assertEqual(r.returncode, 0, f"tern check:\n{r.stdout}{r.stderr}")
        return r

    def assertStored(self, server, address, subject, message, sender):
        """Exactly one message with `subject` is in the INBOX; its file is Tern's trace fields
        (Return-Path: <sender>, Received:) followed by `message` byte for byte."""
        msgs = [m for m in server.wait_for_messages(address, 1) if m["subject"] == subject]
        if not msgs:  # delivery may still be under way when other messages were already there
            deadline = time.monotonic() + WAIT
            while not msgs and time.monotonic() < deadline:
                time.sleep(0.05)
                msgs = [m for m in server.message_list(address) if m["subject"] == subject]
        self.assertEqual(len(msgs), 1, f"messages with subject {subject!r}: {server.message_list(address)}")
        stored = server.message_bytes(address, msgs[0]["uid"])
        trace, rest = split_trace(stored)
        self.assertTrue(trace.startswith(f"Return-Path: <{sender}>\r\n".encode()), trace)
        self.assertIn(b"\r\nReceived: from ", trace)
        self.assertIn(b"by mx.tern.test", trace)
        self.assertEqual(rest, message)
        return msgs[0], stored


def main():
    if not os.access(TERN_BIN, os.X_OK):
        sys.stderr.write(f"TERN_BIN={TERN_BIN} is not an executable; build tern first\n")
        sys.exit(1)
    unittest.main(verbosity=2)


# --- message files and memory (added for the FETCH streaming and soak tests) ----------------------

def message_path(server, address, uid, folder="INBOX"):
    """The path of message `uid`'s file (folders/<folder>/<uid>.<tag>), to damage it on purpose."""
    d = server.folder_dir(address, folder)
    names = [n for n in os.listdir(d) if n.split(".", 1)[0] == str(uid) and "." in n]
    if len(names) != 1:
        raise AssertionError(f"expected one file for uid {uid} in {d}, found {sorted(os.listdir(d))}")
    return os.path.join(d, names[0])


def rss_kib(server):
    """The server's resident set size in KiB (VmRSS of /proc/PID/status)."""
    with open(f"/proc/{server.proc.pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/PID/status")
