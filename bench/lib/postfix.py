"""Postfix as the peer for SMTP ingest and relay, started by hand: its own configuration folder
(main.cf, master.cf), queue and data folders and Maildirs all under a temporary folder, smtpd on a free
127.0.0.1 port, no chroot, no DNS (smtp_dns_support_level = disabled, no client name lookups), logging to
a file. Needs the Debian package (scripts/install-bench-deps.sh) for its daemons and its postfix user.

A milter (milter_port: spamass-milter, bench/lib/spamfilter.py) can be asked before smtpd's 250.

Delivery: the virtual(8) agent into Maildir/ folders under the temporary folder (owned by nobody), which
is Postfix's own file-per-message store. Durability is Postfix's default and cannot be lowered: the queue
file is fsync'd before smtpd's 250, and virtual(8) fsyncs each Maildir file before linking it into new/.
"""

import os
import pwd
import grp
import subprocess

from common import DOMAIN, HOST, BenchError, count_files, free_port, wait_port

MASTER_CF = """\
{port}  inet  n  -  n  -  -  smtpd
pickup    unix  n  -  n  60  1  pickup
cleanup   unix  n  -  n  -   0  cleanup
qmgr      unix  n  -  n  300 1  qmgr
rewrite   unix  -  -  n  -   -  trivial-rewrite
bounce    unix  -  -  n  -   0  bounce
defer     unix  -  -  n  -   0  bounce
trace     unix  -  -  n  -   0  bounce
verify    unix  -  -  n  -   1  verify
flush     unix  n  -  n  1000? 0 flush
proxymap  unix  -  -  n  -   -  proxymap
proxywrite unix -  -  n  -   1  proxymap
smtp      unix  -  -  n  -   -  smtp
relay     unix  -  -  n  -   -  smtp
showq     unix  n  -  n  -   -  showq
error     unix  -  -  n  -   -  error
retry     unix  -  -  n  -   -  error
discard   unix  -  -  n  -   -  discard
local     unix  -  n  n  -   -  local
virtual   unix  -  n  n  -   -  virtual
anvil     unix  -  -  n  -   1  anvil
scache    unix  -  -  n  -   1  scache
postlog   unix-dgram n - n - 1  postlogd
"""


def available():
    """None when Postfix can run here, else why not."""
    if not os.path.exists("/usr/sbin/postfix") or not os.path.isdir("/usr/lib/postfix/sbin"):
        return "postfix is not installed (scripts/install-bench-deps.sh)"
    try:
        pwd.getpwnam("postfix")
        grp.getgrnam("postdrop")
    except KeyError:
        return "the postfix user or postdrop group is missing (reinstall the postfix package)"
    if os.getuid() != 0:
        return "Postfix has to be started as root"
    return None


class Postfix:
    name = "Postfix"

    def __init__(self, root, relay_port=None, users=(), aliases=None, milter_port=None):
        why = available()
        if why:
            raise BenchError(why)
        self.dir = root
        self.etc = os.path.join(root, "etc")
        self.queue = os.path.join(root, "queue")
        self.vmail = os.path.join(root, "vmail")
        self.port = free_port()
        self.started = False
        for d in (self.etc, self.queue, self.vmail):
            os.makedirs(d, exist_ok=True)
        nobody = pwd.getpwnam("nobody")
        os.chown(self.vmail, nobody.pw_uid, nobody.pw_gid)
        with open(os.path.join(self.etc, "vmailbox"), "w") as f:
            for u in users:
                local = u.split("@")[0]
                f.write(f"{u} {DOMAIN}/{local}/Maildir/\n")
        with open(os.path.join(self.etc, "valias"), "w") as f:
            for a, t in (aliases or {}).items():
                f.write(f"{a} {t}\n")
        main = {
            "compatibility_level": "3.6",
            "queue_directory": self.queue,
            "data_directory": os.path.join(root, "data"),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "bench.postfix.test",
            "mydomain": "postfix.test",
            "myorigin": "$myhostname",
            "mydestination": "",
            "inet_interfaces": HOST,
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "smtpd_peername_lookup": "no",
            "smtp_dns_support_level": "disabled",
            "relayhost": f"[{HOST}]:{relay_port}" if relay_port else "",
            "virtual_mailbox_domains": DOMAIN,
            "virtual_mailbox_base": self.vmail,
            "virtual_mailbox_maps": f"texthash:{self.etc}/vmailbox",
            "virtual_alias_maps": f"texthash:{self.etc}/valias",
            "virtual_uid_maps": f"static:{nobody.pw_uid}",
            "virtual_gid_maps": f"static:{nobody.pw_gid}",
            "alias_maps": "",
            "alias_database": "",
            "biff": "no",
            "maillog_file": os.path.join(root, "maillog"),
            "maillog_file_prefixes": root,
        }
        if milter_port:  # a milter (spamass-milter) asked before each 250; down: 451, never a silent pass
            main.update({"smtpd_milters": f"inet:{HOST}:{milter_port}", "milter_default_action": "tempfail",
                         "milter_protocol": "6"})
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            for k, v in main.items():
                f.write(f"{k} = {v}\n")
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(port=f"{HOST}:{self.port}"))

    def _postfix(self, *args):
        r = subprocess.run(["postfix", "-c", self.etc, *args], capture_output=True, text=True)
        if r.returncode != 0:
            raise BenchError(f"postfix {' '.join(args)}: {(r.stderr or r.stdout).strip()[-500:]}")
        return r

    def start(self):
        self._postfix("check")
        self._postfix("start")
        self.started = True
        wait_port(self.port, what="postfix smtpd")

    @property
    def pid(self):
        with open(os.path.join(self.queue, "pid", "master.pid")) as f:
            return int(f.read().split()[0])

    def stop(self):
        if self.started:
            subprocess.run(["postfix", "-c", self.etc, "stop"], capture_output=True)
            self.started = False

    def maildir_new(self, address):
        return os.path.join(self.vmail, DOMAIN, address.split("@")[0], "Maildir", "new")

    def delivered(self, address):
        return count_files(self.maildir_new(address))

    def log_tail(self, lines=8):
        try:
            with open(os.path.join(self.dir, "maillog"), errors="replace") as f:
                return " | ".join(f.read().splitlines()[-lines:])
        except OSError:
            return "(no log)"
