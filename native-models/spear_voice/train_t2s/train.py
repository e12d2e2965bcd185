"""The training loop: two stages, each on its own share of one wall-clock budget (the learning rate follows
the stage's elapsed share, so a run ends on time on any machine).

1. target: the decoder-only target (phonemes are the prefix) and its early-exit head, trained jointly; with
   `seed_prophet` also the seed's prophet on its h_t, and with `exit_recycle` the exit head's recycling.
2. drafters: with the target frozen, the draft and EAGLE (and with distill_exit the exit head again).

Every step is logged to OUT/log.jsonl; checkpoints (checkpoint.py) are written every ckpt_every_s and at the
end of a stage, and `resume` continues a stopped stage from them.
"""

import inspect
import json
import shutil
import sys
import time
from contextlib import nullcontext
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .. import code_commit
from ..t2s.data import SPECIAL, collate, length_batches, load_pack
from ..t2s.model import Block, DecoderConfig, DraftModel, Eagle, TargetConfig, TargetModel
from ..t2s.recycle import ExitRecycle
from ..t2s.seed_prophet import SeedProphet
from ..training import Budget, float_weights, load_checkpoint, lr_at, restore, save_checkpoint
from .checkpoint import checkpoint, eagle_names, load_model, run_file, weights
from .config import TrainConfig
from .depths import evaluate_depths
from .init_drafters import init_drafters
from .losses import drafter_losses, target_losses
from .unroll import check_eagle_unrolled
from .validate import evaluate

CODE_PATHS = ("native-models/spear_voice/train_t2s", "native-models/spear_voice/t2s", "native-models/spear_voice/training.py")


def train_code_commit() -> str:
    """The last commit of the trainer's code (what a checkpoint records as its code_commit)."""
    return code_commit(*CODE_PATHS)


# ----------------------------------------------------------------------------------------------------
# Models


def build_models(cfg: TrainConfig, meta: dict) -> tuple[TargetModel, DraftModel]:
    V, context = meta["vocab"]["size"], meta["context"]
    target = TargetModel(TargetConfig(vocab_size=V, context=context, d_model=cfg.d_model, n_heads=cfg.n_heads,
                                      n_layers=cfg.n_layers, mlp_hidden=cfg.mlp_hidden, exit_layer=cfg.exit_layer,
                                      exit_blocks=cfg.exit_blocks))
    draft = DraftModel(DecoderConfig(vocab_size=V, context=context, d_model=cfg.draft_d_model,
                                     n_heads=cfg.draft_n_heads, n_layers=cfg.draft_n_layers))
    return target, draft


def build_target_extras(cfg: TrainConfig, target: TargetModel) -> dict:
    """What the target stage trains beside the target, by the config: the seed prophet, recycling."""
    extras = {}
    if cfg.seed_prophet:
        extras["seed_prophet"] = SeedProphet.for_target(target.cfg, cfg.seed_prophet_d_model, cfg.seed_prophet_n_layers,
                                                        cfg.seed_prophet_n_heads)
    if cfg.exit_recycle:
        extras["recycle"] = ExitRecycle(target.cfg)
    return extras


