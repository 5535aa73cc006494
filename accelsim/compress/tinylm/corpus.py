"""The corpora tinylm learns from: Python standard-library text, shipped with accelsim.

Two corpora, both from CPython 3.11.7 (PSF licence, `data/LICENSE.txt`):
- `stdlib`: 29 pure-Python modules, split by file: 24 train (625,191 bytes), 5 held out
  (90,099 bytes);
- `docs`: the language reference's help topics (`pydoc_data.topics`, English prose with grammar
  snippets), 38 topics, one file each, every fifth (from the first) held out: 160,539 train and
  43,459 held-out bytes; a second distribution, for the LoRA experiment.

The text ships in the package (`data/`, 0.93 MB) rather than being read from the running
Python, whose standard library differs between versions and distributions. `load_corpus` checks
the bytes against a SHA-256 digest; `extract_from_python` rebuilds `data/` from a CPython 3.11.7
installation and refuses, naming the version, when the files there differ.
"""

from __future__ import annotations

import hashlib
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from accelsim.errors import InputError

DATA_DIR = Path(__file__).with_name("data")
PYTHON_VERSION = "3.11.7"

#: Standard-library modules of the `stdlib` corpus; the held-out ones are never trained on.
STDLIB_TRAIN = (
    "abc.py", "argparse.py", "bisect.py", "colorsys.py", "contextlib.py", "copy.py", "csv.py",
    "dataclasses.py", "difflib.py", "enum.py", "fractions.py", "functools.py", "heapq.py",
    "json/__init__.py", "json/decoder.py", "json/encoder.py", "json/scanner.py", "json/tool.py",
    "numbers.py", "operator.py", "sched.py", "shlex.py", "statistics.py", "string.py",
)  # fmt: skip
STDLIB_HELDOUT = ("calendar.py", "graphlib.py", "pprint.py", "queue.py", "textwrap.py")
#: The `docs` corpus: the first topics of `pydoc_data.topics` in sorted order up to this size.
DOCS_BYTES = 200_000

#: SHA-256 of each corpus: every file's name, a NUL, its bytes and a NUL, in the listed order.
DIGESTS = {
    "stdlib": "d247487b3ee6c16c648e853ffda37bfb37d1ca628d3e7aca6da48247c13b305d",
    "docs": "7508bc47cd25c136c23b7522ebb779a22e9c189b6be1cec9228f38e8a0441f72",
}


@dataclass(frozen=True)
class Corpus:
    """A corpus as file name -> bytes, split by file."""

    name: str
    train_files: tuple[str, ...]
    heldout_files: tuple[str, ...]
    texts: dict[str, bytes]

    def _join(self, names: tuple[str, ...]) -> np.ndarray:
        return np.frombuffer(b"".join(self.texts[n] for n in names), dtype=np.uint8).astype(np.int64)

    @property
    def train(self) -> np.ndarray:
        """The training files concatenated, as byte values."""
        return self._join(self.train_files)

    @property
    def heldout(self) -> np.ndarray:
        """The held-out files concatenated, as byte values."""
        return self._join(self.heldout_files)

    def digest(self) -> str:
        h = hashlib.sha256()
        for name in (*self.train_files, *self.heldout_files):
            h.update(name.encode() + b"\0" + self.texts[name] + b"\0")
        return h.hexdigest()


def _stored_name(name: str) -> str:
    # `.txt`, so the shipped text is never imported, linted or collected as Python.
    return name.replace("/", "__") + ".txt"


def _docs_split(names: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    held = tuple(n for i, n in enumerate(names) if i % 5 == 0)
    return tuple(n for n in names if n not in held), held


def _docs_names() -> list[str]:
    return sorted(p.name[: -len(".txt")] for p in (DATA_DIR / "docs").glob("*.txt"))


def load_corpus(name: str = "stdlib") -> Corpus:
    """The shipped corpus `name` (stdlib or docs), its digest checked."""
    if name == "stdlib":
        train, held = STDLIB_TRAIN, STDLIB_HELDOUT
        texts = {n: (DATA_DIR / "stdlib" / _stored_name(n)).read_bytes() for n in (*train, *held)}
    elif name == "docs":
        train, held = _docs_split(_docs_names())
        texts = {n: (DATA_DIR / "docs" / f"{n}.txt").read_bytes() for n in (*train, *held)}
    else:
        raise InputError(f"tinylm corpus: unknown {name!r}; allowed: stdlib, docs")
    corpus = Corpus(name, train, held, texts)
    if DIGESTS[name] and corpus.digest() != DIGESTS[name]:
        raise InputError(
            f"tinylm corpus {name}: SHA-256 {corpus.digest()[:16]}... differs from the shipped text of "
            f"Python {PYTHON_VERSION}'s standard library ({DIGESTS[name][:16]}...); reinstall accelsim"
        )
    return corpus


def extract_from_python(dest: Path = DATA_DIR) -> None:
    """Rebuild `data/` from the running Python, which must hold CPython 3.11.7's files."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    texts = {n: (stdlib / n).read_bytes() for n in (*STDLIB_TRAIN, *STDLIB_HELDOUT)}
    sys.path.insert(0, str(stdlib / "pydoc_data"))
    try:
        import topics  # the language reference's help topics
    finally:
        sys.path.pop(0)
    docs: dict[str, bytes] = {}
    for key in sorted(topics.topics):
        if sum(map(len, docs.values())) >= DOCS_BYTES:
            break
        docs[key] = topics.topics[key].encode()
    found = {
        "stdlib": Corpus("stdlib", STDLIB_TRAIN, STDLIB_HELDOUT, texts),
        "docs": Corpus("docs", *_docs_split(sorted(docs)), docs),
    }
    for name, corpus in found.items():
        if DIGESTS[name] and corpus.digest() != DIGESTS[name]:
            raise InputError(
                f"tinylm corpus {name}: this Python's files (Python {sys.version.split()[0]}) differ from "
                f"Python {PYTHON_VERSION}'s, whose SHA-256 the corpus records"
            )
    for name, corpus in found.items():
        folder = dest / name
        folder.mkdir(parents=True, exist_ok=True)
        for file, text in corpus.texts.items():
            (folder / (_stored_name(file) if name == "stdlib" else f"{file}.txt")).write_bytes(text)
    licence = stdlib / "LICENSE.txt"
    (dest / "LICENSE.txt").write_bytes(licence.read_bytes())
