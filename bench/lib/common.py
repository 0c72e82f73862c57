"""Pieces every benchmark shares: ports, temporary folders, test messages, process memory, statistics,
Postfix's smtp-source and smtp-sink.

Everything runs on 127.0.0.1. Sizes come from the environment (see env_int) so that bench/compare and
the standalone scripts take the same variables. Nothing here knows about a particular server.
"""

import os
import random
import shutil
import socket
import statistics
import subprocess
import tempfile
import time

HOST = "127.0.0.1"
HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
REPO = os.path.dirname(BENCH)
TERN = os.environ.get("TERN_BIN") or os.path.join(REPO, "build", "tern")
PEERS = os.environ.get("TERN_PEERS") or os.path.join(REPO, "build", "peers")
PASSWORD = "bench-pw"
DOMAIN = "tern.test"


class BenchError(Exception):
    """A workload could not run or gave a wrong result; the message says what a user would look at."""


def env_int(name, default):
    return int(os.environ.get(name, default))


def env_float(name, default):
    return float(os.environ.get(name, default))


def quick():
    return os.environ.get("QUICK", "0") not in ("", "0")


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_port(port, proc=None, timeout=30.0, what="server"):
    """Waits until something accepts on the port; a dead proc (Popen) or the timeout raise BenchError."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return
        except OSError:
            if proc is not None and proc.poll() is not None:
                raise BenchError(f"{what} exited with status {proc.returncode} before listening on {port}")
            if time.monotonic() > deadline:
                raise BenchError(f"{what} not listening on {HOST}:{port} after {timeout:.0f} s")
            time.sleep(0.05)


def make_tempdir(tag):
    """A world-readable temporary folder: the peers' unprivileged processes must reach into it."""
    d = tempfile.mkdtemp(prefix=f"tern-bench-{tag}.")
    os.chmod(d, 0o755)
    return d


def remove_tree(path):
    shutil.rmtree(path, ignore_errors=True)


def raise_nofile(n=20000):
    """Raises this process's open-file limit (children inherit it): 1,000 idle connections need it."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(max(n, soft), hard) if hard != resource.RLIM_INFINITY else max(n, soft)
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


# --- Test messages ---------------------------------------------------------------------------------

NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]
TOPICS = ["report", "invoice", "meeting", "lunch", "release", "budget", "travel", "review", "backup", "party"]
LINE = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt.\r\n"


def message(rcpt, i, size=5120, seed=None):
    """A plain RFC 5322 message of about `size` octets (CRLF), with From/Subject/Date drawn from small
    sets so that IMAP SEARCH FROM/SUBJECT find some. The same (rcpt, i, seed) gives the same octets."""
    r = random.Random(f"{seed}:{rcpt}:{i}")
    who = r.choice(NAMES)
    topic = r.choice(TOPICS)
    day = 1 + r.randrange(28)
    head = (f"From: {who.title()} <{who}@example.test>\r\n"
            f"To: <{rcpt}>\r\n"
            f"Subject: {topic} {i}\r\n"
            f"Date: Mon, {day:02d} Jan 2024 10:{i % 60:02d}:00 +0000\r\n"
            f"Message-ID: <{i}.{r.randrange(1 << 30)}@bench.example.test>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n\r\n").encode()
    body_len = max(0, size - len(head) - 2)
    body = (LINE * (body_len // len(LINE) + 1))[:body_len] + b"\r\n"
    return head + body


# --- Process memory --------------------------------------------------------------------------------

def _status_kb(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def vm_rss_kb(pid):
    return _status_kb(pid, "VmRSS")


def vm_hwm_kb(pid):
    return _status_kb(pid, "VmHWM")


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def process_tree(root):
    """root and all its descendants (pids), from /proc."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(name))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def tree_cpu_seconds(roots):
    """CPU seconds (user + system) used so far by the processes under the roots: each live process's
    own and that of its children it has waited for (Postfix's master reaps smtpd and cleanup, the
    milter its spamc), so a process is counted once whether it has ended or not."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in {p for r in roots for p in process_tree(r)}:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
    return total / tick


def tree_memory_kb(root):
    """(RSS sum, PSS sum, process count) over root and its descendants."""
    pids = process_tree(root)
    return sum(vm_rss_kb(p) for p in pids), sum(pss_kb(p) for p in pids), len(pids)


# --- Statistics ------------------------------------------------------------------------------------

def summary(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def fmt(v, digits=None):
    if v is None:
        return "n/a"
    if digits is None:
        digits = 0 if abs(v) >= 100 else 1 if abs(v) >= 10 else 2
    return f"{v:,.{digits}f}"


# --- Postfix's smtp-source and smtp-sink (from build/peers, see scripts/install-deps.sh) -------------

def peer_env():
    env = dict(os.environ)
    lib = os.path.join(PEERS, "usr/lib/postfix")
    env["LD_LIBRARY_PATH"] = lib + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    return env


def peer_tool(name):
    path = os.path.join(PEERS, "usr/sbin", name)
    if not os.access(path, os.X_OK):
        raise BenchError(f"{path} missing (run scripts/install-deps.sh)")
    return path


def smtp_source(port, sessions, messages, size, rcpt, sender="sender@example.test", file=None):
    """Runs smtp-source to 127.0.0.1:port; returns the seconds it took (every message got its 250).
    file: the message to send each time (smtp-source -F) instead of smtp-source's own of `size` octets."""
    start = time.monotonic()
    what = ["-F", file] if file else ["-l", str(size)]
    r = subprocess.run([peer_tool("smtp-source"), "-s", str(sessions), "-m", str(messages), *what,
                        "-f", sender, "-t", rcpt, f"{HOST}:{port}"],
                       env=peer_env(), capture_output=True, text=True)
    elapsed = time.monotonic() - start
    if r.returncode != 0:
        raise BenchError(f"smtp-source failed ({r.returncode}): {(r.stderr or r.stdout).strip()[:300]}")
    return elapsed


class Sink:
    """Postfix's smtp-sink on a free loopback port, appending every message it receives to a dump file."""

    def __init__(self, folder):
        os.makedirs(folder, exist_ok=True)
        os.chmod(folder, 0o777)
        self.dump = os.path.join(folder, "dump")
        self.port = free_port()
        user = ["-u", "nobody"] if os.getuid() == 0 else []
        self.proc = subprocess.Popen([peer_tool("smtp-sink"), *user, "-D", self.dump, f"{HOST}:{self.port}", "200"],
                                     env=peer_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, self.proc, what="smtp-sink")

    def received(self):
        try:
            with open(self.dump, "rb") as f:
                return sum(1 for line in f if line.startswith(b"X-Client-Addr"))
        except OSError:
            return 0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()


def wait_count(count_fn, target, timeout, poll=0.05):
    """Polls count_fn() until it reaches target; returns (count, monotonic time it was seen)."""
    deadline = time.monotonic() + timeout
    while True:
        n = count_fn()
        now = time.monotonic()
        if n >= target or now > deadline:
            return n, now
        time.sleep(poll)


def count_files(folder):
    try:
        return sum(1 for e in os.scandir(folder) if e.is_file() and not e.name.startswith("."))
    except FileNotFoundError:
        return 0
