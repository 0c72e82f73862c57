"""What the filter-cost workloads (spam_full, spam_milter) run beside the servers: Tern's whole filter
and Postfix's spamass-milter, each with what it needs, all on loopback.

Tern's filter fully on: the spam stage with the shared classifier trained on the corpus's training part
(its shared.db copied into each fresh server, lib/spamacc.py), two DNS lists (an IP list and a domain
list) and reverse DNS answered by a dnsmasq of the workload's own, and clamd scanning every message with
a one-line .ndb signature database (the EICAR string; freshclam is never needed), started as
tests/system/test_virus.py starts it.
Postfix's: spamass-milter, which hands each message to spamc, to a spamd whose Bayes learnt the same
training part (lib/spamassassin.py: shipped rules, local tests only).

The message: the held-out easy-ham message nearest SIZE octets (text/plain, no line starting with a
dot, for smtp-source -F), the same for every side; the same real words for both classifiers to read.
"""

import os
import shutil
import subprocess

from authbench import Dns
from common import HOST, BenchError, free_port, wait_port
import spamacc  # puts tests/system on the path
from test_virus import Clamd  # clamd with only the EICAR signature, as the virus tests run it

SENDER = "sender@example.test"
IP_LIST = "bl.bench.test"
DOMAIN_LIST = "dbl.bench.test"


class Milter:
    """spamass-milter in the foreground on a free loopback port, passing spamc the way to spamd."""

    def __init__(self, spamassassin):
        if not shutil.which("spamass-milter"):
            raise BenchError("spamass-milter is not installed (scripts/install-bench-deps.sh)")
        self.port = free_port()
        self.proc = subprocess.Popen(["spamass-milter", "-p", f"inet:{self.port}@{HOST}", "--",
                                      *spamassassin.spamc_args()],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, self.proc, what="spamass-milter")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def pick_message(size):
    """The held-out easy-ham message nearest size octets that smtp-source -F can send as it is."""
    best = None
    for family, _mid, is_spam, raw in spamacc.Trained.split()["test"]:
        if is_spam or not family.startswith("easy-ham"):
            continue
        head = raw.split(b"\r\n\r\n", 1)[0].lower()
        if b"content-type:" in head and b"text/plain" not in head:
            continue
        if any(line.startswith(b".") for line in raw.split(b"\r\n")):
            continue
        if best is None or abs(len(raw) - size) < abs(len(best) - size):
            best = raw
    return best


class Filter:
    """The pieces either side needs (tern: DNS, clamd, the trained classifier; spamassassin: spamd with
    the trained Bayes, spamass-milter), started once per workload and side."""

    def __init__(self, folder, size, tern=True, spamassassin=False, spamd_children=5):
        self.dns = self.clamd = self.sa = self.milter = None
        self.sender = SENDER
        self.db = spamacc.Trained.tern() if tern else None
        raw = pick_message(size)
        self.size = len(raw)
        self.path = os.path.join(folder, "message.eml")
        with open(self.path, "wb") as f:  # smtp-source -F sends each line with CRLF
            f.write(raw.replace(b"\r\n", b"\n"))
        try:
            # The client (127.0.0.1) has a confirmed reverse name; it and the sender's domain are listed
            # with a weight of 0.1 (the rules show in X-Spam-Status: proof that the lists were asked);
            # every other name (SPF, DMARC, the links' hosts on the domain list) has none (NXDOMAIN).
            self.dns = Dns({}, extra=[
                "--local=/#/", "--ptr-record=1.0.0.127.in-addr.arpa,client.bench.test",
                "--host-record=client.bench.test,127.0.0.1", f"--address=/1.0.0.127.{IP_LIST}/127.0.0.2",
                f"--address=/example.test.{DOMAIN_LIST}/127.0.0.2"])
            if tern:
                try:
                    self.clamd = Clamd()
                except AssertionError as e:
                    raise BenchError(str(e)) from None
            if spamassassin:
                self.sa = spamacc.Trained.spamassassin()
                self.sa.children = spamd_children
                self.sa.start()
                self.milter = Milter(self.sa)
        except BaseException:
            self.stop()
            raise

    @property
    def port(self):
        """The dnsmasq's port, for Tern's [dns] servers."""
        return self.dns.port

    def tern_extra(self, on):
        """Tern's configuration: the whole filter, or `[spam] enabled = false` and no clamd."""
        if not on:
            return "[spam]\nenabled = false"
        return (f'[spam]\nenabled = true\n[[spam.dnsbl]]\nzone = "{IP_LIST}"\nweight = 0.1\n'
                f'[[spam.dnsbl]]\nzone = "{DOMAIN_LIST}"\ntype = "domain"\nweight = 0.1\n'
                f'[virus]\nclamd = "{self.clamd.socket}"\nwhen_down = "tempfail"')

    def prepare(self, server):
        """The trained shared classifier into a Tern not started yet."""
        shutil.copytree(self.db, os.path.join(server.data, "spam"), dirs_exist_ok=True)

    def pids(self):
        """clamd's, or spamd's and the milter's (spamc runs as the milter's child)."""
        return [p.proc.pid for p in (self.clamd, self.sa, self.milter) if p is not None]

    def stop(self):
        for part in (self.milter, self.sa, self.dns):
            if part is not None:
                part.stop()
        if self.clamd is not None:
            self.clamd.cleanup()