def add_residual_dropout(model: torch.nn.Module, p: float) -> None:
    """Dropout on each block's attention and MLP output before it joins the residual stream (GPT-2's
    resid_pdrop). Forward hooks, so the model code, its config and its ONNX export stay as they are;
    they act only in training mode."""
    if p <= 0:
        return

    def hook(module, inputs, output):
        if not module.training:
            return output
        if isinstance(output, tuple):  # attention: (out, new_k, new_v)
            return (F.dropout(output[0], p, True), *output[1:])
        return F.dropout(output, p, True)

    for m in model.modules():
        if isinstance(m, Block):
            m.attn.register_forward_hook(hook)
            m.mlp.register_forward_hook(hook)


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig, device) -> torch.optim.Optimizer:
    """AdamW on the trainable parameters, weight decay on matrices only (nanoGPT)."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    extra = {}
    if device.type == "cuda" and "fused" in inspect.signature(torch.optim.AdamW).parameters:
        extra["fused"] = True  # NOTE: torch >= 2.0 only
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), **extra)


class Progress:
    """One status line: rewritten in place (\\r) on a terminal, printed every log_every_s otherwise."""

    def __init__(self, every_s: float):
        self.tty, self.every_s, self.last = sys.stdout.isatty(), every_s, 0.0

    def show(self, text: str, force: bool = False) -> None:
        now = time.time()
        if self.tty and (force or now - self.last > 0.25):
            print("\r" + text[:160].ljust(160), end="" if not force else "\n", flush=True)
            self.last = now
        elif not self.tty and (force or now - self.last > self.every_s):
            print(text, flush=True)
            self.last = now


# ----------------------------------------------------------------------------------------------------
# One stage


def run_stage(stage: str, cfg: TrainConfig, meta: dict, splits: dict, models: dict, device, autocast,
              budget_s: float, log, run_start: float) -> dict:
    """Train one stage until its time budget is spent; returns its final validation metrics."""
    out = Path(cfg.out)
    target, draft, eagle = models["target"], models["draft"], models.get("eagle")
    if stage == "target":
        trained = {"target": target, **{k: models[k] for k in ("seed_prophet", "recycle") if k in models}}
    else:
        target.eval().requires_grad_(False)
        trained = {"draft": draft, "eagle": eagle}
        if cfg.distill_exit:
            target.exit_blocks.requires_grad_(True)
            target.exit_norm.requires_grad_(True)
            trained["target"] = target
    optimizers = {k: make_optimizer(m, cfg, device) for k, m in trained.items()}
    state = {"step": 0, "elapsed_s": 0.0, "epoch": 0, "batch": 0, "tokens": 0, "done": False, "best": None}

    if cfg.resume:  # continue the stage from its checkpoints
        for k, m in trained.items():
            path = run_file(out, k)
            if path.exists():
                state = dict(restore(path, m, optimizers[k])["state"])
        print(f"{stage}: resumed at step {state['step']}, {state['elapsed_s']:.0f} s of {budget_s:.0f} s")

    def save_all(best_weights=None):
        for k, m in trained.items():
            w = best_weights if (k == "target" and best_weights is not None) else None
            ckpt = checkpoint(cfg, stage, m, state, meta, optimizers[k], w)
            if k == "target" and stage == "drafters":  # the exit head retrained on the target it started from
                ckpt["base"] = models["target_base"]
            save_checkpoint(out / f"{k}.pt", ckpt)

    def validate() -> dict:
        drafters = stage != "target"
        evals = evaluate(target, draft if drafters else None, eagle if drafters else None, splits["val"], cfg, device, autocast)
        if not drafters:  # α per draft depth of the exit head (and the seed prophet) trained with the target
            with autocast:
                evals.update(evaluate_depths(target, models.get("recycle"), models.get("seed_prophet"), splits["val"], cfg, device))
        return evals

    def share_done() -> float:  # the stage's share done: by steps with max_steps, else by the clock
        return state["step"] / cfg.max_steps if cfg.max_steps else budget.progress()

    train = splits["train"]
    budget = Budget(budget_s, spent_s=state["elapsed_s"])
    progress = Progress(cfg.log_every_s)
    best_weights, last_ckpt, last_eval = None, time.time(), time.time()
    tokens_window, window_start = 0, time.time()
    while share_done() < 1:
        # One epoch: batches of similar lengths, shuffled by a seed of the epoch (so a resumed run sees the same).
        rng = np.random.default_rng(cfg.seed * 1000 + state["epoch"])
        batches = length_batches(train.lengths, cfg.batch_tokens, rng)
        while state["batch"] < len(batches) and share_done() < 1:
            frac = share_done()
            lr = lr_at(frac, lr=cfg.lr, min_lr=cfg.lr * cfg.min_lr_ratio, warmup=cfg.warmup)
            for opt in optimizers.values():
                for g in opt.param_groups:
                    g["lr"] = lr
            ids, mask = (torch.from_numpy(a).to(device, non_blocking=True) for a in collate(train, batches[state["batch"]]))  # (B, T)
            with autocast:
                if stage == "target":
                    losses = target_losses(target, ids, mask, cfg, models.get("seed_prophet"), models.get("recycle"))
                else:
                    losses = drafter_losses(target, draft, eagle, ids, mask, cfg, cfg.feature_noise)
            for opt in optimizers.values():
                opt.zero_grad(set_to_none=True)
            losses["loss"].backward()
            for k, m in trained.items():
                torch.nn.utils.clip_grad_norm_(m.parameters(), cfg.grad_clip)
                optimizers[k].step()

            real = int((ids != SPECIAL["pad"]).sum())
            state["step"] += 1
            state["batch"] += 1
            state["tokens"] += real
            state["elapsed_s"] = budget.elapsed()
            tokens_window += real
            if time.time() - window_start > 5:
                tok_s, tokens_window, window_start = tokens_window / (time.time() - window_start), 0, time.time()
            else:
                tok_s = state.get("tok_s", 0.0)
            state["tok_s"] = tok_s
            record = {"stage": stage, "step": state["step"], "epoch": state["epoch"], "lr": round(lr, 7),
                      "tok_s": round(tok_s), "elapsed_s": round(time.time() - run_start, 1)}
            record.update({k: round(float(v), 4) for k, v in losses.items() if k != "loss" and v is not None})
            log.write(json.dumps(record) + "\n")
            shown = " ".join(f"{k} {record[k]:.3f}" for k in ("main", "exit", "draft", "eagle", "seed_prophet") if k in record)
            progress.show(f"{stage} {100 * frac:5.1f}% step {state['step']} ep {state['epoch']} | {shown} | lr {lr:.1e} | "
                          f"{tok_s:.0f} tok/s | {state['elapsed_s']:.0f}/{budget_s:.0f} s")
            if state["step"] % 50 == 0:
                log.flush()

            if time.time() - last_eval > cfg.eval_every_s or (cfg.eval_every_steps and state["step"] % cfg.eval_every_steps == 0):
                evals = validate()
                log.write(json.dumps({"stage": stage, "step": state["step"], "elapsed_s": round(time.time() - run_start, 1),
                                      "val": evals}) + "\n")
                if stage == "target" and cfg.keep_best and (state["best"] is None or evals["main_ce"] < state["best"]):
                    state["best"], best_weights = evals["main_ce"], weights(target, cfg.ckpt_dtype)
                last_eval = time.time()
            if time.time() - last_ckpt > cfg.ckpt_every_s:
                log.flush()
                save_all(best_weights)
                last_ckpt = time.time()
        if state["batch"] >= len(batches):  # the epoch is over: the next one
            state["epoch"] += 1
            state["batch"] = 0

    evals = validate()
    log.write(json.dumps({"stage": stage, "step": state["step"], "elapsed_s": round(time.time() - run_start, 1), "val": evals}) + "\n")
    if stage == "target" and cfg.keep_best:
        if state["best"] is None or evals["main_ce"] < state["best"]:
            state["best"], best_weights = evals["main_ce"], weights(target, cfg.ckpt_dtype)
        else:  # go on with (and export) the best target seen; the drafters learn from that one
            target.load_state_dict(float_weights(best_weights))
            evals = evaluate(target, None, None, splits["val"], cfg, device, autocast)
    state["done"] = True
    save_all(best_weights)
    log.flush()
    progress.show(f"{stage} done: step {state['step']}, {state['tokens']} tokens, {state['elapsed_s']:.0f} s | val {evals}", force=True)
    return evals


# ----------------------------------------------------------------------------------------------------
# The run


def pick_device(name: str) -> torch.device:
    """auto: cuda when there is one, else cpu."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"--device {name}: torch.cuda.is_available() is False")
    return torch.device(name)


