"""Tern for a benchmark: its own tern.toml and data folder in a temporary folder, listeners on free
loopback ports, users added with the CLI, `tern serve` started and stopped.

DNS is pointed at a closed loopback port so that nothing is ever looked up outside 127.0.0.0/8, or at the
workload's own dnsmasq (dns_port).
"""

import os
import signal
import subprocess
import time

from common import DOMAIN, HOST, PASSWORD, TERN, BenchError, count_files, free_port, wait_port


class Tern:
    name = "Tern"

    def __init__(self, root, listeners=("smtp",), plaintext=False, relay_port=None, log_level="warn", dns_port=None,
                 extra="", limits=None):
        if not os.access(TERN, os.X_OK):
            raise BenchError(f"{TERN} missing (run make build)")
        self.dir = root
        os.makedirs(root, exist_ok=True)
        names = ["smtp", *[l for l in listeners if l != "smtp"]]  # smtp always: it tells when serve is up
        self.ports = {name: free_port() for name in names}
        self.config = os.path.join(root, "tern.toml")
        self.data = os.path.join(root, "data")
        self.proc = None
        lines = ['hostname = "bench.tern.test"', 'data_dir = "data"', "[listen]"]
        lines += [f'{name} = ["{HOST}:{port}"]' for name, port in self.ports.items()]
        lines += ["[auth]", f"allow_plaintext = {'true' if plaintext else 'false'}",
                  "[dns]", f'servers = ["127.0.0.1:{dns_port or 9}"]',
                  "[limits]", "max_connections = 5000", "max_connections_per_ip = 5000",
                  *[f"{k} = {v}" for k, v in (limits or {}).items()],
                  "[log]", f'level = "{log_level}"']
        if relay_port:
            lines += ["[[route]]", 'match = "*"', f'relay = "{HOST}:{relay_port}"', 'tls = "none"']
        extra = "\n".join(x for x in (extra, os.environ.get("TERN_EXTRA_CONFIG", "")) if x)  # appended as is
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n" + (extra + "\n" if extra else ""))
        self.cli("init")  # the config exists: creates the data directory and tern.db only
        self.cli("domain", "add", DOMAIN)

    def cli(self, *args, stdin=None):
        r = subprocess.run([TERN, "--config", self.config, *args], input=stdin, capture_output=True)
        if r.returncode != 0:
            raise BenchError(f"tern {' '.join(args)}: {r.stderr.decode(errors='replace').strip()}")
        return r.stdout.decode(errors="replace")

    def add_user(self, address, password=PASSWORD):
        self.cli("user", "add", address, stdin=(password + "\n").encode())

    def add_alias(self, address, target):
        self.cli("alias", "add", address, target)

    def start(self):
        self.log = open(os.path.join(self.dir, "serve.log"), "ab")
        self.proc = subprocess.Popen([TERN, "serve", "--config", self.config], stdout=self.log, stderr=self.log)
        wait_port(self.ports["smtp"], self.proc, what="tern serve")

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self):
        if self.proc is not None and self.proc.poll() is not None:
            raise BenchError(f"tern serve died (status {self.proc.returncode}); log: {self.log_tail()}")

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        self.proc = None

    def log_tail(self, lines=8):
        try:
            with open(os.path.join(self.dir, "serve.log"), errors="replace") as f:
                return " | ".join(f.read().splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def inbox_dir(self, address, folder="INBOX"):
        local, domain = address.split("@")
        return os.path.join(self.data, "mail", "boxes", domain, local, "folders", folder)

    def inbox_files(self, address):
        """Message files in the mailslot's INBOX: cheap to poll (the CLI opens the index each time)."""
        return count_files(self.inbox_dir(address))

    def message_count(self, address):
        import json
        return len(json.loads(self.cli("message", "list", address, "--json") or "[]"))

    def drop_pending(self, items):
        """Queues (recipient, message) pairs through mail/pending/ (docs/outbox.md): each written beside
        the folder, dated a few seconds back so Tern takes it at its next scan, and renamed in."""
        pending = os.path.join(self.data, "mail", "pending")
        staging = os.path.join(self.data, "mail", "bench-staging")
        os.makedirs(pending, exist_ok=True)
        os.makedirs(staging, exist_ok=True)
        past = time.time() - 10
        for n, (rcpt, msg) in enumerate(items):
            name = f"bench-{os.getpid()}-{time.monotonic_ns()}-{n}.msg"
            tmp = os.path.join(staging, name)
            with open(tmp, "wb") as f:
                f.write(b"FROM: bench@example.test\r\nRCPT: " + rcpt.encode() + b"\r\n" + msg)
            os.utime(tmp, (past, past))
            os.rename(tmp, os.path.join(pending, name))
