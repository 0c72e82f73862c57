"""Dovecot as the peer for POP3 and IMAP, started by hand (`dovecot -F -c <dir>/dovecot.conf`) with its
base_dir, state, log and mail all under a temporary folder, listeners on free 127.0.0.1 ports.

- Users in a passwd-file, their password hashed with yescrypt as Tern hashes it (so a login costs the
  same on both; no auth cache, as Tern has none); every mailbox is a Maildir (the fair peer to Tern's
  file-per-message store) owned by nobody.
- Durability: mail_fsync = always (Dovecot's default is "optimized"), so an acknowledged APPEND, STORE
  or EXPUNGE is on disk, as with Tern. DOVECOT_FSYNC overrides it.
- TLS: a self-signed EC P-256 certificate, as Tern makes for itself, on imaps and pop3s; the plain
  listeners allow LOGIN/USER without TLS (disable_plaintext_auth = no) for TLS=0 runs.
- Process model: one imap/pop3 process per session (Dovecot's only model), login services in Dovecot's
  "high-performance" mode (service_count = 0: a few login processes, each proxying many TLS
  connections), the one Dovecot recommends for many users and the one with less memory per connection.
  DOVECOT_LOGIN=security keeps the package default ("high-security": one login process per connection,
  kept as the TLS proxy). Only the limits that 1,000 connections need are raised.
- Preloading writes Maildir files the way Dovecot's own delivery names them (S= and W= sizes, LF line
  ends as Dovecot saves them) and then has `doveadm index` build the index and cache, so no workload
  starts on an unindexed folder.
"""

import grp
import os
import pwd
import signal
import subprocess
import time

from common import HOST, PASSWORD, BenchError, free_port, wait_port

FSYNC = os.environ.get("DOVECOT_FSYNC", "always")


def yescrypt(password):
    """The password hashed as `tern user add` hashes it (libxcrypt's yescrypt, default cost), so that a
    Dovecot login costs what a Tern login costs: Dovecot's CRYPT scheme hands it to the same crypt(3)."""
    import ctypes
    lib = ctypes.CDLL("libcrypt.so.1")
    lib.crypt_gensalt.restype = ctypes.c_char_p
    lib.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    setting = lib.crypt_gensalt(b"$y$", 0, None, 0)
    hashed = lib.crypt(password.encode(), setting) if setting else None
    if not hashed or not hashed.startswith(b"$y$"):
        raise BenchError("libcrypt cannot make a yescrypt hash")
    return hashed.decode()


def available():
    for b in ("/usr/sbin/dovecot", "/usr/bin/doveadm", "/usr/lib/dovecot/imap", "/usr/lib/dovecot/pop3"):
        if not os.path.exists(b):
            return f"{b} missing (scripts/install-bench-deps.sh installs dovecot-imapd and dovecot-pop3d)"
    for u in ("dovecot", "dovenull", "nobody"):
        try:
            pwd.getpwnam(u)
        except KeyError:
            return f"system user {u} missing"
    if os.getuid() != 0:
        return "Dovecot has to be started as root here"
    return None


def version():
    r = subprocess.run(["dovecot", "--version"], capture_output=True, text=True)
    return r.stdout.strip().split(" ")[0] if r.returncode == 0 else "?"


