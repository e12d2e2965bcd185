"""Train the Medusa heads (t2s/medusa.py) on the target's own greedy readings, the target frozen.

    node --import tsx native-models/tools/medusa_data.mts --out native-models/work/medusa-data
    cd native-models && python3 -m spear_voice.train_t2s.medusa --data work/medusa-data --voice voice \
        --out work/medusa-run [--heads 4] [--budget_s 1500]
    python3 -m spear_voice.t2s.medusa voice --ckpt work/medusa-run/medusa.pt

The data (tools/medusa_data.mts) holds each reading's tokens and the target's final hidden state h_t at
every position t the drafter reads, from the prompt's last phoneme on. Head i learns the token at
t + i + 2 by cross-entropy (self-distillation: the target's greedy token, which is exactly what greedy
verification accepts); positions past the reading's end are ignored. The heads' losses are weighted
0.8^i, as Medusa-1 weights its heads (Cai et al. 2024, section 2.2.1), so the first heads, whose drafts
are verified most often, get the most of the capacity.

Reported on the val split per head: top-1 agreement with the target's token, and the share of
positions where heads 0 … i all agree (what greedy drafting at gamma i + 1 accepts up to depth i + 1).
"""

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..t2s.medusa import MedusaHeads, lm_head_of
from ..training import Budget, config_from_args, lr_at, save_checkpoint

IGNORE = -100


@dataclass
class MedusaTrainConfig:
    data: str = "native-models/work/medusa-data"  # tools/medusa_data.mts output
    voice: str = "native-models/voice"  # where the target's LM head is read (its full graph's source)
    out: str = "native-models/work/medusa-run"  # medusa.pt and log.jsonl
    heads: int = 4  # k: drafts per step at most
    head_decay: float = 0.8  # head i's loss weight is head_decay^i (Medusa-1)
    batch: int = 2048  # positions per step
    lr: float = 1e-3  # AdamW peak
    min_lr: float = 1e-5  # end of the cosine
    warmup: float = 0.03  # share of the budget warming up
    weight_decay: float = 0.0  # the projections start at the target's head; no pull towards zero
    budget_s: float = 900.0  # wall-clock seconds of training (the schedule follows the share spent)
    eval_every: int = 200  # steps between val evaluations
    seed: int = 0
    threads: int = 2  # torch intra-op threads


