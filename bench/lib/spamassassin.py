"""SpamAssassin as the peer of Tern's spam filter: Debian's spamassassin 4 with the rules its package
ships (/usr/share/spamassassin: the package carries them, so sa-update is never needed, and is never
run here), local tests only (-L: no DNS lists, no Razor, Pyzor or DCC), its Bayes database in a
temporary folder, trained with sa-learn; spamd on a free loopback port, asked with spamc. Threshold
5.0, as Tern's junk_score.

Everything is started by hand with its own paths; the system's spamd (if any) and the user's
~/.spamassassin are never used (-x, a helper home in the temporary folder). spamd runs as nobody.
"""

import os
import pwd
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from common import HOST, BenchError, free_port, wait_port

RULES = "/usr/share/spamassassin"
THRESHOLD = 5.0


def available():
    """None when SpamAssassin can run here, else why not."""
    for tool in ("spamd", "spamc", "sa-learn"):
        if not shutil.which(tool):
            return f"{tool} is not installed (scripts/install-bench-deps.sh)"
    if not os.path.exists(os.path.join(RULES, "50_scores.cf")):
        return f"no rules in {RULES} (the spamassassin package ships them there)"
    return None


def version():
    try:
        r = subprocess.run(["spamassassin", "-V"], capture_output=True, text=True, timeout=60)
        return r.stdout.split("\n")[0].replace("SpamAssassin version ", "").strip() or "?"
    except Exception:
        return "?"


def to_lf(raw):
    return raw.replace(b"\r\n", b"\n")


class SpamAssassin:
    """Bayes in root/bayes, spamd's log in root/spamd.log."""

    def __init__(self, root, children=2):
        why = available()
        if why:
            raise BenchError(why)
        self.dir = root
        self.bayes = os.path.join(root, "bayes")
        self.home = os.path.join(root, "home")
        self.log = os.path.join(root, "spamd.log")
        self.children = children
        self.port = None
        self.proc = None
        nobody = pwd.getpwnam("nobody")
        self.uid, self.gid = nobody.pw_uid, nobody.pw_gid
        for d in (self.bayes, self.home):
            os.makedirs(d, exist_ok=True)
            os.chown(d, self.uid, self.gid)
        self.cf = [f"bayes_path {self.bayes}/bayes", "use_bayes 1", "bayes_auto_learn 0", "bayes_auto_expire 0",
                   "bayes_file_mode 0666", "lock_method flock", f"required_score {THRESHOLD}"]

    def common_args(self):
        return ["-L", f"--configpath={RULES}", *[f"--cf={line}" for line in self.cf]]

    def learn(self, ham, spam):
        """sa-learn of the given messages (bytes) as ham and as spam: each written to a file of a folder,
        one sa-learn run per kind. Returns the seconds it took."""
        start = time.monotonic()
        for kind, messages in (("ham", ham), ("spam", spam)):
            folder = os.path.join(self.dir, "learn-" + kind)
            os.makedirs(folder, exist_ok=True)
            for i, m in enumerate(messages):
                with open(os.path.join(folder, f"{i:05d}"), "wb") as f:
                    f.write(to_lf(m))
            r = subprocess.run(["sa-learn", *self.common_args(), f"--dbpath={self.bayes}", "--max-size=0",
                                "--no-sync", f"--{kind}", folder],
                               capture_output=True, text=True, env={**os.environ, "HOME": self.home})
            if r.returncode != 0:
                raise BenchError(f"sa-learn --{kind}: {(r.stderr or r.stdout).strip()[-500:]}")
            shutil.rmtree(folder, ignore_errors=True)
        r = subprocess.run(["sa-learn", *self.common_args(), f"--dbpath={self.bayes}", "--sync"],
                           capture_output=True, text=True, env={**os.environ, "HOME": self.home})
        if r.returncode != 0:
            raise BenchError(f"sa-learn --sync: {(r.stderr or r.stdout).strip()[-500:]}")
        for name in os.listdir(self.bayes):
            os.chown(os.path.join(self.bayes, name), self.uid, self.gid)
        return time.monotonic() - start

    def counts(self):
        """(spam, ham) messages the Bayes database has learnt (sa-learn --dump magic)."""
        r = subprocess.run(["sa-learn", *self.common_args(), f"--dbpath={self.bayes}", "--dump", "magic"],
                           capture_output=True, text=True, env={**os.environ, "HOME": self.home})
        got = {}
        for line in r.stdout.splitlines():
            parts = line.split()
            if len(parts) >= 4 and parts[-1] in ("nspam", "nham"):
                got[parts[-1]] = int(parts[2])
        return got.get("nspam", 0), got.get("nham", 0)

    def start(self):
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["spamd", *self.common_args(), "-x", "-u", "nobody", "-H", self.home, "-i", f"{HOST}:{self.port}",
             "-A", "127.0.0.1", f"--max-children={self.children}", f"--min-children={self.children}",
             f"--min-spare={self.children}", f"--max-spare={self.children}", "-s", self.log,
             "-r", os.path.join(self.dir, "spamd.pid")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(self.log + ".err", "wb"))
        wait_port(self.port, self.proc, timeout=180, what="spamd")  # it compiles the rules first

    def spamc_args(self):
        """spamc's arguments to reach this spamd (also what spamass-milter passes on)."""
        return ["-d", HOST, "-p", str(self.port), "-s", str(64 << 20)]

    def check(self, raw):
        """(score, is_spam) for one message, through spamc -c."""
        r = subprocess.run(["spamc", *self.spamc_args(), "-c", "-x"], input=to_lf(raw), capture_output=True)
        out = r.stdout.decode(errors="replace").strip()
        if r.returncode not in (0, 1) or "/" not in out:
            raise BenchError(f"spamc: status {r.returncode}, {out or r.stderr.decode(errors='replace').strip()}")
        score = float(out.split("/")[0])
        return score, r.returncode == 1

    def check_all(self, messages, clients=None):
        """check() of each message, `clients` spamc processes at a time (spamd's children by default)."""
        with ThreadPoolExecutor(max_workers=clients or self.children) as ex:
            return list(ex.map(self.check, messages))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log_tail(self, lines=5):
        try:
            with open(self.log, errors="replace") as f:
                return " | ".join(f.read().splitlines()[-lines:])
        except OSError:
            return "(no log)"
