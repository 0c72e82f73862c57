"""What the mail-authentication workloads need: a sending domain that publishes SPF, DKIM keys and a
DMARC policy on a dnsmasq of its own (loopback), and one message signed for it by dkimpy beforehand.

The sending domain is signer.test: SPF allows 127.0.0.0/8, DMARC p=reject with a rua address (so the
receiver records each evaluation for its aggregate report, as it would for most senders), and two DKIM
keys, RSA-2048 and Ed25519, both signing the message (relaxed/relaxed), as Tern itself signs. Every
message smtp-source sends is that same file (smtp-source -F): the verification work per message does not
depend on which message it is, and the keys are cached after the first lookups, as they would be for a
busy sending domain.
"""

import os
import shutil
import socket
import subprocess
import time

from common import HOST, BenchError, free_port, message

SIGNER = "signer.test"
SENDER = f"bench@{SIGNER}"


def _tool(name):
    path = shutil.which(name)
    if not path:
        raise BenchError(f"{name} missing (scripts/install-deps.sh installs python3-dkim and dnsmasq-base)")
    return path


def _run(args, stdin=None):
    r = subprocess.run(args, input=stdin, capture_output=True)
    if r.returncode != 0:
        raise BenchError(f"{' '.join(args[:2])}: {r.stderr.decode(errors='replace').strip()[:300]}")
    return r.stdout


def _strings(text, width=250):
    """A TXT record's text as dnsmasq's comma-separated character-strings of at most 255 octets (no
    quotes: dnsmasq keeps quotes given on its command line as part of the text)."""
    if "," in text:
        raise BenchError(f"a TXT record with a comma cannot be given to dnsmasq: {text}")
    return ",".join(text[i:i + width] for i in range(0, len(text), width))


class SignedMail:
    """Keys made with dknewkey, the message signed twice with dkimsign, the records to serve."""

    def __init__(self, folder, rcpt, size):
        os.makedirs(folder, exist_ok=True)
        self.sender = SENDER
        self.records = {
            SIGNER: "v=spf1 ip4:127.0.0.0/8 -all",
            f"_dmarc.{SIGNER}": f"v=DMARC1; p=reject; rua=mailto:dmarc@{SIGNER}",
        }
        text = message(rcpt, 0, size).replace(b"@example.test>", f"@{SIGNER}>".encode(), 1)
        for selector, kind in (("ed", "ed25519"), ("rsa", "rsa")):
            base = os.path.join(folder, selector)
            subprocess.run([_tool("dknewkey"), "--ktype", kind, base], cwd=folder, capture_output=True, check=True)
            with open(base + ".dns") as f:
                self.records[f"{selector}._domainkey.{SIGNER}"] = f.read().strip()
            alg = "ed25519-sha256" if kind == "ed25519" else "rsa-sha256"
            field = _run([_tool("dkimsign"), "--hcanon", "relaxed", "--bcanon", "relaxed", "--signalg", alg,
                          selector, SIGNER, base + ".key"], stdin=text)
            # dkimsign prints the signed message; keep its new field (LF or CRLF) in front of the text
            field = field[: len(field) - len(text)] if field.endswith(text) else field.split(text[:20])[0]
            text = field.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + text
        if text.count(b"DKIM-Signature:") != 2:
            raise BenchError("dkimsign did not sign the bench message twice")
        self.path = os.path.join(folder, "signed.eml")
        with open(self.path, "wb") as f:  # smtp-source -F sends each line with CRLF
            f.write(text.replace(b"\r\n", b"\n"))


class Dns:
    """dnsmasq on a free loopback port answering the TXT records given and the dnsmasq options in extra
    (--address=..., --ptr-record=...), nothing else (--local=/test/)."""

    def __init__(self, records, extra=()):
        self.port = free_port()
        args = [_tool("dnsmasq"), "--no-daemon", "--no-resolv", "--no-hosts", "--no-poll", f"--port={self.port}",
                "--listen-address=127.0.0.1", "--bind-interfaces", "--local=/test/", "--log-facility=-",
                "--conf-file=/dev/null", "--user=" + ("root" if os.geteuid() == 0 else os.environ.get("USER", "nobody"))]
        args += [f"--txt-record={name},{_strings(value)}" for name, value in records.items()]
        args += list(extra)
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        query = bytes.fromhex("abcd0100000100000000000004746573740000060001")  # "test" SOA
        while True:
            if self.proc.poll() is not None:
                raise BenchError(f"dnsmasq exited with {self.proc.returncode}")
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.settimeout(0.2)
                    s.sendto(query, (HOST, self.port))
                    s.recv(512)
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise BenchError("dnsmasq did not answer")
                time.sleep(0.05)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
