"""Train the seed prophet (t2s/seed_prophet.py) of a shipped voice, the target frozen, on its own greedy readings.

    node --import tsx native-models/tools/medusa_data.mts --out native-models/work/medusa-data
    cd native-models && python3 -m spear_voice.train_t2s.seed_prophet --data work/medusa-data --out work/prophet-run
    python3 -m spear_voice.t2s.seed_prophet_export voice --ckpt work/prophet-run/seed_prophet.pt

The data is Medusa's (tools/medusa_data.mts): each reading's tokens and the target's final feature h_t at every
position t a step can start from, from the prompt's last phoneme on. A window at t reads
[start(h_t), x_{t+1}, …, x_{t+steps-1}] and its output j learns x_{t+1+j} by cross-entropy (self-distillation:
the target's greedy token, which is what greedy verification accepts); outputs past the reading's end are
ignored. This is the seed prophet at weight 0: the target's weights are those shipped, untouched. Training the
two jointly (research.md) changes the target, which needs its own retraining on a GPU.

Reported on the val split per output j ≥ 1 (draft j): top-1 agreement with the target's token, and the share of
windows whose drafts 1 … j all agree (what greedy drafting at gamma j accepts up to depth j).
"""

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from .. import REPO_ROOT
from ..t2s.data import SPECIAL
from ..t2s.model import DecoderConfig
from ..t2s.seed_prophet import SeedProphet
from ..training import Budget, config_from_args, lr_at, save_checkpoint
from .medusa import IGNORE, future_tokens


@dataclass
class SeedProphetTrainConfig:
    data: str = "native-models/work/medusa-data"  # tools/medusa_data.mts output
    out: str = "native-models/work/prophet-run"  # seed_prophet.pt and log.jsonl
    d_model: int = 128  # the prophet's width (research.md measured 64 on a width-128 target; this target is 256)
    n_layers: int = 1  # blocks
    n_heads: int = 2  # attention heads (head width 64, as the target's)
    steps: int = 6  # window length: x_{t+1} … x_{t+6}, drafts 1 … 5 (adaptive gamma rarely runs deeper)
    batch: int = 256  # windows per step (steps × batch tokens)
    lr: float = 2e-3  # AdamW peak
    min_lr: float = 2e-5  # end of the cosine
    warmup: float = 0.03  # share of the budget warming up
    weight_decay: float = 0.01  # light: a small model on 430 k windows does not overfit in minutes
    budget_s: float = 1200.0  # wall-clock seconds of training (the schedule follows the share spent)
    eval_every: int = 500  # steps between val evaluations
    seed: int = 0
    threads: int = 1  # torch intra-op threads


