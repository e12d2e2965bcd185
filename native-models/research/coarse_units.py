"""What a coarser unit vocabulary would do to drafting: the codebook's 1,024 units merged into K groups.

    /usr/bin/python3 native-models/research/coarse_units.py --run RUN --pack GREEDY_PACK \
        [--codebook native-models/voice/speaker/codebook.npz] [--ks 512,256,128] [--maps DIR]

The target hesitates mostly between units that sit near each other in the codebook
(`analyze_drafting.py --codebook`). Merging the centroids into K groups (k-means on the centroids) and
summing the target's and EAGLE's probabilities within each group tells how often the target would
still hesitate (p < 0.5 for its own group) and how often EAGLE's first draft would name the
target's group (depth 1, on the target's greedy readings: GREEDY_PACK's val split, as analyze_drafting.py).
Both models are today's, not ones trained on the merged units, so this is an indication, not a forecast.

--confusion_pack PACK groups the units by how often the target weighs them against each other (on the
first --confusion_rows train sentences of PACK, teacher-forced) instead of by centroid distance.

--maps DIR writes DIR/units-K.json for each K: every unit's group ("label") and each group's representative
("representative", the member nearest the group's centroid). `resynth_units.mts` speaks the teacher's units
through them, with today's speaker (representatives) or with one trained on the groups
(`python3 -m spear_voice.speaker.train --unit_map DIR/units-K.json`).
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.cluster import AgglomerativeClustering, KMeans

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # native-models/: the spear_voice package
from spear_voice.t2s.data import collate, load_pack, write_atomic  # noqa: E402
from spear_voice.train_t2s.checkpoint import load_model, run_file  # noqa: E402
from spear_voice.train_t2s.unroll import eagle_unrolled  # noqa: E402


def groups(centroids: np.ndarray, k: int, confusion: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """→ (label of each unit, representative unit of each group). By centroid k-means, or with `confusion`
    (units × units, how often the target weighs two units against each other) by average-linkage clustering
    on 1 - the normalised confusion, centroid distance breaking ties."""
    if k >= len(centroids):
        return np.arange(len(centroids)), np.arange(len(centroids))
    if confusion is None:
        label = KMeans(k, n_init=4, random_state=0).fit(centroids).labels_
    else:
        mass = np.maximum(np.diag(confusion), 1e-9)
        sim = confusion / np.sqrt(mass[:, None] * mass[None, :])
        np.fill_diagonal(sim, 1.0)
        near = np.sqrt(((centroids[:, None, :] - centroids[None]) ** 2).sum(-1))
        dist = 1.0 - np.clip(sim, 0.0, 1.0) + 0.1 * near / near.max()
        label = AgglomerativeClustering(n_clusters=k, metric="precomputed", linkage="average").fit(dist).labels_
    centre = np.stack([centroids[label == g].mean(0) for g in range(k)])
    dist = ((centroids[:, None, :] - centre[None]) ** 2).sum(-1)  # (units, k)
    rep = np.array([np.flatnonzero(label == g)[dist[label == g, g].argmin()] for g in range(k)])
    return label, rep


@torch.no_grad()
def target_confusion(target, split, rows: int, offset: int, units: int) -> np.ndarray:
    """Σ over steps of p(a) p(b) for the target's unit probabilities (teacher-forced on `split`'s first rows):
    the diagonal is each unit's expected mass, the rest how often two units share it."""
    conf = torch.zeros(units, units, dtype=torch.float64)
    for i in range(min(rows, len(split))):
        ids = torch.from_numpy(collate(split, np.asarray([i]), pad_multiple=1)[0])
        p = target(ids)[0][0, int(split.sep[i]):].softmax(-1)[:, offset:offset + units].double()
        conf += p.T @ p
    return conf.numpy()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, required=True, help="target.pt and eagle.pt")
    ap.add_argument("--pack", type=Path, required=True, help="the target's greedy readings (val split used)")
    ap.add_argument("--codebook", type=Path, default=Path("native-models/voice/speaker/codebook.npz"))
    ap.add_argument("--ks", default="512,256,128")
    ap.add_argument("--maps", type=Path, default=None, help="a folder for units-K.json")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--confusion_pack", type=Path, default=None,
                    help="group by what the target confuses, measured on this pack's train split, not by centroids")
    ap.add_argument("--confusion_rows", type=int, default=2000)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    meta, splits = load_pack(args.pack)
    val = splits["val"]
    offset, vocab = meta["vocab"]["units"]["offset"], meta["vocab"]["size"]
    centroids = np.load(args.codebook)["centroids"]
    target, _ = load_model(args.run / "target.pt")
    eagle, _ = load_model(run_file(args.run, "eagle"))
    target.eval()
    eagle.eval()
    rows = []
    with torch.no_grad():
        for i in range(len(val)):
            ids = torch.from_numpy(collate(val, np.asarray([i]), pad_multiple=1)[0])
            logits, _, feature = target(ids)
            first = eagle_unrolled(eagle, ids, feature, 1, 0.0)[0][0]  # depth-1 drafts, (1, T, V)
            sep, length = int(val.sep[i]), ids.shape[1]
            rows.append((logits[0, sep:length - 1].softmax(-1), first[0, sep:length - 1].softmax(-1)))
    confusion = None
    if args.confusion_pack:
        confusion = target_confusion(target, load_pack(args.confusion_pack)[1]["train"], args.confusion_rows, offset,
                                     len(centroids))
    for k in [len(centroids)] + [int(x) for x in args.ks.split(",") if x]:
        label, rep = groups(centroids, k, confusion)
        merge = torch.zeros(vocab, offset + k)  # ids → grouped ids: specials and phonemes kept, units merged
        merge[torch.arange(offset), torch.arange(offset)] = 1
        merge[torch.arange(offset, offset + len(centroids)), torch.from_numpy(label).long() + offset] = 1
        steps = hesitant = agree = 0
        for p_target, p_eagle in rows:
            gt, gp = p_target @ merge, p_eagle @ merge
            steps += len(gt)
            hesitant += int((gt.max(-1).values < 0.5).sum())
            agree += int((gt.argmax(-1) == gp.argmax(-1)).sum())
        print(json.dumps({"units": k, "steps": steps, "target_share_p_below_0.5": round(hesitant / steps, 3),
                          "eagle_depth1_agreement": round(agree / steps, 3)}), flush=True)
        if args.maps:
            args.maps.mkdir(parents=True, exist_ok=True)
            write_atomic(args.maps / f"units-{k}.json", json.dumps({"label": label.tolist(), "representative": rep.tolist()}) + "\n")


if __name__ == "__main__":
    main()
