"""Spam filter accuracy, Tern beside SpamAssassin, on the SpamAssassin public corpus split as
tests/system/corpus.py splits it: per family, four fifths trained and a fifth held out. The test holds
out one fifth (corpus.HOLD); this runs each of the five in turn (five-fold cross-validation, FOLDS picks
fewer), so that every message is judged once by a filter that did not learn it, and a change that only
suits one split shows in the other four.

Tern: as in the test (corpus.classify_with_tern): the training part appended over IMAP and learnt with
`tern spam train`, the held-out part sent over SMTP; Junk or refused is a spam verdict. No DNS list,
no DNS rule (DNS goes to a closed port).
SpamAssassin (lib/spamassassin.py): its shipped rules, local tests only, Bayes learnt by sa-learn from
the same training part, the held-out part through spamd and spamc; 5.0 or more is a spam verdict.

Trained (the fold the test holds out) keeps what both learnt (Tern's shared classifier file,
SpamAssassin's Bayes folder) for the filter-cost workloads of the same run, so that the corpus is
learnt once per process. SPAM_VERDICTS=path writes each message's verdicts (JSON) for study.
"""

import atexit
import json
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


class Fold:
    """What Tern and SpamAssassin learnt from one fold's training part, made on first use, kept until
    exit (or forget())."""

    def __init__(self, hold):
        self.hold = hold
        self._dir = None
        self._parts = None
        self.tern_db = None  # a copy of Tern's data_dir/spam/ (shared.db: the shared classifier) after training
        self.tern_where = self.tern_took = None
        self.sa = None  # a SpamAssassin (stopped) whose Bayes learnt the training part
        self.sa_learn_s = None

    def folder(self):
        if self._dir is None:
            self._dir = make_tempdir(f"spam-trained-{self.hold}")
            atexit.register(remove_tree, self._dir)
        return self._dir

    def split(self):
        if self._parts is None:
            if not corpus.available():
                raise BenchError(f"no corpus in {corpus.ROOT}: run scripts/fetch-spam-corpus.sh")
            self._parts = corpus.split(self.hold)
        return self._parts

    def forget(self):
        """Drops the messages and what both learnt (a fold no workload uses again)."""
        if self._dir is not None:
            remove_tree(self._dir)
        self.__init__(self.hold)

    def tern(self):
        """Trains Tern and classifies the held-out part (the test's run); keeps the shared classifier's
        folder and returns its path."""
        if self.tern_db is None:
            p = self.split()
            d = make_tempdir("spam-tern")
            server = None
            try:
                server = Tern(d, listeners=("smtp", "imap"), plaintext=True, limits={"max_received_headers": 100})
                server.add_user(USER)
                server.start()
                self.tern_where, self.tern_took = corpus.classify_with_tern(
                    p, HOST, server.ports["smtp"], server.ports["imap"], USER, PASSWORD,
                    train=lambda folder, kind: server.cli("spam", "train", USER, folder, kind),
                    folder_dir=lambda folder: server.inbox_dir(USER, folder))
                server.check_alive()
                server.stop()
                spam = os.path.join(server.data, "spam")
                if not os.path.exists(os.path.join(spam, "shared.db")):
                    raise BenchError(f"no {spam}/shared.db after training")
                self.tern_db = os.path.join(self.folder(), "tern-spam")
                shutil.copytree(spam, self.tern_db)
            except AssertionError as e:
                raise BenchError(f"Tern on the corpus: {e}; log: {server.log_tail() if server else ''}")
            finally:
                if server:
                    server.stop()
                remove_tree(d)
        return self.tern_db

    def spamassassin(self):
        """A SpamAssassin whose Bayes learnt the training part (not started)."""
        if self.sa is None:
            p = self.split()
            sa = SpamAssassin(os.path.join(self.folder(), "spamassassin"))
            ham = [raw for _f, _i, is_spam, raw in p["train"] if not is_spam]
            spam = [raw for _f, _i, is_spam, raw in p["train"] if is_spam]
            self.sa_learn_s = sa.learn(ham, spam)
            self.sa = sa
        return self.sa


Trained = Fold(corpus.HOLD)  # the test's fold, which the filter-cost workloads reuse


def classify_with_spamassassin(fold):
    """({tag: "INBOX" or "Junk"}, {tag: score}, seconds) for the fold's held-out messages through spamd."""
    held_out = fold.split()["test"]
    sa = fold.spamassassin()
    sa.start()
    try:
        start = time.monotonic()
        results = sa.check_all([raw for _f, _i, _s, raw in held_out])
        took = time.monotonic() - start
    finally:
        sa.stop()
    tags = [corpus.tag_of(f, m) for f, m, _s, _r in held_out]
    where = {t: ("Junk" if spam else "INBOX") for t, (_score, spam) in zip(tags, results)}
    return where, {t: score for t, (score, _spam) in zip(tags, results)}, took


