"""OpenDKIM (Debian's opendkim-tools and libopendkim11, 2.11.0 beta2) as the other DKIM implementation of
the cross-checks in test_dkim.py.

verify(message, records): `opendkim-testmsg` in verify mode. libopendkim looks the keys up through the
system resolver (res_query(), /etc/resolv.conf, port 53) and has no option for another server, so the
program runs in a private mount and network namespace (`unshare --mount --net`, root or CAP_SYS_ADMIN;
CI runs as root): the namespace has only its own loopback interface, its /etc/resolv.conf is a
temporary file saying `nameserver 127.0.0.1`, and a dnsmasq on 127.0.0.1:53 inside it answers the
records the test gives (and NXDOMAIN for any other .test name). No query leaves the namespace, and the
host's resolver and network are never used. This file is also the program run inside the namespace
(`python3 opendkim.py --inside DIR`).

sign(message, ...): `opendkim-testmsg -d -k -s` signs only with rsa-sha1 (its algorithm is fixed in its
source), which RFC 8301 forbids a verifier to accept; libopendkim itself signs with rsa-sha256 and
ed25519-sha256, so sign() calls its dkim_sign() through ctypes, as opendkim-testmsg does (dkim.h of
2.11: dkim_init, dkim_sign, dkim_chunk, dkim_eom, dkim_getsighdr_d).
"""

import ctypes
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TESTMSG = shutil.which("opendkim-testmsg") or "/usr/sbin/opendkim-testmsg"
UNSHARE = shutil.which("unshare") or "/usr/bin/unshare"

# dkim.h (libopendkim 2.11)
CANON = {"simple": 0, "relaxed": 1}
ALGORITHM = {"rsa-sha1": 0, "rsa-sha256": 1, "ed25519-sha256": 2}


def txt_option(name, text):
    """A dnsmasq --txt-record option; the text cut into character-strings of at most 255 octets (on
    dnsmasq's command line the strings are comma-separated, without quotes)."""
    parts = [text[i:i + 255] for i in range(0, len(text), 255)]
    return f"--txt-record={name}," + ",".join(parts)


class Verdict:
    """What opendkim-testmsg said: its exit status, and its standard output and error (text)."""

    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr

    def __repr__(self):
        return f"opendkim-testmsg exited {self.returncode}; stdout {self.stdout!r}; stderr {self.stderr!r}"


def verify(message, records):
    """Runs `opendkim-testmsg` (verify mode) on `message` (bytes) with `records` ({name: TXT text})
    served as the only DNS data; returns a Verdict. Raises AssertionError when the namespace cannot be
    made (never a silent skip)."""
    d = tempfile.mkdtemp(prefix="tern-opendkim-")
    try:
        with open(os.path.join(d, "resolv.conf"), "w", encoding="ascii") as f:
            f.write("nameserver 127.0.0.1\n")
        with open(os.path.join(d, "message"), "wb") as f:
            f.write(message)
        with open(os.path.join(d, "records.json"), "w", encoding="utf-8") as f:
            json.dump(records, f)
        r = subprocess.run([UNSHARE, "--mount", "--net", sys.executable, os.path.abspath(__file__), "--inside", d],
                           capture_output=True, text=True, timeout=120)
        verdict = os.path.join(d, "verdict.json")
        if r.returncode != 0 or not os.path.exists(verdict):
            raise AssertionError(
                "could not run opendkim-testmsg in a private mount and network namespace (unshare --mount "
                f"--net needs root or CAP_SYS_ADMIN; CI runs as root): exit {r.returncode}\n"
                f"stdout: {r.stdout}\nstderr: {r.stderr}")
        with open(verdict, encoding="utf-8") as f:
            v = json.load(f)
        return Verdict(v["returncode"], v["stdout"], v["stderr"])
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _inside(d):
    """In the new namespaces: loopback up, the temporary resolv.conf mounted, dnsmasq on
    127.0.0.1:53 answering, then opendkim-testmsg; its result goes to DIR/verdict.json."""
    sys.path.insert(0, HERE)
    from harness import Dns  # waits until dnsmasq answers

    def run(*cmd):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            sys.exit(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr}")

    run("ip", "link", "set", "lo", "up")
    run("mount", "--bind", os.path.join(d, "resolv.conf"), "/etc/resolv.conf")
    with open(os.path.join(d, "records.json"), encoding="utf-8") as f:
        records = json.load(f)
    dns = Dns([txt_option(name, text) for name, text in records.items()], port=53)
    try:
        with open(os.path.join(d, "message"), "rb") as msg:
            r = subprocess.run([TESTMSG], stdin=msg, capture_output=True, timeout=60)
    finally:
        dns.stop()
    with open(os.path.join(d, "verdict.json"), "w", encoding="utf-8") as f:
        json.dump({"returncode": r.returncode, "stdout": r.stdout.decode("utf-8", "replace"),
                   "stderr": r.stderr.decode("utf-8", "replace")}, f)