class Dovecot:
    name = "Dovecot"

    def __init__(self, root, users, protocols=("imap", "pop3")):
        why = available()
        if why:
            raise BenchError(why)
        self.dir = root
        self.conf = os.path.join(root, "dovecot.conf")
        self.mail = os.path.join(root, "mail")
        self.proc = None
        self.users = list(users)
        nobody = pwd.getpwnam("nobody")
        self.uid, self.gid = nobody.pw_uid, nobody.pw_gid
        os.makedirs(self.mail, exist_ok=True)
        os.chown(self.mail, self.uid, self.gid)
        self.ports = {}
        for p in protocols:
            self.ports[p] = free_port()
            self.ports[p + "s"] = free_port()
        cert, key = os.path.join(root, "cert.pem"), os.path.join(root, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-days", "2", "-subj", "/CN=bench.dovecot.test", "-keyout", key, "-out", cert],
                       check=True, capture_output=True)
        self.hash = "{CRYPT}" + yescrypt(PASSWORD)
        self.passwd = os.path.join(root, "passwd")
        with open(self.passwd, "w") as f:
            for u in self.users:
                f.write(self._passwd_line(u))
        os.chmod(self.passwd, 0o644)
        performance = os.environ.get("DOVECOT_LOGIN", "performance") == "performance"
        login_mode = "  service_count = 0\n  process_min_avail = 2\n  client_limit = 4000\n" if performance else ""
        listeners = "".join(
            f"service {p}-login {{\n"
            f"  inet_listener {p} {{\n    address = {HOST}\n    port = {self.ports[p]}\n  }}\n"
            f"  inet_listener {p}s {{\n    address = {HOST}\n    port = {self.ports[p + 's']}\n    ssl = yes\n  }}\n"
            f"  process_limit = 3000\n{login_mode}}}\n"
            f"service {p} {{\n  process_limit = 3000\n}}\n"
            for p in protocols)
        with open(self.conf, "w") as f:
            f.write(f"""\
# Written by bench/lib/dovecot.py for one benchmark run; everything lives under {root}.
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = {' '.join(protocols)}
listen = {HOST}
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = dovenull
default_internal_user = dovecot
mail_location = maildir:~/Maildir
mail_fsync = {FSYNC}
mail_max_userip_connections = 10000
default_process_limit = 3000
default_client_limit = 10000
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = username_format=%u {self.passwd}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {self.passwd}
}}
protocol imap {{
  mail_max_userip_connections = 10000
}}
protocol pop3 {{
  mail_max_userip_connections = 10000
}}
service anvil {{
  client_limit = 20000
}}
service auth {{
  client_limit = 20000
}}
{listeners}""")
        self.fsync = FSYNC
        self.login_mode = "high-performance" if performance else "high-security (default)"

    def _home(self, user):
        local, domain = user.split("@")
        return os.path.join(self.mail, domain, local)

    def _passwd_line(self, user):
        parent = os.path.dirname(self._home(user))
        if not os.path.isdir(parent):
            os.makedirs(parent)
            os.chown(parent, self.uid, self.gid)
        return f"{user}:{self.hash}:{self.uid}:{self.gid}::{self._home(user)}::\n"

    def add_user(self, user):
        if user not in self.users:
            self.users.append(user)
            with open(self.passwd, "a") as f:
                f.write(self._passwd_line(user))

    def start(self):
        self.log = open(os.path.join(self.dir, "dovecot.out"), "ab")
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", self.conf], stdout=self.log, stderr=self.log)
        for p in self.ports.values():
            wait_port(p, self.proc, what="dovecot")

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self):
        if self.proc is not None and self.proc.poll() is not None:
            raise BenchError(f"dovecot died (status {self.proc.returncode}); log: {self.log_tail()}")

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
            with open(os.path.join(self.dir, "dovecot.log"), errors="replace") as f:
                return " | ".join(f.read().splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def maildir(self, user):
        return os.path.join(self._home(user), "Maildir")

    def preload(self, user, messages):
        """Writes the messages into the user's Maildir/new the way Dovecot's delivery names them, then
        indexes the folder (doveadm index) so that the first session finds index and cache built."""
        md = self.maildir(user)
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(md, sub), exist_ok=True)
        now = int(time.time())
        for n, msg in enumerate(messages):
            lf = msg.replace(b"\r\n", b"\n")
            name = f"{now}.M{n}P{os.getpid()}Q{time.monotonic_ns()}.bench,S={len(lf)},W={len(msg)}"
            with open(os.path.join(md, "tmp", name), "wb") as f:
                f.write(lf)
            os.rename(os.path.join(md, "tmp", name), os.path.join(md, "new", name))
        for root, dirs, files in os.walk(self._home(user)):
            os.chown(root, self.uid, self.gid)
            for x in files:
                os.chown(os.path.join(root, x), self.uid, self.gid)
        self.doveadm("index", "-u", user, "INBOX")

    def doveadm(self, *args):
        r = subprocess.run(["doveadm", "-c", self.conf, *args], capture_output=True, text=True)
        if r.returncode != 0:
            raise BenchError(f"doveadm {' '.join(args)}: {(r.stderr or r.stdout).strip()[-400:]}")
        return r.stdout

    def message_count(self, user):
        out = self.doveadm("mailbox", "status", "-u", user, "messages", "INBOX")
        return int(out.strip().split("=")[1])
