"""What a coarser unit vocabulary would do to drafting: the codebook's 1,024 units merged into K groups.

    /usr/bin/python3 native-models/experiments/coarse_units.py --run RUN --pack GREEDY_PACK \
        [--codebook native-models/voice/speaker/codebook.npz] [--ks 512,256,128] [--maps DIR]

The target hesitates mostly between units that sit near each other in the codebook
(`analyze_drafting.py --codebook`). Merging the centroids into K groups (k-means on the centroids) and
summing the target's and the prophet's probabilities within each group tells how often the target would
still hesitate (p < 0.5 for its own group) and how often the prophet's first draft would name the
target's group (depth 1, on the target's greedy readings: GREEDY_PACK's val split, as analyze_drafting.py).
Both models are today's, not ones trained on the merged units, so this is an indication, not a forecast.

--maps DIR writes DIR/units-K.json for each K: every unit's group ("label") and each group's representative
("representative", the member nearest the group's centroid). `resynth_units.mts` speaks the teacher's units
through them, with today's speaker (representatives) or with one trained on the groups
(`speaker/train.py --unit_map DIR/units-K.json`).
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.cluster import KMeans

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from spear_t2s.data import collate, load_pack, write_atomic  # noqa: E402
from train_t2s import load_model, prophet_unrolled  # noqa: E402


def groups(centroids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """→ (label of each unit, representative unit of each group)."""
    if k >= len(centroids):
        return np.arange(len(centroids)), np.arange(len(centroids))
    km = KMeans(k, n_init=4, random_state=0).fit(centroids)
    dist = ((centroids[:, None, :] - km.cluster_centers_[None]) ** 2).sum(-1)  # (units, k)
    rep = np.array([np.flatnonzero(km.labels_ == g)[dist[km.labels_ == g, g].argmin()] for g in range(k)])
    return km.labels_, rep


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, required=True, help="target.pt and prophet.pt")
    ap.add_argument("--pack", type=Path, required=True, help="the target's greedy readings (val split used)")
    ap.add_argument("--codebook", type=Path, default=Path("native-models/voice/speaker/codebook.npz"))
    ap.add_argument("--ks", default="512,256,128")
    ap.add_argument("--maps", type=Path, default=None, help="a folder for units-K.json")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    meta, splits = load_pack(args.pack)
    val = splits["val"]
    offset, vocab = meta["vocab"]["units"]["offset"], meta["vocab"]["size"]
    centroids = np.load(args.codebook)["centroids"]
    target, _ = load_model(args.run / "target.pt")
    prophet, _ = load_model(args.run / "prophet.pt")
    target.eval()
    prophet.eval()
    rows = []
    with torch.no_grad():
        for i in range(len(val)):
            ids = torch.from_numpy(collate(val, np.asarray([i]), pad_multiple=1)[0])
            logits, _, feature = target(ids)
            first = prophet_unrolled(prophet, ids, feature, 1, 0.0)[0][0]  # depth-1 drafts, (1, T, V)
            sep, length = int(val.sep[i]), ids.shape[1]
            rows.append((logits[0, sep:length - 1].softmax(-1), first[0, sep:length - 1].softmax(-1)))
    for k in [len(centroids)] + [int(x) for x in args.ks.split(",") if x]:
        label, rep = groups(centroids, k)
        merge = torch.zeros(vocab, offset + k)  # ids → grouped ids: specials and phonemes kept, units merged
        merge[torch.arange(offset), torch.arange(offset)] = 1
        merge[torch.arange(offset, offset + len(centroids)), torch.from_numpy(label).long() + offset] = 1
        steps = hesitant = agree = 0
        for p_target, p_prophet in rows:
            gt, gp = p_target @ merge, p_prophet @ merge
            steps += len(gt)
            hesitant += int((gt.max(-1).values < 0.5).sum())
            agree += int((gt.argmax(-1) == gp.argmax(-1)).sum())
        print(json.dumps({"units": k, "steps": steps, "target_share_p_below_0.5": round(hesitant / steps, 3),
                          "prophet_depth1_agreement": round(agree / steps, 3)}), flush=True)
        if args.maps:
            args.maps.mkdir(parents=True, exist_ok=True)
            write_atomic(args.maps / f"units-{k}.json", json.dumps({"label": label.tolist(), "representative": rep.tolist()}) + "\n")


if __name__ == "__main__":
    main()
