"""A training pack with its units merged into groups (coarse_units.py --maps): the same sentences, each unit id
replaced by its group's, the vocabulary shrunk to match. What a voice with fewer units trains from
(docs/voice-reading.md); the units need not be extracted again.

    /usr/bin/python3 native-models/research/relabel_pack.py native-models/work/pack-s6 \
        native-models/work/coarse-conf/units-512.json native-models/work/pack-s6-u512
"""
import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # native-models/: the spear_voice package
from spear_voice.t2s.data import SPLITS, write_atomic  # noqa: E402


def relabel(tokens: np.ndarray, label: np.ndarray, offset: int) -> np.ndarray:
    """Ids below `offset` (specials, phonemes) kept; unit ids offset + u become offset + label[u]."""
    out = tokens.astype(np.int64)
    units = out >= offset
    out[units] = offset + label[out[units] - offset]
    return out.astype(tokens.dtype)


def main() -> None:
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    src, map_path, dst = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    meta = json.loads((src / "meta.json").read_text())
    label = np.asarray(json.loads(map_path.read_text())["label"], dtype=np.int64)
    offset, count = meta["vocab"]["units"]["offset"], meta["vocab"]["units"]["count"]
    if len(label) != count:
        raise SystemExit(f"{map_path}: {len(label)} labels for a pack of {count} units")
    groups = int(label.max()) + 1
    dst.mkdir(parents=True, exist_ok=True)
    (dst / "meta.json").unlink(missing_ok=True)  # written last: until then the folder is not a pack
    for split in SPLITS:
        np.save(dst / f"{split}.tokens.npy", relabel(np.load(src / f"{split}.tokens.npy"), label, offset))
        for suffix in ("offsets.npy", "sep.npy", "ids.txt"):
            shutil.copyfile(src / f"{split}.{suffix}", dst / f"{split}.{suffix}")
    meta["vocab"]["units"]["count"] = groups
    meta["vocab"]["size"] = offset + groups
    meta["unit_map"] = {"file": str(map_path), "sha256": hashlib.sha256(map_path.read_bytes()).hexdigest(),
                        "from_units": count, "source_pack": str(src)}
    write_atomic(dst / "meta.json", json.dumps(meta, indent=1) + "\n")  # last: a pack without meta.json is not one
    print(f"{dst}: {count} units -> {groups} groups, vocabulary {offset + count} -> {offset + groups}")


if __name__ == "__main__":
    main()
