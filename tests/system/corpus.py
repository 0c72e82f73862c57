"""The SpamAssassin public corpus (build/corpus/spam-assassin, fetched by scripts/fetch-spam-corpus.sh)
split the same way for the accuracy test and the benchmark: per family, in file-name order, every fifth
message is held out for classifying, the others are for training. The test holds out the fifth at
HOLD (messages 4, 9, 14, ...); bench/spam also runs the other four fifths (five-fold cross-validation),
so that a rule fitted to one split shows.

Families: easy-ham-1, easy-ham-2 and hard-ham-1 are ham; spam-1 and spam-2 are spam. Each message is
given back as bytes with CRLF line ends, without the mbox "From " line the corpus keeps.

Also the run on Tern that the test and bench/spam share (classify_with_tern): the training part appended
over IMAP (MULTIAPPEND) into two folders and learnt with `tern spam train`, the held-out part sent over
SMTP, each found again by the X-Corpus-Id field it was sent with; and the count per family (tally)."""

import glob
import imaplib
import json
import os
import smtplib
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("TERN_CORPUS") or os.path.join(HERE, "..", "..", "build", "corpus", "spam-assassin")
FAMILIES = {"easy-ham-1": False, "easy-ham-2": False, "hard-ham-1": False, "spam-1": True, "spam-2": True}
# The families as reported: false positives of easy and of hard ham apart, false negatives of spam.
GROUPS = {"easy ham": ("easy-ham-1", "easy-ham-2"), "hard ham": ("hard-ham-1",), "spam": ("spam-1", "spam-2")}
FOLDS = 5
HOLD = 4  # the fifth the test holds out


def available():
    return all(os.path.isdir(os.path.join(ROOT, f)) for f in FAMILIES)


def message_bytes(text):
    if text.startswith("From "):
        text = text.split("\n", 1)[1] if "\n" in text else ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.replace("\n", "\r\n").encode("utf-8", "replace")


def split(hold=HOLD):
    """{"train": [(family, id, is_spam, bytes)], "test": [...]}: message i of each family is held out
    ("test") when i % FOLDS == hold."""
    out = {"train": [], "test": []}
    for family, is_spam in FAMILIES.items():
        files = sorted(glob.glob(os.path.join(ROOT, family, "*.json")))
        for i, path in enumerate(files):
            with open(path, encoding="utf-8") as f:
                d = json.load(f)
            part = "test" if i % FOLDS == hold else "train"
            out[part].append((family, d["id"], is_spam, message_bytes(d["text"])))
    return out


def multiappend(c, folder, messages):
    """One APPEND of several messages (RFC 3502 MULTIAPPEND: one durable write for all), with
    synchronizing literals, over imaplib's connection."""
    tag = c._new_tag()
    pending = tag + b" APPEND " + folder.encode()
    for m in messages:
        # each literal's message and the next literal's size in one write (no Nagle wait between them)
        c.send(pending + b" {%d}\r\n" % len(m))
        cont = c.readline()
        if not cont.startswith(b"+"):
            raise AssertionError(f"APPEND literal refused: {cont!r}")
        pending = m
    c.send(pending + b"\r\n")
    while True:
        reply = c.readline()
        if reply.startswith(tag + b" "):
            if not reply.startswith(tag + b" OK"):
                raise AssertionError(f"APPEND failed: {reply!r}")
            return


def tag_of(family, mid):
    return f"{family}/{mid}"


def tagged(family, mid, raw):
    """The message as sent over SMTP: an X-Corpus-Id field in front, to find it again."""
    return b"X-Corpus-Id: " + tag_of(family, mid).encode() + b"\r\n" + raw


def corpus_id(raw):
    for line in raw.split(b"\r\n"):
        if line.startswith(b"X-Corpus-Id: "):
            return line[len(b"X-Corpus-Id: "):].decode()
        if not line:
            break
    return None


def landed(folders):
    """{tag: folder name} for the corpus messages in the given {folder name: directory} (files whose
    name starts with a dot are not messages)."""
    out = {}
    for folder, d in folders.items():
        if not os.path.isdir(d):
            continue
        for name in os.listdir(d):
            if name.startswith("."):
                continue
            with open(os.path.join(d, name), "rb") as f:
                tag = corpus_id(f.read(65536))
            if tag:
                out[tag] = folder
    return out


def classify_with_tern(parts, host, smtp_port, imap_port, user, password, train, folder_dir, timeout=120):
    """The training part into TrainHam and TrainSpam (user's folders, over IMAP), learnt by
    train(folder, "--ham"|"--spam"); the held-out part to user over SMTP. Returns ({tag: "INBOX", "Junk"
    or "refused"}, {"appended", "learnt", "classified": seconds, "refused": count}); folder_dir(name) is
    where a folder's message files are. An SMTP reply other than 250 or a refusal (550, 554) raises."""
    start = time.monotonic()
    c = imaplib.IMAP4(host, imap_port)
    c.login(user, password)
    for folder in ("TrainHam", "TrainSpam"):
        if c.create(folder)[0] != "OK":
            raise AssertionError(f"CREATE {folder} failed")
        batch = [raw for _f, _i, is_spam, raw in parts["train"] if is_spam == (folder == "TrainSpam")]
        for i in range(0, len(batch), 250):
            multiappend(c, folder, batch[i:i + 250])
    c.logout()
    appended = time.monotonic()
    for folder, kind in (("TrainHam", "--ham"), ("TrainSpam", "--spam")):
        train(folder, kind)
    learnt = time.monotonic()

    refused = set()
    with smtplib.SMTP(host, smtp_port, timeout=120) as s:
        s.ehlo("corpus.example.test")
        for family, mid, _spam, raw in parts["test"]:
            s.mail("corpus@sender.test")
            s.rcpt(user)
            code, text = s.data(tagged(family, mid, raw))
            if code in (550, 554):
                refused.add(tag_of(family, mid))
            elif code != 250:
                raise AssertionError(f"{tag_of(family, mid)}: {code} {text}")
    expected = len(parts["test"]) - len(refused)
    deadline = time.monotonic() + timeout
    while True:
        where = landed({f: folder_dir(f) for f in ("INBOX", "Junk")})
        if len(where) >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if len(where) != expected:
        raise AssertionError(f"{len(where)} of the {expected} accepted held-out messages stored")
    where.update((tag, "refused") for tag in refused)
    return where, {"appended": appended - start, "learnt": learnt - appended, "classified": time.monotonic() - learnt,
                  "refused": len(refused)}


def tally(held_out, where):
    """{family: {"n", "wrong", "refused"}} for the held-out messages given where each went {tag: "INBOX"
    (judged ham), "Junk" or "refused" (judged spam)}."""
    rows = {}
    for family, mid, is_spam, _raw in held_out:
        w = where[tag_of(family, mid)]
        r = rows.setdefault(family, {"n": 0, "wrong": 0, "refused": 0})
        r["n"] += 1
        r["wrong"] += int((w != "INBOX") != is_spam)
        r["refused"] += int(w == "refused")
    return rows


def rate(rows, families):
    """Wrong verdicts among the families' messages: (wrong, count)."""
    return sum(rows[f]["wrong"] for f in families), sum(rows[f]["n"] for f in families)
