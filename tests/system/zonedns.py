"""A small authoritative DNS server for tests, answering over UDP on loopback from a Python dict.

dnsmasq cannot play some of what the RFC 7208 test suite asks for (a name that times out, a TXT record
with non-ASCII octets or no strings at all, a zone swapped between test sections), so the SPF suite
runs against this server. Records: {"name": [("A", "192.0.2.1"), ("MX", (10, "mx.name")), ("TXT",
"text" or ["two", "strings"]), ("AAAA", ...), ("PTR", ...), ("CNAME", ...), ("SPF", ...), ("TIMEOUT",
None)]}. A name with TIMEOUT answers SERVFAIL for every type it has no records of (a failure the resolver
reports at once, like a timeout without the wait); the types it has are answered, as the suite's own
driver does. Unknown names get NXDOMAIN; known names without the asked type an empty answer.
"""

import ipaddress
import socket
import struct
import threading

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "SPF": 99}


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode("latin-1", "replace")[:63]
        if raw:
            out += bytes([len(raw)]) + raw
    return out + b"\0"


def encode_strings(value):
    parts = value if isinstance(value, list) else [value]
    if not parts:
        return b"\0"  # "no strings": one empty character-string
    out = b""
    for p in parts:
        raw = p.encode("latin-1") if all(ord(ch) < 256 for ch in p) else p.encode("utf-8")
        while True:
            out += bytes([min(len(raw), 255)]) + raw[:255]
            raw = raw[255:]
            if not raw:
                break
    return out


def rdata(rtype, value):
    if rtype == "A":
        return ipaddress.IPv4Address(value).packed
    if rtype == "AAAA":
        return ipaddress.IPv6Address(value).packed
    if rtype == "MX":
        return struct.pack("!H", int(value[0])) + encode_name(value[1])
    if rtype in ("PTR", "CNAME"):
        return encode_name(value)
    if rtype in ("TXT", "SPF"):
        return encode_strings(value)
    raise ValueError(rtype)


class ZoneServer:
    def __init__(self, zone=None):
        self.zone = {}
        self.set_zone(zone or {})
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def set_zone(self, zone):
        normalized = {}
        for name, records in zone.items():
            normalized.setdefault(name.lower().rstrip("."), []).extend(records)
        self.zone = normalized

    def stop(self):
        self.sock.close()

    def _answers(self, name, qtype, depth=0):
        """(rcode, [(owner, type, rdata)])"""
        records = self.zone.get(name.lower().rstrip("."))
        if records is None:
            return 3, []
        timeout = any(t == "TIMEOUT" for t, _ in records)
        out = []
        cname = [v for t, v in records if t == "CNAME"]
        if cname and qtype != "CNAME" and depth < 8:
            rcode, more = self._answers(cname[0], qtype, depth + 1)
            return (0 if rcode == 3 else rcode), [(name, "CNAME", cname[0])] + more
        wanted = [(t, v) for t, v in records if t == qtype]
        if qtype == "TXT":
            # The suite's rule: SPF records are served as TXT too, unless the name says "TXT: NONE".
            if any(t == "TXT" and v == "NONE" for t, v in records):
                wanted = []
            elif not wanted:
                wanted = [("TXT", v) for t, v in records if t == "SPF"]
        if timeout and not wanted:
            return 2, []  # the suite's TIMEOUT: the types the name has no records of time out
        for t, v in wanted:
            out.append((name, qtype, v))
        return 0, out

    def _serve(self):
        while True:
            try:
                query, addr = self.sock.recvfrom(4096)
            except OSError:
                return
            try:
                reply = self._reply(query)
            except Exception:  # a query this server cannot read: no answer
                continue
            try:
                self.sock.sendto(reply, addr)
            except OSError:
                return

    def _reply(self, query):
        qid, flags, qd = struct.unpack("!HHH", query[:6])
        pos = 12
        labels = []
        while query[pos]:
            n = query[pos]
            labels.append(query[pos + 1:pos + 1 + n].decode("latin-1"))
            pos += 1 + n
        pos += 1
        qtype_num, _qclass = struct.unpack("!HH", query[pos:pos + 4])
        question = query[12:pos + 4]
        name = ".".join(labels)
        qtype = {v: k for k, v in TYPES.items()}.get(qtype_num, "OTHER")
        with self.lock:
            rcode, answers = self._answers(name, qtype)
        body = b""
        for owner, rtype, value in answers:
            data = rdata(rtype, value)
            body += encode_name(owner) + struct.pack("!HHIH", TYPES[rtype], 1, 0, len(data)) + data
        out_flags = 0x8000 | 0x0400 | (flags & 0x0100) | rcode  # QR, AA, RD copied
        header = struct.pack("!HHHHHH", qid, out_flags, 1, len(answers), 0, 0)
        reply = header + question + body
        if len(reply) > 1232:  # over EDNS's size: truncated, the client asks again over TCP (not served)
            reply = struct.pack("!HHHHHH", qid, out_flags | 0x0200, 1, 0, 0, 0) + question
        return reply
