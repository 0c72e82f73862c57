"""The SpamAssassin public corpus (build/corpus/spam-assassin, fetched by scripts/fetch-spam-corpus.sh)
split the same way for the accuracy test and the benchmark: per family, in file-name order, every fifth
message is held out for classifying, the others are for training.

Families: easy-ham-1, easy-ham-2 and hard-ham-1 are ham; spam-1 and spam-2 are spam. Each message is
given back as bytes with CRLF line ends, without the mbox "From " line the corpus keeps."""

import glob
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("TERN_CORPUS") or os.path.join(HERE, "..", "..", "build", "corpus", "spam-assassin")
FAMILIES = {"easy-ham-1": False, "easy-ham-2": False, "hard-ham-1": False, "spam-1": True, "spam-2": True}


def available():
    return all(os.path.isdir(os.path.join(ROOT, f)) for f in FAMILIES)


def message_bytes(text):
    if text.startswith("From "):
        text = text.split("\n", 1)[1] if "\n" in text else ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.replace("\n", "\r\n").encode("utf-8", "replace")


def split():
    """{"train": [(family, id, is_spam, bytes)], "test": [...]}"""
    out = {"train": [], "test": []}
    for family, is_spam in FAMILIES.items():
        files = sorted(glob.glob(os.path.join(ROOT, family, "*.json")))
        for i, path in enumerate(files):
            with open(path, encoding="utf-8") as f:
                d = json.load(f)
            part = "test" if i % 5 == 4 else "train"
            out[part].append((family, d["id"], is_spam, message_bytes(d["text"])))
    return out