def load_split(data: Path, split: str, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Features (N, D): h_t at each start t, and windows (N, steps): x_{t+1} … x_{t+steps}, IGNORE past the end."""
    return future_tokens(data, split, steps, ahead=1)


def window_logits(prophet: SeedProphet, features: torch.Tensor, windows: torch.Tensor) -> torch.Tensor:
    """(N, D), (N, steps) → logits (N, steps, V): input [bos, x_{t+1} … x_{t+steps-1}], output j predicts x_{t+1+j}."""
    inputs = torch.cat([torch.full_like(windows[:, :1], SPECIAL["bos"]), windows[:, :-1].clamp(min=0)], dim=1)
    logits, _ = prophet(features[:, None], inputs)
    return logits


def losses(prophet: SeedProphet, features: torch.Tensor, windows: torch.Tensor) -> torch.Tensor:
    """Cross-entropy per output, (steps,)."""
    logits = window_logits(prophet, features, windows)
    N, S, V = logits.shape
    ce = F.cross_entropy(logits.reshape(-1, V), windows.reshape(-1), ignore_index=IGNORE, reduction="none").view(N, S)
    valid = (windows != IGNORE).float()
    return (ce * valid).sum(0) / valid.sum(0).clamp(min=1)


@torch.no_grad()
def evaluate(prophet: SeedProphet, features: torch.Tensor, windows: torch.Tensor, chunk: int = 4096) -> dict:
    """Per draft j = 1 … steps-1 (output j): CE, top-1 agreement, and the share of windows whose drafts 1 … j
    all agree, each over the windows where x_{t+1+j} exists."""
    prophet.eval()
    S = windows.shape[1]
    ce_sum, right, chained, count = torch.zeros(S), torch.zeros(S), torch.zeros(S), torch.zeros(S)
    for start in range(0, features.shape[0], chunk):
        f, w = features[start:start + chunk], windows[start:start + chunk]
        logits = window_logits(prophet, f, w)
        valid = w != IGNORE
        hit = (logits.argmax(-1) == w) & valid
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), w.reshape(-1), ignore_index=IGNORE, reduction="none").view(w.shape)
        ce_sum += (ce * valid).sum(0)
        right += hit.sum(0)
        drafts = hit[:, 1:].cumprod(1).bool() & valid[:, 1:]  # (n, S-1): drafts 1 … j all agree
        chained[1:] += drafts.sum(0)
        count += valid.sum(0)
    prophet.train()
    n = count.clamp(min=1)
    return {"ce": (ce_sum / n)[1:].tolist(), "top1": (right / n)[1:].tolist(), "chained": (chained / n)[1:].tolist()}


def train(cfg: SeedProphetTrainConfig, target_cfg: dict | None = None) -> dict:
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    data = Path(cfg.data)
    meta = json.loads((data / "meta.json").read_text())
    manifest = json.loads((REPO_ROOT / meta["voice"] / "manifest.json").read_text()) if target_cfg is None else target_cfg
    model_cfg = DecoderConfig(vocab_size=meta["vocab_size"], context=manifest["context"], d_model=cfg.d_model,
                              n_heads=cfg.n_heads, n_layers=cfg.n_layers, feature_dim=meta["d_model"])
    prophet = SeedProphet(model_cfg)
    train_x, train_w = load_split(data, "train", cfg.steps)
    val_x, val_w = load_split(data, "val", cfg.steps)
    print(f"train {train_x.shape[0]} windows, val {val_x.shape[0]}; {sum(p.numel() for p in prophet.parameters())} parameters")
    optimizer = torch.optim.AdamW(prophet.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    log = open(out / "log.jsonl", "w")
    budget = Budget(cfg.budget_s)
    gen = torch.Generator().manual_seed(cfg.seed)
    step = 0
    while not budget.spent():
        lr = lr_at(budget.progress(), lr=cfg.lr, min_lr=cfg.min_lr, warmup=cfg.warmup)
        for group in optimizer.param_groups:
            group["lr"] = lr
        idx = torch.randint(0, train_x.shape[0], (cfg.batch,), generator=gen)
        per_step = losses(prophet, train_x[idx], train_w[idx])  # (steps,)
        loss = per_step.mean()  # every output weighs the same, as seed_prophet_loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        if step % cfg.eval_every == 0:
            val = evaluate(prophet, val_x, val_w)
            log.write(json.dumps({"step": step, "elapsed_s": round(budget.elapsed(), 1), "lr": lr,
                                  "train_ce": per_step.tolist(), "val": val}) + "\n")
            log.flush()
            print(f"step {step} ({budget.elapsed():.0f} s): train CE {[round(v, 3) for v in per_step.tolist()]}, "
                  f"val top-1 {[round(v, 3) for v in val['top1']]}, chained {[round(v, 3) for v in val['chained']]}", flush=True)
    val = evaluate(prophet, val_x, val_w)
    log.write(json.dumps({"step": step, "elapsed_s": round(budget.elapsed(), 1), "val": val}) + "\n")
    log.close()
    summary = {"kind": "train_t2s.seed_prophet", "seed_prophet_weight": 0, "train_config": asdict(cfg), "steps": step,
               "train_windows": int(train_x.shape[0]), "val_windows": int(val_x.shape[0]),
               "val": {k: [round(v, 4) for v in vs] for k, vs in val.items()}}
    save_checkpoint(out / "seed_prophet.pt", {"model": prophet.state_dict(), "prophet_config": asdict(model_cfg),
                                              "train_config": asdict(cfg), "summary": summary})
    print(f"step {step}: val top-1 {[round(v, 3) for v in val['top1']]}, chained {[round(v, 3) for v in val['chained']]}"
          f" → {out / 'seed_prophet.pt'}")
    return summary


def main(argv: list[str] | None = None) -> None:
    cfg = config_from_args(SeedProphetTrainConfig, __doc__, argv)
    started = time.time()
    summary = train(cfg)
    print(f"{summary['steps']} steps in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