def future_tokens(data: Path, split: str, count: int, ahead: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Features (N, D), one per position t a step can start from, and targets (N, count): the tokens at
    t + ahead … t + ahead + count − 1, IGNORE past the end of the reading."""
    meta = json.loads((data / "meta.json").read_text())
    D = meta["d_model"]
    tokens = np.fromfile(data / f"{split}.tokens.i32", dtype="<i4")
    features = np.fromfile(data / f"{split}.features.f32", dtype="<f4").reshape(-1, D)
    targets = np.full((features.shape[0], count), IGNORE, dtype=np.int64)
    for s in meta[split]:
        seq = tokens[s["tokenOffset"]: s["tokenOffset"] + s["length"]]
        first = s["promptLength"] - 2  # position of the first feature row
        n = s["length"] - 1 - first  # rows: positions first … length - 2
        for i in range(count):
            take = seq[first + ahead + i:]  # row r (position t = first + r) wants seq[t + ahead + i]
            m = min(n, len(take))
            targets[s["featureOffset"]: s["featureOffset"] + m, i] = take[:m]
    return torch.from_numpy(features), torch.from_numpy(targets)


def load_split(data: Path, split: str, heads: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Features (N, D) and targets (N, heads): the token at t + i + 2 for head i, IGNORE past the end."""
    return future_tokens(data, split, heads, ahead=2)


def losses(model: MedusaHeads, features: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-head cross-entropy, (heads,)."""
    logits = model(features[None])[0]  # (N, k, V)
    k, V = model.cfg.heads, model.cfg.vocab_size
    ce = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=IGNORE, reduction="none").view(-1, k)
    valid = (targets != IGNORE).float()
    return (ce * valid).sum(0) / valid.sum(0).clamp(min=1)


@torch.no_grad()
def evaluate(model: MedusaHeads, features: torch.Tensor, targets: torch.Tensor, chunk: int = 8192) -> dict:
    """Per head: CE, top-1 agreement, and the share of positions whose heads 0 … i all agree (over the
    positions where head i has a target)."""
    model.eval()
    k = model.cfg.heads
    ce_sum, right, chained, count = torch.zeros(k), torch.zeros(k), torch.zeros(k), torch.zeros(k)
    for start in range(0, features.shape[0], chunk):
        f, t = features[start:start + chunk], targets[start:start + chunk]
        logits = model(f[None])[0]  # (n, k, V)
        valid = t != IGNORE
        hit = (logits.argmax(-1) == t) & valid
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), t.reshape(-1), ignore_index=IGNORE, reduction="none").view(-1, k)
        ce_sum += (ce * valid).sum(0)
        right += hit.sum(0)
        chained += (hit.cumprod(1).bool() & valid).sum(0)
        count += valid.sum(0)
    model.train()
    n = count.clamp(min=1)
    return {"ce": (ce_sum / n).tolist(), "top1": (right / n).tolist(), "chained": (chained / n).tolist()}


def target_lm_head(voice: Path) -> torch.Tensor:
    """The voice's LM head (V, D), from the exported `full` graph (a fused entry's source)."""
    full = json.loads((voice / "manifest.json").read_text())["graphs"]["full"]
    return lm_head_of(voice / full.get("source", full)["file"])


def train(cfg: MedusaTrainConfig, lm_head: torch.Tensor | None = None) -> dict:
    """Trains heads that start from `lm_head` (V, D), by default the target's (target_lm_head(cfg.voice))."""
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    data = Path(cfg.data)
    model = MedusaHeads.from_lm_head(target_lm_head(Path(cfg.voice)) if lm_head is None else lm_head, cfg.heads)
    train_x, train_y = load_split(data, "train", cfg.heads)
    val_x, val_y = load_split(data, "val", cfg.heads)
    print(f"train {train_x.shape[0]} positions, val {val_x.shape[0]}; {sum(p.numel() for p in model.parameters())} parameters")
    weights = torch.tensor([cfg.head_decay ** i for i in range(cfg.heads)])
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    log = open(out / "log.jsonl", "w")
    first = evaluate(model, val_x, val_y)
    log.write(json.dumps({"step": 0, "elapsed_s": 0.0, "val": first}) + "\n")
    print(f"step 0: val top-1 {[round(v, 3) for v in first['top1']]}")
    budget = Budget(cfg.budget_s)
    gen = torch.Generator().manual_seed(cfg.seed)
    step = 0
    while not budget.spent():
        lr = lr_at(budget.progress(), lr=cfg.lr, min_lr=cfg.min_lr, warmup=cfg.warmup)
        for group in optimizer.param_groups:
            group["lr"] = lr
        idx = torch.randint(0, train_x.shape[0], (cfg.batch,), generator=gen)
        per_head = losses(model, train_x[idx], train_y[idx])  # (k,)
        loss = (weights * per_head).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        if step % cfg.eval_every == 0:
            val = evaluate(model, val_x, val_y)
            record = {"step": step, "elapsed_s": round(budget.elapsed(), 1), "lr": lr,
                      "train_ce": per_head.tolist(), "val": val}
            log.write(json.dumps(record) + "\n")
            log.flush()
            print(f"step {step} ({budget.elapsed():.0f} s): train CE {[round(v, 3) for v in per_head.tolist()]}, "
                  f"val top-1 {[round(v, 3) for v in val['top1']]}, chained {[round(v, 3) for v in val['chained']]}")
    val = evaluate(model, val_x, val_y)
    log.write(json.dumps({"step": step, "elapsed_s": round(budget.elapsed(), 1), "val": val}) + "\n")
    log.close()
    summary = {"kind": "train_t2s.medusa", "train_config": asdict(cfg), "steps": step,
               "train_positions": int(train_x.shape[0]), "val_positions": int(val_x.shape[0]),
               "val": {k: [round(v, 4) for v in vs] for k, vs in val.items()}}
    save_checkpoint(out / "medusa.pt", {"model": model.state_dict(), "medusa_config": asdict(model.cfg),
                                        "train_config": asdict(cfg), "summary": summary})
    print(f"step {step}: val top-1 {[round(v, 3) for v in val['top1']]}, chained {[round(v, 3) for v in val['chained']]}"
          f" → {out / 'medusa.pt'}")
    return summary


def main(argv: list[str] | None = None) -> None:
    cfg = config_from_args(MedusaTrainConfig, __doc__, argv)
    started = time.time()
    summary = train(cfg)
    print(f"{summary['steps']} steps in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
