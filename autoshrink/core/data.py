"""Data: the Penn Treebank proxy, its dictionary and batches, word vectors, and getting PTB.

- `load_corpus(folder)` reads train.txt, valid.txt and test.txt (one sentence a line, `<eos>`
  appended), builds one dictionary over train, valid, test in order of first appearance.
- `batchify(ids, batch)` cuts a token stream into `batch` columns, shape (T, B).
- `initial_embedding(...)` is the embedding every candidate starts from: pretrained vectors where
  a word has one (the seed's pickled dict, or a GloVe text file), U(-0.5, 0.5) otherwise.
- `prepare_data(dest, source=None)` makes the proxy (first 4,000 train lines, first 300 valid and
  test lines) from a local folder or by downloading Mikolov's simple-examples archive, and
  checks every file against its known sha256.
- `prepare_full(dest, source=None)` copies full PTB (train, valid, test) the same way, for the
  final training: valid and test checked by sha256, train by its published MD5.
"""
from __future__ import annotations

import hashlib
import io
import pickle
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .disk import write_atomic
from .errors import ConfigError

SPLITS = ("train", "valid", "test")
PROXY_LINES = {"train": 4000, "valid": 300, "test": 300}
PROXY_SHA256 = {
    "train": "3a494bd46093fc0329ada4a0c40f1d4c76f555abb40040d0538a4c072f718018",
    "valid": "d88f8c085dff8e454638ea575ac2440f250ff80d7703d6795380671287b721eb",
    "test": "8e8a77880d48943d050e6ac9e6c19a73db0c20e935d10f6641aee591b8b7df23",
}
FULL_SHA256 = {  # full PTB valid and test, as in Mikolov's archive
    "valid": "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
    "test": "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0",
}
FULL_TRAIN_MD5 = "f26c4b92c5fdc7b3f8c7cdcb991d8420"   # full PTB train (the MD5 torchtext checks)
PTB_URL = "http://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz"


@dataclass
class Corpus:
    words: list[str]              # id -> word
    train: torch.Tensor           # (n_train,) token ids
    valid: torch.Tensor
    test: torch.Tensor

    @property
    def ntokens(self) -> int:
        return len(self.words)


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    if not raw.strip():
        raise ConfigError(f"{path} is empty; point --data at a folder of PTB text (python -m autoshrink data)")
    if b"\x00" in raw:
        raise ConfigError(f"{path} is binary, not PTB text; point --data at the PTB proxy (python -m autoshrink data)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text; point --data at the PTB proxy "
                          "(python -m autoshrink data)") from None


def load_corpus(folder) -> Corpus:
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"data folder {folder} not found (looked for {folder.resolve()}); give --data the folder "
                          "of train.txt, valid.txt, test.txt, or run `python -m autoshrink data` to prepare "
                          "data/penn_proxy")
    vocab: dict[str, int] = {}
    streams = {}
    for split in SPLITS:
        path = folder / f"{split}.txt"
        if not path.is_file():
            raise ConfigError(f"{path} is missing; the data folder needs train.txt, valid.txt and test.txt")
        tokens = [w for line in _read_text(path).splitlines() for w in line.split() + ["<eos>"]]
        streams[split] = torch.tensor([vocab.setdefault(w, len(vocab)) for w in tokens], dtype=torch.long)
    return Corpus(list(vocab), streams["train"], streams["valid"], streams["test"])


def batchify(ids: torch.Tensor, batch: int, flag: str = "--batch_size") -> torch.Tensor:
    """(n,) ids -> (n // batch, batch): column b is a contiguous piece of the stream; the rest is dropped."""
    rows = ids.numel() // batch
    if rows < 2:
        raise ConfigError(f"{ids.numel()} tokens are too few for {flag} {batch}; lower {flag}")
    return ids[: rows * batch].view(batch, rows).t().contiguous()


# --- word vectors

