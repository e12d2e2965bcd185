"""The training pack (t2s/data.py's format) with its provenance: a corpus and its units → OUT, whose
meta.json also names the commit of the code that packed it."""

import json
from pathlib import Path

from ..t2s.data import build_pack
from .train import train_code_commit


def make_pack(out: Path, corpus: Path, units: Path | None, n_units: int = 512, unit_rate: float = 25.0) -> dict:
    """Pack `corpus` ({train,val,test}.jsonl) with the units of `units` (same layout), or with stand-in units
    derived from the phonemes when `units` is None; returns meta.json's content."""
    meta = build_pack(out, corpus, units, n_units, unit_rate)
    meta["code_commit"] = train_code_commit()
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta
