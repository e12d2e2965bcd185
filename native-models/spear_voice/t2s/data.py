"""Training data for the reading decoder: one token sequence per sentence, packed into numpy files.

    [bos] phonemes (+ phoneme offset) [sep] units (+ unit offset) [eos]

The pack is the only thing training reads (so it can travel to a GPU machine without the corpus, node or
the units): per split a flat int16 array of tokens, int64 offsets (N + 1) and the index of each row's
sep token, plus meta.json with the vocabulary (manifest layout, docs/model-contract.md), the stop rule
and where the data came from. The phoneme inventory is read from the TypeScript front end
(electron/core/text/phonemes.ts) by running node, never written down here, so training and synthesis
cannot disagree about phoneme ids.
"""

import hashlib
import json
import math
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import REPO_ROOT

PACK_FORMAT = "spear-t2s-pack/1"
SPECIAL = {"pad": 0, "bos": 1, "sep": 2, "eos": 3}
SPLITS = ("train", "val", "test")


def phoneme_inventory() -> list[str]:
    """PHONEME_INVENTORY as the app has it, by asking the TypeScript module itself."""
    script = "import { PHONEME_INVENTORY } from './electron/core/text/phonemes.ts'; console.log(JSON.stringify(PHONEME_INVENTORY));"
    result = subprocess.run(["node", "--import", "tsx", "-e", script], cwd=REPO_ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"cannot read PHONEME_INVENTORY with node (run `npm ci` first?):\n{result.stderr}")
    return json.loads(result.stdout)


@dataclass(frozen=True)
class Vocab:
    n_phonemes: int  # len(PHONEME_INVENTORY)
    n_units: int  # K: semantic units

    @property
    def phoneme_offset(self) -> int:
        return len(SPECIAL)

    @property
    def unit_offset(self) -> int:
        return len(SPECIAL) + self.n_phonemes

    @property
    def size(self) -> int:
        return len(SPECIAL) + self.n_phonemes + self.n_units

    def manifest(self) -> dict:
        return {"size": self.size, "special": dict(SPECIAL),
                "phonemes": {"offset": self.phoneme_offset, "count": self.n_phonemes},
                "units": {"offset": self.unit_offset, "count": self.n_units}}

    def sequence(self, phonemes: list[int], units: list[int]) -> list[int]:
        return ([SPECIAL["bos"]] + [p + self.phoneme_offset for p in phonemes] + [SPECIAL["sep"]]
                + [u + self.unit_offset for u in units] + [SPECIAL["eos"]])


def read_jsonl(path: Path) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write through a temporary file beside `path`, then rename: a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    if isinstance(data, str):
        tmp.write_text(data)
    else:
        tmp.write_bytes(data)
    tmp.replace(path)


def fake_units(phonemes: list[int], n_units: int, key: str) -> list[int]:
    """Stand-in units until the real ones exist: each phoneme lasts 1-4 frames (pauses 6) chosen by it
    and its left neighbour, each frame's unit is a hash of (phoneme, neighbour, frame), and 15% of frames
    take a neighbouring unit chosen by the sentence id, so the decoder has context to learn and a
    distribution that is not one-hot. Deterministic: the same corpus gives the same pack."""
    units, prev = [], 0
    noise = np.random.default_rng(int(hashlib.sha1(key.encode()).hexdigest()[:8], 16))
    for p in phonemes:
        frames = 6 if 1 <= p <= 4 else 1 + (7 * p + 3 * prev) % 4
        for f in range(frames):
            u = (37 * p + 11 * prev + 101 * f) % n_units
            if noise.random() < 0.15:
                u = (u + int(noise.integers(1, 4))) % n_units
            units.append(u)
        prev = p
    return units


def stop_rule(n_phonemes: np.ndarray, n_new: np.ndarray, quantile: float, margin: float) -> dict:
    """The per-row cap on new tokens (units + eos): ceil(per_phoneme * phonemes + base). per_phoneme is
    the `quantile` of new/phonemes over the training set times (1 + margin); base (at least 4) lifts
    the cap until every training row fits, which matters for short sentences, whose ratio varies most. Written to the manifest as voice.max_units."""
    per_phoneme = float(np.quantile(n_new / n_phonemes, quantile / 100) * (1 + margin))
    base = float(max(4, math.ceil(float(np.max(n_new - per_phoneme * n_phonemes)))))  # every train row fits
    covered = float(np.mean(np.ceil(per_phoneme * n_phonemes + base) >= n_new))
    return {"per_phoneme": round(per_phoneme, 4), "base": base, "covered_train": round(covered, 5)}


