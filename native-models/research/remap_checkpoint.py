"""A trained checkpoint (target, draft or eagle) moved onto merged units (coarse_units.py --maps), to start
training on a relabelled pack (relabel_pack.py) from what it already knows instead of from scratch.

    /usr/bin/python3 native-models/research/remap_checkpoint.py IN.pt MAP.json OUT.pt

Every vocabulary-sized tensor (the embeddings and LM heads, the exit head's included) keeps its rows for
the specials and phonemes, and gets one row per group: an input embedding takes the group's representative
unit's row (the member nearest the group's centroid), an LM head the mean of its members' rows. The rest of
the network is unchanged. The model config's vocab_size and the checkpoint's vocab follow. On the shipped
target and 512 groups (validation, 100 sentences) this starts at 1.35 nats per unit; the mean embedding
at 1.99, the representative head at 1.69 (the 1,024-unit target's own probabilities summed per group:
0.48).
"""
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # native-models/: the spear_voice package
from spear_voice.training import load_checkpoint, save_checkpoint  # noqa: E402


def merge_rows(t: torch.Tensor, label: np.ndarray, offset: int, representative: np.ndarray | None = None) -> torch.Tensor:
    """(V, ...) → (offset + groups, ...): rows below offset kept; each group's row its representative's, or
    (without one) the mean of its members' rows."""
    if representative is not None:
        return torch.cat([t[:offset], t[offset + torch.from_numpy(representative).long()]])
    groups = int(label.max()) + 1
    lab = torch.from_numpy(label).long()
    units = t[offset:].float()
    sums = torch.zeros((groups,) + tuple(units.shape[1:])).index_add_(0, lab, units)
    counts = torch.bincount(lab, minlength=groups).float().reshape((groups,) + (1,) * (units.dim() - 1))
    return torch.cat([t[:offset].float(), sums / counts]).to(t.dtype)


def remap(obj, vocab: int, label: np.ndarray, representative: np.ndarray, offset: int, path: str = ""):
    """Every tensor whose first dimension is the vocabulary, anywhere in nested dicts, merged (an embedding
    by representatives, anything else by means); → (obj, names)."""
    if isinstance(obj, torch.Tensor) and obj.dim() >= 1 and obj.shape[0] == vocab:
        return merge_rows(obj, label, offset, representative if "embed" in path else None), [path]
    if isinstance(obj, dict):
        out, names = {}, []
        for k, v in obj.items():
            out[k], n = remap(v, vocab, label, representative, offset, f"{path}.{k}" if path else str(k))
            names += n
        return out, names
    return obj, []


def main() -> None:
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    src, map_path, dst = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    ckpt = load_checkpoint(src)
    groups_map = json.loads(map_path.read_text())
    label = np.asarray(groups_map["label"], dtype=np.int64)
    representative = np.asarray(groups_map["representative"], dtype=np.int64)
    vocab = ckpt["vocab"]
    offset, count = vocab["units"]["offset"], vocab["units"]["count"]
    if len(label) != count:
        raise SystemExit(f"{map_path}: {len(label)} labels for a checkpoint of {count} units")
    groups = int(label.max()) + 1
    ckpt["optimizer"] = None  # its moments are the old vocabulary's
    ckpt["model"], names = remap(ckpt["model"], vocab["size"], label, representative, offset, "model")
    if isinstance(ckpt.get("exit_head"), dict):
        ckpt["exit_head"], more = remap(ckpt["exit_head"], vocab["size"], label, representative, offset, "exit_head")
        names += more
    ckpt["model_config"]["vocab_size"] = offset + groups
    ckpt["vocab"] = {**vocab, "size": offset + groups, "units": {"offset": offset, "count": groups}}
    ckpt["unit_map"] = {"file": str(map_path), "from_units": count}
    dst.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(dst, ckpt)
    print(f"{dst}: {vocab['size']} -> {offset + groups} ids; merged {', '.join(names)}")


if __name__ == "__main__":
    main()