def pct(wrong, n):
    return f"{wrong / n:.1%}" if n else "n/a"


def ratio(a, b):
    """Tern's rate over SpamAssassin's: 'n/a' when SpamAssassin's is 0 (and Tern's too: '1 (both 0)')."""
    if b:
        return f"{a / b:.2f}"
    return "both 0" if not a else "SpamAssassin 0"


def holds():
    """The folds to run: FOLDS="0,1,2,3,4" (all, the default) or a subset."""
    text = os.environ.get("FOLDS", ",".join(str(h) for h in range(corpus.FOLDS)))
    try:
        chosen = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        chosen = []
    if not chosen or any(not 0 <= h < corpus.FOLDS for h in chosen):
        raise BenchError(f"FOLDS={text!r}: a comma-separated list of 0 to {corpus.FOLDS - 1}")
    return chosen


def goal(tern, sa):
    """Issue 14's goal on counts {group: wrong} of the same messages: Tern's false positives no more than
    SpamAssassin's (all ham, and easy and hard ham each), its false negatives fewer. (fp_ok, fn_ok)"""
    fp_ok = all(tern[g] <= sa[g] for g in ("easy ham", "hard ham"))
    return fp_ok, tern["spam"] < sa["spam"]


def run():
    """Both sides on the corpus, fold by fold; returns the text of the comparison (Markdown)."""
    from runner import say, versions
    chosen = holds()
    rows = {"tern": {}, "sa": {}}  # {family: {"n", "wrong"}} summed over the folds
    per_fold = []
    overlap = {"both": 0, "tern": 0, "sa": 0, "ham both": 0}
    took = {"appended": 0.0, "learnt": 0.0, "classified": 0.0, "refused": 0, "sa_learn": 0.0, "sa_judge": 0.0}
    verdicts = {}
    n_test = n_train = n_spam_train = 0
    sa_n = None
    for hold in chosen:
        fold = Trained if hold == corpus.HOLD else Fold(hold)
        say(f"spam: fold {hold} (messages {hold}, {hold + corpus.FOLDS}, ... of each family held out)")
        p = fold.split()
        fold.tern()
        sa_where, sa_scores, sa_took = classify_with_spamassassin(fold)
        tern_where = fold.tern_where
        if sa_n is None:
            sa_n = fold.sa.counts()
            n_train = len(p["train"])
            n_spam_train = sum(1 for x in p["train"] if x[2])
        n_test += len(p["test"])
        for side, where in (("tern", tern_where), ("sa", sa_where)):
            for family, r in corpus.tally(p["test"], where).items():
                total = rows[side].setdefault(family, {"n": 0, "wrong": 0})
                total["n"] += r["n"]
                total["wrong"] += r["wrong"]
        counts = {}
        for side, where in (("tern", tern_where), ("sa", sa_where)):
            tally = corpus.tally(p["test"], where)
            counts[side] = {g: corpus.rate(tally, fams)[0] for g, fams in corpus.GROUPS.items()}
        per_fold.append((hold, len(p["test"]), counts))
        for f, m, is_spam, _r in p["test"]:
            t = corpus.tag_of(f, m)
            tern_spam, sa_spam = tern_where[t] != "INBOX", sa_where[t] != "INBOX"
            if is_spam:
                overlap["both"] += not tern_spam and not sa_spam
                overlap["tern"] += not tern_spam and sa_spam
                overlap["sa"] += tern_spam and not sa_spam
            else:
                overlap["ham both"] += tern_spam and sa_spam
            verdicts[t] = {"fold": hold, "spam": is_spam, "tern": tern_where[t], "sa": sa_where[t],
                           "sa_score": sa_scores[t]}
        for k in ("appended", "learnt", "classified", "refused"):
            took[k] += fold.tern_took[k]
        took["sa_learn"] += fold.sa_learn_s
        took["sa_judge"] += sa_took
        if fold is not Trained:
            fold.forget()
    if os.environ.get("SPAM_VERDICTS"):
        with open(os.environ["SPAM_VERDICTS"], "w") as f:
            json.dump(verdicts, f, indent=0)

    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    k = len(chosen)
    which = "all five folds" if k == corpus.FOLDS else f"fold{'s' if k > 1 else ''} {', '.join(map(str, chosen))} of {corpus.FOLDS}"
    lines = ["# Spam filter accuracy: Tern and SpamAssassin on the SpamAssassin public corpus", "",
             f"{time.strftime('%Y-%m-%d %H:%M')}; {os.cpu_count()} CPUs, {mem:.0f} GiB; Tern {versions()['tern']}, "
             f"SpamAssassin {sa_version()} with the rules its Debian package ships ({RULES}; no sa-update), "
             f"local tests only (`-L`: no DNS lists, Razor, Pyzor or DCC), threshold {THRESHOLD}.", "",
             f"Five-fold cross-validation, {which}: in each fold both learnt the same {n_train} messages "
             f"({n_train - n_spam_train} ham, {n_spam_train} spam: four fifths of each family, "
             f"tests/system/corpus.py) and judged the other fifth; {n_test} judgements in all. Tern: IMAP "
             "MULTIAPPEND and `tern spam train`, the held-out part over SMTP, Junk or refused = spam (no DNS "
             f"lists or DNS rules). SpamAssassin: sa-learn (its Bayes counts {sa_n[0]} spam, {sa_n[1]} ham in "
             "the first fold), spamd and spamc.", "",
             "| family | judged | Tern wrong | Tern rate | SpamAssassin wrong | SpamAssassin rate | Tern/SpamAssassin |",
             "|---|---|---|---|---|---|---|"]
    totals = {"tern": {}, "sa": {}}
    for group, fams in corpus.GROUPS.items():
        kind = "false negatives" if corpus.FAMILIES[fams[0]] else "false positives"
        tw, n = corpus.rate(rows["tern"], fams)
        sw, _ = corpus.rate(rows["sa"], fams)
        totals["tern"][group], totals["sa"][group] = tw, sw
        lines.append(f"| **{group}** ({kind}) | {n} | {tw} | **{pct(tw, n)}** | {sw} | **{pct(sw, n)}** | {ratio(tw, sw)} |")
        for f in fams if len(fams) > 1 else ():
            t, s = rows["tern"][f], rows["sa"][f]
            lines.append(f"| {f} | {t['n']} | {t['wrong']} | {pct(t['wrong'], t['n'])} | {s['wrong']} | "
                         f"{pct(s['wrong'], s['n'])} | {ratio(t['wrong'], s['wrong'])} |")
    fp_ok, fn_ok = goal(totals["tern"], totals["sa"])
    ham_n = sum(corpus.rate(rows["tern"], corpus.GROUPS[g])[1] for g in ("easy ham", "hard ham"))
    fn_n = corpus.rate(rows["tern"], corpus.GROUPS["spam"])[1]
    ham_t = totals["tern"]["easy ham"] + totals["tern"]["hard ham"]
    ham_s = totals["sa"]["easy ham"] + totals["sa"]["hard ham"]
    lines += ["",
              f"Issue 14's goal, over {which}: Tern's false-positive rate no worse than SpamAssassin's (all ham: "
              f"{pct(ham_t, ham_n)} against {pct(ham_s, ham_n)}; easy and hard ham each: {'yes' if fp_ok else 'no'}), "
              f"its false-negative rate lower ({pct(totals['tern']['spam'], fn_n)} against "
              f"{pct(totals['sa']['spam'], fn_n)}: {'yes' if fn_ok else 'no'}). **{'Met' if fp_ok and fn_ok else 'Not met'}.**",
              "", "Fold by fold (wrong verdicts, Tern / SpamAssassin):", "",
              "| fold | judged | easy ham | hard ham | spam | goal |", "|---|---|---|---|---|---|"]
    met = 0
    for hold, n, counts in per_fold:
        ok = all(goal(counts["tern"], counts["sa"]))
        met += ok
        test_fold = " (the test's)" if hold == corpus.HOLD else ""
        lines.append(f"| {hold}{test_fold} | {n} | " + " | ".join(
            f"{counts['tern'][g]} / {counts['sa'][g]}" for g in corpus.GROUPS) + f" | {'met' if ok else 'not met'} |")
    lines += ["", f"The goal holds in {met} of {k} fold{'s' if k > 1 else ''}.", "",
              f"- Spam missed by both: {overlap['both']}; by Tern only: {overlap['tern']}; by SpamAssassin "
              f"only: {overlap['sa']}. Ham junked by both: {overlap['ham both']}.",
              f"- Refused by Tern (reject_score): {took['refused']} of the held-out messages.",
              f"- Time, summed over the folds: Tern appended the training parts in {took['appended']:.0f} s, learnt "
              f"them in {took['learnt']:.0f} s and took {took['classified']:.0f} s for the held-out parts over "
              f"one SMTP session each ({n_test / took['classified']:.1f} msg/s, until stored); SpamAssassin learnt "
              f"in {took['sa_learn']:.0f} s (sa-learn) and took {took['sa_judge']:.0f} s to judge "
              f"({n_test / took['sa_judge']:.1f} msg/s, spamd with {Trained.sa.children if Trained.sa else 2} "
              "children, as many spamc at a time).", ""]
    return "\n".join(lines)
