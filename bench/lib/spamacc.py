"""Spam filter accuracy, Tern beside SpamAssassin, on the split of the SpamAssassin public corpus that
tests/system/test_spam_corpus.py uses (tests/system/corpus.py: four fifths of each family trained,
every fifth message held out).

Tern: as in the test (corpus.classify_with_tern): the training part appended over IMAP and learnt with
`tern spam train`, the held-out part sent over SMTP; Junk or refused is a spam verdict. No DNS list,
no DNS rule (DNS goes to a closed port).
SpamAssassin (lib/spamassassin.py): its shipped rules, local tests only, Bayes learnt by sa-learn from
the same training part, the held-out part through spamd and spamc; 5.0 or more is a spam verdict.

Trained keeps what both learnt (Tern's shared classifier file, SpamAssassin's Bayes folder) for the
filter-cost workloads of the same run, so that the corpus is learnt once per process.
"""

import atexit
import os
import shutil
import sys
import time

from common import DOMAIN, HOST, PASSWORD, REPO, BenchError, make_tempdir, remove_tree
from spamassassin import RULES, THRESHOLD, SpamAssassin, version as sa_version
from tern import Tern

sys.path.insert(0, os.path.join(REPO, "tests", "system"))
import corpus  # noqa: E402

USER = f"corpus@{DOMAIN}"


def parts():
    if not corpus.available():
        raise BenchError(f"no corpus in {corpus.ROOT}: run scripts/fetch-spam-corpus.sh")
    return corpus.split()


class Trained:
    """What Tern and SpamAssassin learnt from the training part, made on first use, kept until exit."""
    _dir = None
    _parts = None
    tern_db = None  # a copy of Tern's data_dir/spam/ (shared.db: the shared classifier) after training
    tern_where = tern_took = None
    sa = None  # a SpamAssassin (stopped) whose Bayes learnt the training part
    sa_learn_s = None

    @classmethod
    def folder(cls):
        if cls._dir is None:
            cls._dir = make_tempdir("spam-trained")
            atexit.register(remove_tree, cls._dir)
        return cls._dir

    @classmethod
    def split(cls):
        if cls._parts is None:
            cls._parts = parts()
        return cls._parts

    @classmethod
    def tern(cls):
        """Trains Tern and classifies the held-out part (the test's run); keeps the shared classifier's
        folder and returns its path."""
        if cls.tern_db is None:
            p = cls.split()
            d = make_tempdir("spam-tern")
            server = None
            try:
                server = Tern(d, listeners=("smtp", "imap"), plaintext=True, limits={"max_received_headers": 100})
                server.add_user(USER)
                server.start()
                cls.tern_where, cls.tern_took = corpus.classify_with_tern(
                    p, HOST, server.ports["smtp"], server.ports["imap"], USER, PASSWORD,
                    train=lambda folder, kind: server.cli("spam", "train", USER, folder, kind),
                    folder_dir=lambda folder: server.inbox_dir(USER, folder))
                server.check_alive()
                server.stop()
                spam = os.path.join(server.data, "spam")
                if not os.path.exists(os.path.join(spam, "shared.db")):
                    raise BenchError(f"no {spam}/shared.db after training")
                cls.tern_db = os.path.join(cls.folder(), "tern-spam")
                shutil.copytree(spam, cls.tern_db)
            except AssertionError as e:
                raise BenchError(f"Tern on the corpus: {e}; log: {server.log_tail() if server else ''}")
            finally:
                if server:
                    server.stop()
                remove_tree(d)
        return cls.tern_db

    @classmethod
    def spamassassin(cls):
        """A SpamAssassin whose Bayes learnt the training part (not started)."""
        if cls.sa is None:
            p = cls.split()
            sa = SpamAssassin(os.path.join(cls.folder(), "spamassassin"))
            ham = [raw for _f, _i, is_spam, raw in p["train"] if not is_spam]
            spam = [raw for _f, _i, is_spam, raw in p["train"] if is_spam]
            cls.sa_learn_s = sa.learn(ham, spam)
            cls.sa = sa
        return cls.sa


def classify_with_spamassassin(held_out):
    """({tag: "INBOX" or "Junk"}, scores, seconds) for the held-out messages through spamd."""
    sa = Trained.spamassassin()
    sa.start()
    try:
        start = time.monotonic()
        results = sa.check_all([raw for _f, _i, _s, raw in held_out])
        took = time.monotonic() - start
    finally:
        sa.stop()
    where = {corpus.tag_of(f, m): ("Junk" if spam else "INBOX") for (f, m, _s, _r), (_score, spam) in zip(held_out, results)}
    return where, [score for score, _spam in results], took


def pct(wrong, n):
    return f"{wrong / n:.1%}" if n else "n/a"


def ratio(a, b):
    """Tern's rate over SpamAssassin's: 'n/a' when SpamAssassin's is 0 (and Tern's too: '1 (both 0)')."""
    if b:
        return f"{a / b:.2f}"
    return "both 0" if not a else "SpamAssassin 0"


