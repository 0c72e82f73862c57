"""Runs workloads on Tern and on its peer in turn (A B A B ...) and writes the comparison table.

A side that cannot start or fails a run is reported with the reason and not run again for that
workload; the other side still runs, so the peer's figures are printed whatever state Tern is in.
"""

import os
import platform
import subprocess
import sys
import time

from common import REPO, BenchError, fmt, summary
from workloads import S, TLS, WORKLOADS

SIDES = ("tern", "peer")


def say(text):
    print(text, flush=True)


def run_workload(key, pairs, before_pair=None):
    cls = WORKLOADS[key]
    out = {"key": key, "name": cls.name, "unit": cls.unit, "higher_is_better": cls.higher_is_better,
           "runs": {s: [None] * pairs for s in SIDES}, "errors": {}, "details": {s: [] for s in SIDES},
           "peer": cls.peer, "note": cls.note, "extra": {s: [] for s in SIDES}}
    objs = {}
    t0 = time.monotonic()
    try:
        for side in SIDES:
            try:
                objs[side] = cls(side)
            except BenchError as e:
                out["errors"][side] = f"could not start: {e}"
                say(f"[{key}] {'Tern' if side == 'tern' else cls.peer}: {out['errors'][side]}")
        for pair in range(pairs):
            if before_pair:
                before_pair(pair)
            for side in SIDES:
                w = objs.get(side)
                if w is None or side in out["errors"]:
                    continue
                label = "Tern" if side == "tern" else w.peer
                try:
                    r = w.run()
                except BenchError as e:
                    out["errors"][side] = f"run {pair + 1} failed: {e}"
                    say(f"[{key}] {label}: {out['errors'][side]}")
                    continue
                out["runs"][side][pair] = r["value"]
                out["details"][side].append(r.get("detail", ""))
                out["extra"][side].append(r)
                say(f"[{key}] pair {pair + 1}/{pairs} {label:8s} {fmt(r['value']):>9s} {cls.unit}  {r.get('detail', '')}")
    finally:
        for w in objs.values():
            try:
                w.close()
            except Exception as e:  # never hide the figures because a stop failed
                say(f"[{key}] closing: {e}")
    out["seconds"] = time.monotonic() - t0
    return out


def ratios(res):
    t, p = res["runs"]["tern"], res["runs"]["peer"]
    return [a / b if a is not None and b else None for a, b in zip(t, p)]


def versions():
    def run(cmd):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
            return (r.stdout or r.stderr).strip()
        except Exception:
            return "?"
    commit = run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
    dirty = run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no", "src"])
    postfix = run(["postconf", "-d", "-h", "mail_version"]) or "?"
    dovecot = run(["dovecot", "--version"]).split(" ")[0] or "?"
    return {"tern": commit + (" (src modified)" if dirty else ""), "postfix": postfix, "dovecot": dovecot}


def durability(results):
    from dovecot import FSYNC
    peers = {res["peer"] for res in results}
    login = os.environ.get("DOVECOT_LOGIN", "performance")
    text = "Durability: Tern fsyncs every acknowledged change (queue file, mailbox file, index) before its reply"
    if "Postfix" in peers:
        text += ("; Postfix fsyncs its queue file before its 250 and each Maildir file before linking it into new/ "
                 "(fixed behaviour)")
    if "Dovecot" in peers:
        text += (f"; Dovecot with `mail_fsync = {FSYNC}`, Maildir, login services in "
                 f"{'high-performance' if login == 'performance' else 'high-security'} mode, yescrypt passwords as Tern's")
    clients = "TLS (imaps, pop3s)" if TLS else "plaintext (imap, pop3)"
    return (text + f". Mail clients over {clients}. Everything on 127.0.0.1; runs alternate Tern, peer, Tern, "
            "peer...")