def load_vectors(path) -> dict[str, np.ndarray]:
    """Pretrained vectors: the seed's pickled dict word -> vector, or a GloVe text file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--emb_path {path} not found; give the seed's w2v.pkl or a GloVe .txt, or leave it out")
    raw = path.read_bytes()
    if raw[:1] == b"\x80":
        try:
            d = pickle.loads(raw)  # the seed's format: load only files you trust
            return {str(w): np.asarray(v, dtype=np.float32) for w, v in d.items()}
        except Exception as e:
            raise ConfigError(f"--emb_path {path} is not a pickled dict word -> vector "
                              f"({e.__class__.__name__})") from None
    vectors = {}
    for n, line in enumerate(raw.decode("utf-8", errors="replace").splitlines(), 1):
        parts = line.rstrip().split(" ")
        if len(parts) < 2:
            continue
        try:
            vectors[parts[0]] = np.array(parts[1:], dtype=np.float32)
        except ValueError:
            raise ConfigError(f"--emb_path {path} line {n} is not 'word v1 v2 ...' (GloVe text format)") from None
    if not vectors:
        raise ConfigError(f"--emb_path {path} holds no vectors; give the seed's w2v.pkl or a GloVe .txt")
    return vectors


def initial_embedding(words: list[str], emsize: int, seed: int, vectors: dict | None = None) -> torch.Tensor:
    """(V, emsize): pretrained rows where known, U(-0.5, 0.5) from `seed` elsewhere."""
    g = torch.Generator().manual_seed(int(seed))
    emb = torch.empty(len(words), emsize).uniform_(-0.5, 0.5, generator=g)
    for i, w in enumerate(words):
        v = (vectors or {}).get(w)
        if v is None:
            continue
        if v.shape != (emsize,):
            raise ConfigError(f"--emb_path vectors have size {v.shape[0]} but --emsize is {emsize}; make them equal")
        emb[i] = torch.from_numpy(v)
    return emb


# --- getting PTB

def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _head(text: bytes, lines: int) -> bytes:
    return b"".join(text.splitlines(keepends=True)[:lines])


def _find_split(folder: Path, split: str) -> Path | None:
    for name in (f"{split}.txt", f"ptb.{split}.txt", f"data/ptb.{split}.txt"):
        if (folder / name).is_file():
            return folder / name
    return None


def _write_splits(texts: dict[str, bytes], dest: Path) -> Path:
    """train.txt, valid.txt and test.txt into `dest`, each through a temporary file and a rename."""
    for s in SPLITS:
        write_atomic(dest / f"{s}.txt", lambda tmp, s=s: Path(tmp).write_bytes(texts[s]))
    return dest


def _write_proxy(texts: dict[str, bytes], dest: Path) -> Path:
    proxy = {s: _head(texts[s], PROXY_LINES[s]) for s in SPLITS}
    for s in SPLITS:
        if sha256(proxy[s]) != PROXY_SHA256[s]:
            raise ConfigError(f"{s} text does not match PTB (sha256 differs); give the Mikolov PTB files or the proxy")
    return _write_splits(proxy, dest)


def _from_folder(source: Path, dest: Path) -> Path:
    if not source.is_dir():
        raise ConfigError(f"--from {source} is not a folder; name a folder holding PTB (ptb.train.txt ...) "
                          "or the proxy")
    paths = {s: _find_split(source, s) for s in SPLITS}
    if source.resolve() == dest.resolve():
        raise ConfigError(f"--from and the destination are the same folder {dest}; name another folder")
    missing = [s for s, p in paths.items() if p is None]
    if missing:
        raise ConfigError(f"{source} has no {missing[0]}.txt or ptb.{missing[0]}.txt; name a folder with PTB text")
    return _write_proxy({s: p.read_bytes() for s, p in paths.items()}, dest)


def _download(url: str) -> dict[str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            blob = r.read()
    except OSError as e:
        raise ConfigError(f"cannot download PTB from {url} ({e.__class__.__name__}); "
                          "copy it instead: python -m autoshrink data --from FOLDER_WITH_PTB") from None
    texts = {}
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        names = {Path(m.name).as_posix().lstrip("./"): m for m in tar.getmembers()}
        for s in SPLITS:
            member = names.get(f"simple-examples/data/ptb.{s}.txt")
            if member is None:
                raise ConfigError(f"the archive from {url} has no ptb.{s}.txt; use --from FOLDER instead")
            texts[s] = tar.extractfile(member).read()
    for s, digest in FULL_SHA256.items():
        if sha256(texts[s]) != digest:
            raise ConfigError(f"downloaded ptb.{s}.txt fails its sha256 check; try again or use --from FOLDER")
    return texts


def prepare_data(dest="data/penn_proxy", source=None, url: str = PTB_URL) -> Path:
    """Make the PTB proxy in `dest`, from a local folder (full PTB or the proxy) or by download."""
    dest = Path(dest)
    if source is not None:
        return _from_folder(Path(source), dest)
    if all((dest / f"{s}.txt").is_file() for s in SPLITS):
        if all(sha256((dest / f"{s}.txt").read_bytes()) == PROXY_SHA256[s] for s in SPLITS):
            return dest
    return _write_proxy(_download(url), dest)


def _check_full(texts: dict[str, bytes]) -> None:
    for s, digest in FULL_SHA256.items():
        if sha256(texts[s]) != digest:
            raise ConfigError(f"{s} text is not full PTB (sha256 differs); give Mikolov's ptb.{s}.txt")
    if hashlib.md5(texts["train"]).hexdigest() != FULL_TRAIN_MD5:
        raise ConfigError("train text is not full PTB (MD5 differs); give Mikolov's ptb.train.txt")


def prepare_full(dest="data/ptb", source=None, url: str = PTB_URL) -> Path:
    """Copy full PTB into `dest` (train.txt, valid.txt, test.txt) from a local folder or by download,
    every file checked against its known digest."""
    dest = Path(dest)
    if source is None:
        if all((dest / f"{s}.txt").is_file() for s in SPLITS):
            _check_full({s: (dest / f"{s}.txt").read_bytes() for s in SPLITS})
            return dest
        texts = _download(url)
    else:
        source = Path(source)
        if not source.is_dir():
            raise ConfigError(f"--from {source} is not a folder; name a folder holding full PTB (ptb.train.txt ...)")
        if source.resolve() == dest.resolve():
            raise ConfigError(f"--from and the destination are the same folder {dest}; name another folder")
        paths = {s: _find_split(source, s) for s in SPLITS}
        missing = [s for s, p in paths.items() if p is None]
        if missing:
            raise ConfigError(f"{source} has no {missing[0]}.txt or ptb.{missing[0]}.txt; name a folder with full PTB")
        texts = {s: p.read_bytes() for s, p in paths.items()}
    _check_full(texts)
    return _write_splits(texts, dest)