def run():
    """Both sides on the corpus; returns the text of the comparison (Markdown)."""
    from runner import versions
    p = Trained.split()
    Trained.tern()
    tern_rows = corpus.tally(p["test"], Trained.tern_where)
    sa_where, sa_scores, sa_took = classify_with_spamassassin(p["test"])
    sa_rows = corpus.tally(p["test"], sa_where)
    sa_n = Trained.sa.counts()

    n_train = len(p["train"])
    n_spam_train = sum(1 for x in p["train"] if x[2])
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    lines = ["# Spam filter accuracy: Tern and SpamAssassin on the SpamAssassin public corpus", "",
             f"{time.strftime('%Y-%m-%d %H:%M')}; {os.cpu_count()} CPUs, {mem:.0f} GiB; Tern {versions()['tern']}, "
             f"SpamAssassin {sa_version()} with the rules its Debian package ships ({RULES}; no sa-update), "
             f"local tests only (`-L`: no DNS lists, Razor, Pyzor or DCC), threshold {THRESHOLD}.", "",
             f"Both learnt the same {n_train} messages ({n_train - n_spam_train} ham, {n_spam_train} spam: four fifths "
             f"of each family, tests/system/corpus.py) and judged the same {len(p['test'])} held-out ones. Tern: "
             "IMAP MULTIAPPEND and `tern spam train`, the held-out part over SMTP, Junk or refused = spam (no DNS "
             f"lists or DNS rules). SpamAssassin: sa-learn (its Bayes counts {sa_n[0]} spam, {sa_n[1]} ham), "
             "spamd and spamc.", "",
             "| family | held out | Tern wrong | Tern rate | SpamAssassin wrong | SpamAssassin rate | Tern/SpamAssassin |",
             "|---|---|---|---|---|---|---|"]
    totals = {}
    for group, fams in corpus.GROUPS.items():
        kind = "false negatives" if corpus.FAMILIES[fams[0]] else "false positives"
        tw, n = corpus.rate(tern_rows, fams)
        sw, _ = corpus.rate(sa_rows, fams)
        totals[group] = (tw, sw, n)
        lines.append(f"| **{group}** ({kind}) | {n} | {tw} | **{pct(tw, n)}** | {sw} | **{pct(sw, n)}** | {ratio(tw, sw)} |")
        for f in fams if len(fams) > 1 else ():
            t, s = tern_rows[f], sa_rows[f]
            lines.append(f"| {f} | {t['n']} | {t['wrong']} | {pct(t['wrong'], t['n'])} | {s['wrong']} | "
                         f"{pct(s['wrong'], s['n'])} | {ratio(t['wrong'], s['wrong'])} |")
    ham_t = totals["easy ham"][0] + totals["hard ham"][0]
    ham_s = totals["easy ham"][1] + totals["hard ham"][1]
    ham_n = totals["easy ham"][2] + totals["hard ham"][2]
    fn_t, fn_s, fn_n = totals["spam"]
    fp_ok = ham_t <= ham_s and totals["easy ham"][0] <= totals["easy ham"][1] and totals["hard ham"][0] <= totals["hard ham"][1]
    fn_ok = fn_t < fn_s
    lines += ["",
              f"Issue 14's goal: Tern's false-positive rate no worse than SpamAssassin's (all ham: {pct(ham_t, ham_n)} "
              f"against {pct(ham_s, ham_n)}; easy and hard ham each: {'yes' if fp_ok else 'no'}), its false-negative "
              f"rate lower ({pct(fn_t, fn_n)} against {pct(fn_s, fn_n)}: {'yes' if fn_ok else 'no'}). "
              f"**{'Met' if fp_ok and fn_ok else 'Not met'}.**", ""]
    # Which spam each missed, to see whether they miss the same messages.
    spam_tags = [corpus.tag_of(f, m) for f, m, s, _r in p["test"] if s]
    t_miss = {t for t in spam_tags if Trained.tern_where[t] == "INBOX"}
    s_miss = {t for t in spam_tags if sa_where[t] == "INBOX"}
    ham_tags = [corpus.tag_of(f, m) for f, m, s, _r in p["test"] if not s]
    lines += [f"- Spam missed by both: {len(t_miss & s_miss)}; by Tern only: {len(t_miss - s_miss)}; by SpamAssassin "
              f"only: {len(s_miss - t_miss)}. Ham junked by both: "
              f"{sum(1 for t in ham_tags if Trained.tern_where[t] != 'INBOX' and sa_where[t] != 'INBOX')}.",
              f"- Refused by Tern (reject_score): {Trained.tern_took['refused']} of the held-out messages.",
              f"- Time: Tern appended the training part in {Trained.tern_took['appended']:.0f} s, learnt it in "
              f"{Trained.tern_took['learnt']:.0f} s and took {Trained.tern_took['classified']:.0f} s for the "
              f"held-out part over one SMTP session ({len(p['test']) / Trained.tern_took['classified']:.1f} msg/s, "
              f"until stored); SpamAssassin learnt in {Trained.sa_learn_s:.0f} s (sa-learn) and took {sa_took:.0f} s "
              f"to judge ({len(p['test']) / sa_took:.1f} msg/s, spamd with {Trained.sa.children} children, as many "
              "spamc at a time).", ""]
    return "\n".join(lines)