_lib = None


def _libopendkim():
    global _lib
    if _lib is None:
        lib = ctypes.CDLL("libopendkim.so.11")
        p, i, s = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p
        lib.dkim_init.restype, lib.dkim_init.argtypes = p, [p, p]
        lib.dkim_sign.restype = p
        lib.dkim_sign.argtypes = [p, s, p, s, s, s, i, i, i, ctypes.c_ssize_t, ctypes.POINTER(i)]
        lib.dkim_chunk.restype, lib.dkim_chunk.argtypes = i, [p, s, ctypes.c_size_t]
        lib.dkim_eom.restype, lib.dkim_eom.argtypes = i, [p, p]
        lib.dkim_getsighdr_d.restype = i
        lib.dkim_getsighdr_d.argtypes = [p, ctypes.c_size_t, ctypes.POINTER(s), ctypes.POINTER(ctypes.c_size_t)]
        lib.dkim_geterror.restype, lib.dkim_geterror.argtypes = s, [p]
        lib.dkim_getresultstr.restype, lib.dkim_getresultstr.argtypes = s, [i]
        lib.dkim_free.restype, lib.dkim_free.argtypes = i, [p]
        lib.dkim_close.restype, lib.dkim_close.argtypes = None, [p]
        _lib = lib
    return _lib


def sign(message, domain, selector, key_pem, algorithm="rsa-sha256", canon=("relaxed", "simple")):
    """libopendkim's DKIM-Signature field for `message` (bytes, CRLF line ends), followed by the message.
    `key_pem`: the private key in PEM (RSA, or Ed25519 in PKCS#8)."""
    lib = _libopendkim()
    handle = lib.dkim_init(None, None)
    if not handle:
        raise AssertionError("dkim_init() failed")
    status = ctypes.c_int(0)
    dkim = lib.dkim_sign(handle, b"tern-test", None, key_pem, selector.encode(), domain.encode(), CANON[canon[0]],
                         CANON[canon[1]], ALGORITHM[algorithm], -1, ctypes.byref(status))
    try:
        if not dkim:
            raise AssertionError(f"dkim_sign() failed: {lib.dkim_getresultstr(status.value).decode()}")

        def check(what, st):
            if st != 0:
                err = lib.dkim_geterror(dkim)
                raise AssertionError(f"{what}: {lib.dkim_getresultstr(st).decode()} ({err.decode() if err else ''})")

        check("dkim_chunk()", lib.dkim_chunk(dkim, message, len(message)))
        check("dkim_chunk()", lib.dkim_chunk(dkim, None, 0))
        check("dkim_eom()", lib.dkim_eom(dkim, None))
        buf, length = ctypes.c_char_p(), ctypes.c_size_t()
        check("dkim_getsighdr_d()", lib.dkim_getsighdr_d(dkim, len("DKIM-Signature"), ctypes.byref(buf),
                                                         ctypes.byref(length)))
        field = b"DKIM-Signature: " + ctypes.string_at(buf, length.value) + b"\r\n"
    finally:
        if dkim:
            lib.dkim_free(dkim)
        lib.dkim_close(handle)
    return field + message


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--inside":
        _inside(sys.argv[2])
    else:
        sys.exit("usage: opendkim.py --inside DIR (run by verify() in new namespaces)")