def table(results, disk=None, title="Tern side by side with Postfix and Dovecot"):
    v = versions()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    lines = [f"# {title}", "",
             f"{time.strftime('%Y-%m-%d %H:%M')}; {os.cpu_count()} CPUs, {mem:.0f} GiB, Linux {platform.release()}; "
             f"Tern {v['tern']}, Postfix {v['postfix']}, Dovecot {v['dovecot']}.", "",
             durability(results), "",
             "| workload | unit | Tern median | Tern min-max | peer | peer median | peer min-max | Tern/peer per pair | median ratio |",
             "|---|---|---|---|---|---|---|---|---|"]
    for res in results:
        st, sp = summary(res["runs"]["tern"]), summary(res["runs"]["peer"])
        rs = ratios(res)
        rsum = summary(rs)
        better = "higher is better" if res["higher_is_better"] else "lower is better"
        cell = lambda s, k: fmt(s[k]) if s else "n/a"
        rng = lambda s: f"{fmt(s['min'])}-{fmt(s['max'])}" if s else "n/a"
        per_pair = ", ".join(f"{r:.2f}" if r is not None else "-" for r in rs) if rsum else "n/a"
        lines.append(f"| {res['name']} | {res['unit']} ({better}) | {cell(st, 'median')} | {rng(st)} | {res['peer']} | "
                     f"{cell(sp, 'median')} | {rng(sp)} | {per_pair} | "
                     f"{'**%.2f**' % rsum['median'] if rsum else 'n/a'} |")
    lines.append("")
    for res in results:
        lines.append(f"- **{res['name']}**: {res['note']}.")
        for side in SIDES:
            label = "Tern" if side == "tern" else res["peer"]
            if side in res["errors"]:
                lines.append(f"  - {label} FAILED: {res['errors'][side]}")
            if res["details"][side] and res["details"][side][-1]:
                lines.append(f"  - {label}, last run: {res['details'][side][-1]}")
        hwm = [e.get("hwm_kb") for e in res["extra"]["tern"] if e.get("hwm_kb")]
        if hwm:
            lines.append(f"  - Tern peak memory (VmHWM): {max(hwm) / 1024:.0f} MB")
        cpu = {side: summary([e.get("cpu_ms") for e in res["extra"][side]]) for side in SIDES}
        if cpu["tern"] or cpu["peer"]:
            cells = [f"{'Tern' if side == 'tern' else res['peer']} {fmt(c['median'])} ({fmt(c['min'])}-{fmt(c['max'])})"
                     for side, c in cpu.items() if c]
            lines.append(f"  - CPU per message, ms (server and its helpers, median (min-max) of the runs): "
                         f"{', '.join(cells)}")
        lines += per_kind_table(res)
    if disk:
        lines += ["", f"## The disk's limit ({disk['where']})", "",
                  "Durable small-file creations (write 5 KB, fsync, rename, fsync the folder; bench/disk_limit), "
                  "measured just before each pair of ingest runs:", "",
                  f"- 1 thread: {', '.join(fmt(x) for x in disk['one'])} files/s",
                  f"- 20 threads: {', '.join(fmt(x) for x in disk['twenty'])} files/s"]
        ingest = next((r for r in results if r["key"] == "ingest"), None)
        runs = ingest["runs"]["tern"] if ingest else []
        f1 = summary([t / o for t, o in zip(runs, disk["one"]) if t])
        f20 = summary([t / w for t, w in zip(runs, disk["twenty"]) if t])
        if f1 and f20:
            lines += [f"- Tern's ingest (until in the mailbox) as a fraction of the disk's rate measured with it: "
                      f"**{f1['median']:.2f}** of the 1-thread figure ({fmt(f1['min'])}-{fmt(f1['max'])}), "
                      f"**{f20['median']:.2f}** of the 20-thread figure ({fmt(f20['min'])}-{fmt(f20['max'])}).", "",
                      "Each message Tern ingests costs at least two durable creations (the queue file, then the mailbox "
                      "file and its index commit) and a durable removal of the queue file. It can still go above 1.0 "
                      "of the 1-thread figure: 20 sessions' fsyncs overlap and the filesystem commits them together in "
                      "one journal transaction (group commit), which the 20-thread figure measures. With two durable files per message, "
                      "0.5 of the 20-thread figure is what that per-file pattern allows at this concurrency; more needs "
                      "several messages per fsync (batching in Tern itself). The disk's rate moves with whatever else the "
                      "machine does, hence the measurement beside each pair."]
    return "\n".join(lines) + "\n"


def per_kind_table(res):
    """For the IMAP mix: each kind of command's median rate and mean latency on both sides."""
    kinds = {}
    for side in SIDES:
        for e in res["extra"][side]:
            for k, v in e.get("per_kind", {}).items():
                kinds.setdefault(k, {s: {"rate": [], "ms": []} for s in SIDES})[side]["rate"].append(v)
            for k, v in e.get("latency_ms", {}).items():
                kinds[k][side]["ms"].append(v)
    if not kinds:
        return []
    peer = res["peer"]
    out = ["", f"  | command | Tern ops/s | {peer} ops/s | Tern ms | {peer} ms | latency ratio |",
           "  |---|---|---|---|---|---|"]
    for k, v in kinds.items():
        t, p = summary(v["tern"]["rate"]), summary(v["peer"]["rate"])
        tl, pl = summary(v["tern"]["ms"]), summary(v["peer"]["ms"])
        m = lambda s: fmt(s["median"]) if s else "n/a"
        ratio = f"{tl['median'] / pl['median']:.2f}" if tl and pl and pl["median"] else "n/a"
        out.append(f"  | {k} | {m(t)} | {m(p)} | {m(tl)} | {m(pl)} | {ratio} |")
    return out + ["", "  (every client runs the same sequence, so the rates keep the same proportions; the mean "
                  "latencies tell the commands apart)", ""]


def write_results(text, name="latest.md"):
    folder = os.path.join(REPO, "bench", "results")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def failed(results):
    return any(res["errors"] for res in results)
