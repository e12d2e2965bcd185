"""Unit groups for lossy acceptance: the speaker codebook's centroids merged into K groups by k-means.

    python3 -m spear_voice.units.groups native-models/voice [--k 256] [--seed 0]

Writes the voice manifest's `voice.unit_groups` = {"k", "method", "labels"}: `labels[u]` is unit u's group.
The engine accepts a draft in the target's group only when asked (`spear synth --accept groups`): the
emitted units are then no longer the target's own (docs/engine.md, "Lossy acceptance"). Units whose
centroids sit close in the codebook's weighted feature space sound alike, which is what the tolerance relies
on; research/coarse_units.py measures how often the target hesitates within such groups.
"""
import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans

from ..t2s.data import write_atomic

METHOD = "k-means on the speaker codebook's centroids (speaker/codebook.npz), n_init 4"


def unit_groups(centroids: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Each centroid's group, k groups (ids 0 … k-1, each used)."""
    if not 1 <= k <= len(centroids):
        raise ValueError(f"k must be from 1 to {len(centroids)} (the codebook's units), not {k}")
    labels = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(centroids.astype(np.float64))
    return labels.astype(np.int64)


def add_groups(voice: Path, k: int, seed: int = 0) -> dict:
    manifest_path = voice / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    centroids = np.load(voice / "speaker" / "codebook.npz")["centroids"]
    units = manifest["vocab"]["units"]["count"]
    if len(centroids) != units:
        raise ValueError(f"{voice}: the codebook has {len(centroids)} centroids, the decoder writes {units} units")
    labels = unit_groups(centroids, k, seed)
    manifest.setdefault("voice", {})["unit_groups"] = {"k": k, "method": METHOD, "seed": seed, "labels": [int(x) for x in labels]}
    write_atomic(manifest_path, json.dumps(manifest, indent=2) + "\n")
    sizes = np.bincount(labels, minlength=k)
    return {"k": k, "largest": int(sizes.max()), "singletons": int((sizes == 1).sum())}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("voice", type=Path)
    parser.add_argument("--k", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    report = add_groups(args.voice, args.k, args.seed)
    print(f"{args.voice}: {report['k']} unit groups (largest {report['largest']} units, {report['singletons']} single units)")


if __name__ == "__main__":
    main()