def train(cfg: TrainConfig) -> dict:
    """Run the config's stages in `cfg.out`; returns the validation metrics of each stage run."""
    run_start = time.time()
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    device = pick_device(cfg.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        autocast = torch.autocast("cuda", dtype=torch.bfloat16)
    else:
        autocast = nullcontext()  # NOTE: CPU bf16 autocast is slower than float32 on torch 1.13
    meta, splits = load_pack(Path(cfg.pack))
    commit = cfg.code_commit or train_code_commit()  # given by the caller (a copied tree), or asked of git
    meta["code_commit"] = commit if commit != "unknown" else meta.get("code_commit", "unknown")
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=1) + "\n")

    target, draft = build_models(cfg, meta)
    extras = {k: m.to(device) for k, m in build_target_extras(cfg, target).items()}  # built after the target: same init
    add_residual_dropout(target, cfg.dropout)
    add_residual_dropout(draft, cfg.dropout)
    target.to(device)
    draft.to(device)
    n_params = lambda m: sum(p.numel() for p in m.parameters())
    print(f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()} | vocab {meta['vocab']['size']}, "
          f"context {meta['context']}, train rows {len(splits['train'])} ({meta['splits']['train']['tokens']} tokens), "
          f"units {meta['units_source']} | target {n_params(target) / 1e6:.2f} M, draft {n_params(draft) / 1e6:.2f} M")

    stages = [s.strip() for s in cfg.stages.split(",") if s.strip()]
    unknown = [s for s in stages if s not in ("target", "drafters")]
    if unknown:
        raise ValueError(f"--stages: unknown stage {unknown[0]!r} (target, drafters)")
    usable = cfg.budget_s - cfg.reserve_s
    evals = {}
    evals_path = out / "eval.json"
    if cfg.resume and evals_path.exists():
        evals = eagle_names(json.loads(evals_path.read_text()))
    with open(out / "log.jsonl", "a") as log:
        for stage in ("target", "drafters"):
            done_path = run_file(out, "target" if stage == "target" else "eagle")
            if stage not in stages:
                continue
            if cfg.resume and done_path.exists() and load_checkpoint(done_path)["state"].get("done"):
                print(f"{stage}: already done in {out}, skipped")
                continue
            models = {"target": target, "draft": draft, **extras}
            if stage == "drafters":  # the drafters learn from the target exactly as it was saved
                if cfg.target_from and not (out / "target.pt").exists():
                    shutil.copy(cfg.target_from, out / "target.pt")
                if not (out / "target.pt").exists():
                    raise FileNotFoundError(f"{out}/target.pt: the drafters stage needs a trained target; run the target stage first")
                target, t_ckpt = load_model(out / "target.pt", device)
                models["target"] = target
                models["target_base"] = t_ckpt.get("base") or {k: t_ckpt[k] for k in ("train_config", "state", "code_commit", "units_source")}
                models["eagle"] = Eagle.from_target(target, n_layers=cfg.eagle_n_layers, n_heads=cfg.eagle_n_heads or None,
                                                    d_model=cfg.eagle_d_model or None).to(device)
                if cfg.init_from:
                    init_drafters(Path(cfg.init_from), {"draft": draft, "eagle": models["eagle"]})
                print(f"eagle_unrolled vs cached drafting: max abs diff "
                      f"{check_eagle_unrolled(models['eagle'], cfg.eagle_unroll):.1e}")
            if stage == "target" and cfg.target_init:
                target.load_state_dict(float_weights(load_checkpoint(Path(cfg.target_init))["model"]))
                print(f"target: starts from {cfg.target_init}")
            spent = time.time() - run_start
            if stage == "target":
                budget = usable * cfg.target_share
            elif cfg.target_from:  # the target was trained elsewhere: the whole budget is the drafters'
                budget = usable - spent
            else:  # the rest of the budget: what the target stage left (in this process or an earlier one)
                target_s = load_checkpoint(out / "target.pt")["state"]["elapsed_s"]
                budget = min(usable - target_s, usable - spent)
            evals[stage] = run_stage(stage, cfg, meta, splits, models, device, autocast, max(1.0, budget), log, run_start)
            evals_path.write_text(json.dumps(evals, indent=1) + "\n")
    print(f"run done in {time.time() - run_start:.0f} s → {out}")
    return evals
