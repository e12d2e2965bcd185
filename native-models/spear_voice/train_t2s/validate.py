"""Validation: every head's cross-entropy on a pack's val split, and per drafter the two acceptance proxies
against the target. `evaluate` runs inside training; `validate_run` measures a finished run on another pack
(self-distilled drafters are trained on the target's readings, and measured here on the teacher's units)."""

import json
from contextlib import nullcontext
from dataclasses import fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..t2s.data import collate, load_pack
from .checkpoint import eagle_names, load_model, run_file
from .config import TrainConfig
from .unroll import eagle_unrolled


@torch.no_grad()
def evaluate(target, draft, eagle, split, cfg: TrainConfig, device, autocast) -> dict:
    """Validation: CE of every head, and per drafter the two acceptance proxies over the target's
    distributions p: mean sum_x min(p, q) (the per-token acceptance of speculative sampling at
    temperature 1, Leviathan et al. 2023, 3.1) and top-1 agreement (greedy acceptance)."""
    models = [m for m in (target, draft, eagle) if m is not None]
    for m in models:
        m.eval()
    rows = np.arange(min(len(split), cfg.eval_sentences))
    rows = rows[np.argsort(split.lengths[rows])]
    sums, n = {}, 0

    def add(key, value):
        sums[key] = sums.get(key, 0.0) + float(value)

    start = 0
    while start < len(rows):
        count = 1  # rows sorted by length: grow the batch while its padded size fits batch_tokens
        while start + count < len(rows) and int(split.lengths[rows[start + count]]) * (count + 1) <= cfg.batch_tokens:
            count += 1
        ids, mask = (torch.from_numpy(a).to(device) for a in collate(split, rows[start:start + count]))
        start += count
        m = mask[:, :-1]
        y = ids[:, 1:][m]
        N = int(y.numel())
        with autocast:
            logits, exit_logits, feature = target(ids)
            heads = {"main": logits, "exit": exit_logits}
            if draft is not None:
                heads["draft"] = draft(ids)[0]
            if eagle is not None:
                for s, (pl, _) in enumerate(eagle_unrolled(eagle, ids, feature.float(), cfg.eagle_unroll, 0.0), 1):
                    heads["eagle" if s == 1 else f"eagle_step{s}"] = pl
        for name, h in heads.items():
            # Unrolled step s predicts position i from a draft begun at i - s + 1; score only where that
            # start is itself a loss position, as in training.
            s = int(name[len("eagle_step"):]) if name.startswith("eagle_step") else 1
            ms = m.clone()
            if s > 1:
                ms[:, s - 1:] &= m[:, :-(s - 1)]
                ms[:, :s - 1] = False
            q = h[:, :-1][ms].float()
            k = int(ms.sum())
            add(f"{name}_ce", F.cross_entropy(q, ids[:, 1:][ms], reduction="sum"))
            add(f"{name}_n", k)
            if name != "main":
                pm = logits[:, :-1][ms].float().softmax(-1)
                add(f"{name}_accept", torch.minimum(pm, q.softmax(-1)).sum(-1).sum())
                add(f"{name}_top1", (pm.argmax(-1) == q.argmax(-1)).sum())
        n += N
    out = {"rows": int(len(rows)), "tokens": n}
    for name in [k[:-3] for k in sums if k.endswith("_ce")]:
        k = sums[f"{name}_n"]
        out[f"{name}_ce"] = round(sums[f"{name}_ce"] / k, 4)
        if name != "main":
            out[f"{name}_accept"] = round(sums[f"{name}_accept"] / k, 4)
            out[f"{name}_top1"] = round(sums[f"{name}_top1"] / k, 4)
    for m in models:
        m.train()
    return out


def validate_run(run_dir: Path, pack: Path, threads: int = 2) -> dict:
    """Validation of a run's three checkpoints on `pack`'s val split, written into run_dir/eval.json as
    "drafters" (what export puts into the manifest and `spear eval` prints). Self-distilled drafters are
    trained and validated on the target's greedy readings; this measures every head against the teacher's
    units instead, as the target was. The readings' numbers move to "drafters_on_greedy_val"."""
    target, t_ckpt = load_model(run_dir / "target.pt")
    draft, _ = load_model(run_dir / "draft.pt")
    eagle, e_ckpt = load_model(run_file(run_dir, "eagle"))
    cfg = TrainConfig(**{k: v for k, v in t_ckpt["train_config"].items() if k in {f.name for f in fields(TrainConfig)}})
    cfg.eagle_unroll = e_ckpt["train_config"].get("eagle_unroll", cfg.eagle_unroll)
    torch.set_num_threads(threads)
    _, splits = load_pack(pack)
    result = evaluate(target, draft, eagle, splits["val"], cfg, torch.device("cpu"), nullcontext())
    evals_path = run_dir / "eval.json"
    evals = eagle_names(json.loads(evals_path.read_text())) if evals_path.exists() else {}
    if "drafters" in evals and evals["drafters"].get("tokens") != result["tokens"]:
        evals["drafters_on_greedy_val"] = evals["drafters"]
    evals["drafters"] = result
    evals_path.write_text(json.dumps(evals, indent=1) + "\n")
    print(json.dumps(result))
    return result
