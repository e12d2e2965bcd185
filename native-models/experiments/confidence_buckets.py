"""How sure the target is of its own greedy tokens, and how often the prophet's first draft agrees, by that.

    /usr/bin/python3 native-models/experiments/confidence_buckets.py RUN_DIR GREEDY_PACK [ROWS]

GREEDY_PACK holds the target's greedy readings (self_distill.py; its val split is read), so each step's
token is the target's argmax. For every generated step: p = the target's probability of that token, and
whether the prophet's depth-1 draft (from the step before) equals it. Printed overall and in buckets of p,
which separates "the target is harder to predict" from "the drafter is worse" (docs/voice-reading.md,
"Session 8").
"""
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from spear_t2s.data import collate, load_pack  # noqa: E402
from train_t2s import load_model, prophet_unrolled  # noqa: E402

BUCKETS = ((0.0, 0.5), (0.5, 0.8), (0.8, 1.01))


@torch.no_grad()
def main(run: Path, pack: Path, rows: int) -> None:
    split = load_pack(pack)[1]["val"]
    target, _ = load_model(run / "target.pt")
    prophet, _ = load_model(run / "prophet.pt")
    target.eval()
    prophet.eval()
    sure, agree = [], []
    for i in range(min(rows, len(split.sep))):
        ids = torch.from_numpy(collate(split, np.asarray([i]), pad_multiple=1)[0])
        logits, _, feature = target(ids)
        sep, length = int(split.sep[i]), ids.shape[1]
        truth = logits[0].argmax(-1)
        sure.append(logits[0].softmax(-1).max(-1).values[sep:length - 1])
        first = next(iter(prophet_unrolled(prophet, ids, feature, 1, 0.0)))[0]
        agree.append((first[0].argmax(-1) == truth)[sep:length - 1])
    p, ok = torch.cat(sure), torch.cat(agree).float()
    print(f"{run} on {pack}: {len(p)} steps, mean p {p.mean():.3f}, share p < 0.5 {(p < 0.5).float().mean():.3f}, "
          f"prophet depth-1 agreement {ok.mean():.3f}")
    for lo, hi in BUCKETS:
        s = (p >= lo) & (p < hi)
        print(f"  p in [{lo}, {min(hi, 1.0)}): share {s.float().mean():.3f}, prophet agreement {ok[s].mean():.3f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 232)