def build_pack(out_dir: Path, corpus_dir: Path, units_dir: Path | None, n_units: int, unit_rate: float,
               quantile: float = 99.9, margin: float = 0.1) -> dict:
    """corpus/{split}.jsonl {id, text, phonemes} (+ units/{split}.jsonl {id, units}, or fake units when
    units_dir is None) → out_dir/{split}.{tokens,offsets,sep}.npy + meta.json. Returns meta."""
    inventory = phoneme_inventory()
    vocab = Vocab(n_phonemes=len(inventory), n_units=n_units)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {"format": PACK_FORMAT, "vocab": vocab.manifest(), "phoneme_inventory": inventory,
            "unit_rate": unit_rate, "units_source": str(units_dir) if units_dir else "fake", "splits": {}}
    lengths = {}
    for split in SPLITS:
        corpus = read_jsonl(corpus_dir / f"{split}.jsonl")
        if units_dir is None:
            units = {row["id"]: fake_units(row["phonemes"], n_units, row["id"]) for row in corpus}
        else:
            units = {row["id"]: row["units"] for row in read_jsonl(units_dir / f"{split}.jsonl")}
        rows = [(row, units[row["id"]]) for row in corpus if row["id"] in units and row["phonemes"] and units[row["id"]]]
        for row, u in rows:
            bad = [p for p in row["phonemes"] if not 0 <= p < vocab.n_phonemes] + [x for x in u if not 0 <= x < n_units]
            if bad:
                raise ValueError(f"{split} {row['id']}: ids out of range {bad[:5]} (phonemes < {vocab.n_phonemes}, units < {n_units})")
        seqs = [vocab.sequence(row["phonemes"], u) for row, u in rows]
        offsets = np.zeros(len(seqs) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(s) for s in seqs])
        tokens = np.concatenate([np.asarray(s, dtype=np.int16) for s in seqs]) if seqs else np.zeros(0, np.int16)
        sep = np.asarray([len(row["phonemes"]) + 1 for row, _ in rows], dtype=np.int32)  # index of sep in its row
        np.save(out_dir / f"{split}.tokens.npy", tokens)
        np.save(out_dir / f"{split}.offsets.npy", offsets)
        np.save(out_dir / f"{split}.sep.npy", sep)
        (out_dir / f"{split}.ids.txt").write_text("".join(row["id"] + "\n" for row, _ in rows))
        lengths[split] = (np.asarray([len(row["phonemes"]) for row, _ in rows]), np.asarray([len(u) + 1 for _, u in rows]))
        meta["splits"][split] = {"sentences": len(rows), "missing_units": len(corpus) - len(rows), "tokens": int(offsets[-1]),
                                 "unit_tokens": int(lengths[split][1].sum())}
    rule = stop_rule(*lengths["train"], quantile=quantile, margin=margin)
    longest = max(int(np.max(ph)) for ph, _ in lengths.values() if len(ph))
    # The context must hold the longest corpus sentence's prompt and its whole cap (voice.ts maxPhonemes).
    need = 3 + longest + math.ceil(rule["per_phoneme"] * longest + rule["base"])
    meta.update(max_units=rule, longest_phonemes=longest, context=64 * math.ceil(need / 64))
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta


# ----------------------------------------------------------------------------------------------------
# Reading a pack


@dataclass
class Split:
    tokens: np.ndarray  # (N_tokens,) int16, all rows back to back
    offsets: np.ndarray  # (N + 1,) int64
    sep: np.ndarray  # (N,) int32: index of the sep token within each row

    def __len__(self) -> int:
        return len(self.sep)

    @property
    def lengths(self) -> np.ndarray:  # (N,)
        return np.diff(self.offsets)

    def row(self, i: int) -> np.ndarray:
        return self.tokens[self.offsets[i]:self.offsets[i + 1]]


def load_pack(pack_dir: Path) -> tuple[dict, dict[str, Split]]:
    pack_dir = Path(pack_dir)
    meta = json.loads((pack_dir / "meta.json").read_text())
    if meta.get("format") != PACK_FORMAT:
        raise ValueError(f"{pack_dir}/meta.json: format {meta.get('format')!r}, expected {PACK_FORMAT!r}")
    splits = {s: Split(np.load(pack_dir / f"{s}.tokens.npy"), np.load(pack_dir / f"{s}.offsets.npy"),
                       np.load(pack_dir / f"{s}.sep.npy")) for s in SPLITS}
    return meta, splits


def length_batches(lengths: np.ndarray, batch_tokens: int, rng: np.random.Generator, pool: int = 16) -> list[np.ndarray]:
    """One epoch of batches of similar lengths: shuffle, sort within pools of `pool` batches' worth of
    rows, cut into batches of at most `batch_tokens` padded tokens (B * longest), shuffle the batches.
    Padding stays small without making the order deterministic."""
    order = rng.permutation(len(lengths))
    mean_rows = max(1, batch_tokens // max(1, int(np.mean(lengths))))
    batches = []
    for start in range(0, len(order), pool * mean_rows):
        chunk = order[start:start + pool * mean_rows]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batch, longest = [], 0
        for i in chunk:
            if batch and max(longest, lengths[i]) * (len(batch) + 1) > batch_tokens:
                batches.append(np.asarray(batch))
                batch, longest = [], 0
            batch.append(i)
            longest = max(longest, lengths[i])
        if batch:
            batches.append(np.asarray(batch))
    return [batches[i] for i in rng.permutation(len(batches))]


def collate(split: Split, rows: np.ndarray, pad_multiple: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Rows → ids (B, T) int64 right-padded with pad, and loss_mask (B, T) bool: True at positions whose
    next token is a unit or eos (from the sep token to the token before eos). Targets are ids shifted
    left by one; right padding never changes earlier positions of a causal decoder."""
    longest = int(max(split.lengths[rows]))
    T = pad_multiple * math.ceil(longest / pad_multiple)
    ids = np.full((len(rows), T), SPECIAL["pad"], dtype=np.int64)
    mask = np.zeros((len(rows), T), dtype=bool)
    for b, i in enumerate(rows):
        seq = split.row(i)
        ids[b, :len(seq)] = seq
        mask[b, split.sep[i]:len(seq) - 1] = True
    return ids, mask
