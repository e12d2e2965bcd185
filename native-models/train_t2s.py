"""Train the reading decoder (phonemes → semantic units) and its three drafters, then export the voice.

    /usr/bin/python3 native-models/train_t2s.py pack [--fake-units] [--units DIR --n-units K --unit-rate HZ]
    /usr/bin/python3 native-models/train_t2s.py train --preset cpu [--budget_s 7000] [--out DIR] [--resume]
    /usr/bin/python3 native-models/train_t2s.py export --run DIR [--out native-models/voice]

Two stages, each on its own share of one wall-clock budget (the learning rate follows the stage's
elapsed share, so a run ends on time on any machine):

1. target: the decoder-only target (phonemes are the prefix) and its early-exit head, trained jointly:
   main CE + exit_weight * (exit CE mixed with KL to the main head), on the unit + eos positions only.
2. drafters: with the target frozen, one target forward per batch teaches both drafters:
   - draft: a narrow 2-layer decoder, CE on the data mixed with KL to the target (distillation);
   - prophet (EAGLE-style, spear_t2s/model.py): regression onto the target's features + KL of its head
     to the target, noise on the input features, unrolled `prophet_unroll` steps on its own predicted
     features with the attention pattern the engine's drafting has (prophet_unrolled below).

Runs on Debian's torch 1.13 on CPU and torch 2.x on CUDA (bf16 autocast there). Checkpoints carry their
config; --resume continues a stopped run (save_optimizer=True). Every step is logged to log.jsonl.
"""

import argparse
import copy
import inspect
import json
import math
import os
import shutil
import subprocess
import sys
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from spear_t2s.data import SPECIAL, build_pack, collate, length_batches, load_pack  # noqa: E402
from spear_t2s.model import (Block, DecoderConfig, DraftModel, Prophet, TargetConfig, TargetModel,  # noqa: E402
                             default_positions, rotary, shift_features)

REPO_ROOT = Path(__file__).resolve().parents[1]
CKPT_FORMAT = "spear-t2s-ckpt/1"


@dataclass
class TrainConfig:
    # data and output
    pack: str = "native-models/work/pack"  # made by `train_t2s.py pack`
    out: str = "native-models/work/run"  # checkpoints, log.jsonl, eval.json
    stages: str = "target,drafters"  # which stages to run, in order
    resume: bool = False  # continue the run in `out` from its checkpoints (skips finished stages)
    target_from: str = ""  # drafters stage only: start from this trained target.pt (copied into `out`)
    init_from: str = ""  # drafters stage only: start the draft and prophet from this folder's draft.pt / prophet.pt where shapes fit, or grown by added blocks
    target_init: str = ""  # target stage only: start from this trained target.pt (exit head included) instead of random weights: fine-tuning on a new pack
    # target (shipped size: ONNX weights are stored as float16, so the six graphs stay ~30 MB)
    d_model: int = 256  # width; AR decoding of 6 x d256 runs ~400 tokens/s on one core here
    n_layers: int = 6  # target blocks
    n_heads: int = 4  # head_dim 64
    mlp_hidden: int = 0  # 0 = 8/3 d_model (Llama)
    exit_layer: int = 2  # early exit reads the residual after this many blocks
    exit_blocks: int = 1  # blocks owned by the exit head (LayerSkip-style head on top)
    exit_weight: float = 0.3  # loss = main + exit_weight * exit (LayerSkip weighs early exits below the main head)
    exit_distill: float = 0.5  # exit loss = (1 - this) * CE(data) + this * KL(main || exit), main detached
    distill_exit: bool = False  # drafters stage: also retrain the exit head (its blocks and norm; trunk and LM head frozen)
    dropout: float = 0.0  # residual dropout on attention/MLP outputs (hooks; not in the model code or export)
    # draft
    draft_d_model: int = 192  # narrow: one draft step costs ~1/8 of a target step
    draft_n_layers: int = 2
    draft_n_heads: int = 3  # head_dim 64
    draft_distill: float = 0.7  # draft loss = (1 - this) * CE(data) + this * tau^2 * KL(target || draft)
    distill_temperature: float = 1.0  # tau; 1 matches what acceptance compares (sum min(p, q) of the unsoftened p, q)
    # prophet
    prophet_n_layers: int = 1  # EAGLE uses one decoder layer
    prophet_d_model: int = 0  # width of the prophet's own blocks; 0 = the target's (narrower = cheaper drafting step)
    prophet_n_heads: int = 0  # 0 = width / the target's head_dim
    prophet_ce_weight: float = 0.0  # + this * CE(data next token) per unrolled step (self-distilled data: the target's argmax)
    prophet_unroll: int = 2  # training steps fed the prophet's own predicted features (drafting does this)
    prophet_step_decay: float = 0.7  # loss weight of unrolled step s is decay^(s-1)
    prophet_reg_weight: float = 1.0  # smooth-L1 onto the target's feature (EAGLE: 1.0)
    prophet_cls_weight: float = 1.0  # KL of its head to the target's (EAGLE: 0.1 CE on unnormalised features; at 0.3
    # here the prophet's val top-1 reached 0.19 where the draft's reached 0.85, same 56 CPU steps)
    feature_noise: float = 0.1  # Gaussian noise on input features, in units of each feature's RMS (EAGLE: U(-0.1, 0.1))
    # optimisation
    batch_tokens: int = 8192  # padded tokens per batch (B x T)
    lr: float = 1e-3  # peak learning rate (AdamW), every stage
    min_lr_ratio: float = 0.1  # cosine decays to lr * this
    warmup: float = 0.03  # share of a stage spent warming up linearly
    weight_decay: float = 0.1  # on matrices only (nanoGPT)
    beta1: float = 0.9
    beta2: float = 0.98
    grad_clip: float = 1.0
    # budget: the whole run gets budget_s; the target stage target_share of it, the drafters the rest
    budget_s: float = 6600.0  # CPU recipe: 1 h 50 min of training + evals, within the 2 h
    target_share: float = 0.6
    reserve_s: float = 0.0  # kept back from budget_s for start-up and the final save (run.sh sets it)
    # runtime
    code_commit: str = ""  # the commit of this code, for a copied tree where git cannot tell (set by the GPU scripts)
    device: str = "auto"  # auto: cuda if available, else cpu
    threads: int = 2  # CPU intra-op threads (torch 1.13 on Debian defaults to 1)
    seed: int = 1337
    eval_every_s: float = 900.0  # validation every this many seconds, and at the end of each stage
    eval_sentences: int = 256  # validation rows used (all of val is ~230)
    ckpt_every_s: float = 300.0  # checkpoint every this many seconds, and at the end of each stage
    save_optimizer: bool = True  # resumable checkpoints (GPU: False, to keep each file < 16 MB)
    ckpt_dtype: str = "float32"  # weights in checkpoints; float16 halves them (exact after export's rounding)
    keep_best: bool = False  # target stage: keep the weights with the best validation main CE (long GPU runs)
    log_every_s: float = 20.0  # progress line when stdout is not a terminal


PRESETS = {
    "cpu": {},
    # One lent H100 for ~7 minutes: same shipped size, many epochs, so regularise and keep the best.
    "gpu": dict(batch_tokens=32768, lr=2e-3, dropout=0.1, budget_s=420.0, reserve_s=25.0, target_share=0.5, eval_every_s=20.0,
                ckpt_every_s=60.0, save_optimizer=False, ckpt_dtype="float16", keep_best=True, log_every_s=10.0,
                threads=8, prophet_unroll=3),
    # End-to-end check of every code path in a minute.
    "smoke": dict(d_model=64, n_layers=3, n_heads=2, exit_layer=1, draft_d_model=32, draft_n_heads=1,
                  batch_tokens=2048, lr=3e-3, budget_s=60.0, eval_every_s=20.0, ckpt_every_s=15.0, eval_sentences=32),
}


def lr_at(progress: float, cfg: TrainConfig) -> float:
    """Linear warmup over the first `warmup` of the stage, then cosine to lr * min_lr_ratio. progress in [0, 1]."""
    if progress < cfg.warmup:
        return cfg.lr * (progress + 1e-3) / cfg.warmup
    t = min(1.0, (progress - cfg.warmup) / max(1e-9, 1 - cfg.warmup))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t)))


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


def prophet_unrolled(prophet: Prophet, ids, features, steps: int, noise: float, window: tuple[int, int] | None = None):
    """The prophet on whole sequences as the engine drafts with it, `steps` deep.

    ids (B, T); features (B, T, D) the target's final features → per step s = 1..steps: logits (B, T, V),
    predicted feature (B, T, D). Step s at position i is the s-th token of a draft that began at
    p0 = i - s + 1: its input is the prophet's own step s-1 prediction at i - 1 (step 1: the target's
    feature, plus noise), and it attends to step 1's keys at j <= p0 (the engine's committed cache, built
    from true features) and to step k's key at p0 + k - 1 for 1 < k <= s, the earlier drafted positions
    (the training-time-test pattern of HASS / EAGLE-3). window=(keep, w), for analysis only: step 1's keys
    are limited to the first `keep` positions (the prompt) and the last `w` committed ones."""
    cfg = prophet.cfg
    B, T = ids.shape
    positions, _ = default_positions(ids)
    cos, sin = rotary(positions, cfg.head_dim, cfg.rope_base)
    emb = prophet.embed(ids)  # (B, T, D)
    prev = shift_features(features)  # (B, T, D)
    if noise > 0:
        prev = prev + noise * prev.pow(2).mean(-1, keepdim=True).sqrt() * torch.randn_like(prev)
    i = torch.arange(T, device=ids.device)[:, None]  # (T, 1) query position
    j = torch.arange(T, device=ids.device)[None, :]  # (1, T) key position within one step's keys
    past = None  # per block: keys, values of all earlier steps (B, (s-1) T, H*Dh)
    outs = []
    for s in range(1, steps + 1):
        first = j <= i - s + 1
        if window is not None:
            first = first & ((j < window[0]) | (j > i - s + 1 - window[1]))
        parts = [first] + [j == i - s + k for k in range(2, s + 1)]  # step 1's keys, then steps 2..s
        mask = torch.cat(parts, dim=1)[None]  # (1, T, s T)
        x = prophet.fc(torch.cat([prev, emb], dim=-1))  # (B, T, D)
        new = []
        for b, block in enumerate(prophet.blocks):
            empty = x.new_zeros(B, 0, cfg.d_model)
            x, kv = block(x, cos, sin, mask, past[b] if past else (empty, empty))
            new.append(kv)
        past = [(torch.cat([p[0], n[0]], 1), torch.cat([p[1], n[1]], 1)) for p, n in zip(past, new)] if past else new
        feature = prophet.norm(x if prophet.up is None else prophet.up(x))  # (B, T, D)
        outs.append((prophet.lm_head(feature), feature))
        prev = shift_features(feature)
    return outs


@torch.no_grad()
def check_prophet_unrolled(prophet: Prophet, steps: int) -> float:
    """prophet_unrolled equals drafting through the cached API (the engine's way) at every step; returns
    the max abs difference of the logits. On a CPU copy: TF32 matmuls on a GPU differ by more than 1e-4."""
    prophet, device = copy.deepcopy(prophet).cpu(), torch.device("cpu")
    gen = torch.Generator().manual_seed(0)
    T, D = 12, prophet.feature_dim
    ids = torch.randint(0, prophet.cfg.vocab_size, (2, T), generator=gen).to(device)
    features = torch.randn(2, T, D, generator=gen).to(device)
    prophet.eval()
    outs = prophet_unrolled(prophet, ids, features, steps, noise=0.0)
    worst = 0.0
    for p0 in (3, 7):
        logits, feature, cache = prophet(ids[:, :p0 + 1], shift_features(features)[:, :p0 + 1])
        worst = max(worst, float((logits[:, p0] - outs[0][0][:, p0]).abs().max()))
        for s in range(2, steps + 1):
            pos = p0 + s - 1
            positions = torch.full((2, 1), pos, device=device)
            past_len = torch.full((2,), pos, device=device)
            logits, feature_new, new = prophet(ids[:, pos:pos + 1], feature[:, -1:], positions, past_len, cache)
            cache = [(torch.cat([c[0], n[0]], 1), torch.cat([c[1], n[1]], 1)) for c, n in zip(cache, new)]
            feature = feature_new
            worst = max(worst, float((logits[:, 0] - outs[s - 1][0][:, pos]).abs().max()))
    if worst > 1e-4:
        raise RuntimeError(f"prophet_unrolled differs from cached drafting by {worst:.2e}")
    return worst


# ----------------------------------------------------------------------------------------------------
# Losses (all on the positions whose next token is a unit or eos)


def kl(p_logits, q_logits, tau: float = 1.0):  # (N, V), (N, V) → mean KL(p || q) at temperature tau, float32
    logp = F.log_softmax(p_logits.float() / tau, -1)
    logq = F.log_softmax(q_logits.float() / tau, -1)
    return (logp.exp() * (logp - logq)).sum(-1).mean()


def target_losses(target: TargetModel, ids, mask, cfg: TrainConfig) -> dict:
    logits, exit_logits, _ = target(ids)  # (B, T, V) x 2
    y = ids[:, 1:][mask[:, :-1]]  # (N,) next tokens at loss positions
    main = logits[:, :-1][mask[:, :-1]].float()  # (N, V)
    ex = exit_logits[:, :-1][mask[:, :-1]].float()  # (N, V)
    main_ce = F.cross_entropy(main, y)
    exit_ce = F.cross_entropy(ex, y)
    exit_loss = (1 - cfg.exit_distill) * exit_ce + cfg.exit_distill * kl(main.detach(), ex)
    return {"loss": main_ce + cfg.exit_weight * exit_loss, "main": main_ce, "exit": exit_ce}


def drafter_losses(target: TargetModel, draft: DraftModel, prophet: Prophet, ids, mask, cfg: TrainConfig,
                   noise: float) -> dict:
    positions, past_len = default_positions(ids)
    with torch.no_grad():
        hidden, _ = target.trunk(ids, positions, past_len)  # (B, T, D) at the exit layer
        t_logits, t_feature, _ = target.rest(hidden, positions, past_len)  # (B, T, V), (B, T, D)
    m = mask[:, :-1]  # (B, T-1)
    y = ids[:, 1:][m]  # (N,)
    p = t_logits[:, :-1][m].float()  # (N, V) the target's distribution at each loss position

    exit_loss, exit_ce = 0.0, None
    if cfg.distill_exit:  # the exit head alone learns; the trunk under it and the shared LM head stay frozen
        ex = target.exit_head(hidden, positions, past_len)[0][:, :-1][m].float()  # (N, V)
        exit_ce = F.cross_entropy(ex, y)
        exit_loss = (1 - cfg.exit_distill) * exit_ce + cfg.exit_distill * kl(p, ex)

    d = draft(ids)[0][:, :-1][m].float()  # (N, V)
    draft_ce = F.cross_entropy(d, y)
    tau = cfg.distill_temperature
    draft_loss = (1 - cfg.draft_distill) * draft_ce + cfg.draft_distill * tau * tau * kl(p, d, tau)

    prophet_loss, prophet_ce = 0.0, None
    t_feature = t_feature.float()
    for s, (logits, feature) in enumerate(prophet_unrolled(prophet, ids, t_feature, cfg.prophet_unroll, noise), 1):
        ms = m.clone()  # the draft began at i - s + 1, which must itself be a loss position
        if s > 1:
            ms[:, s - 1:] &= m[:, :-(s - 1)]
            ms[:, :s - 1] = False
        reg = F.smooth_l1_loss(feature[:, :-1][ms].float(), t_feature[:, :-1][ms])
        q = logits[:, :-1][ms].float()
        cls = kl(t_logits[:, :-1][ms], q)
        ce = F.cross_entropy(q, ids[:, 1:][ms])
        prophet_loss = prophet_loss + cfg.prophet_step_decay ** (s - 1) * (
            cfg.prophet_reg_weight * reg + cfg.prophet_cls_weight * cls + cfg.prophet_ce_weight * ce)
        if s == 1:
            prophet_ce = ce
    return {"loss": draft_loss + prophet_loss + cfg.exit_weight * exit_loss, "draft": draft_ce, "prophet": prophet_ce,
            "exit": exit_ce, "draft_loss": draft_loss, "prophet_loss": prophet_loss}


@torch.no_grad()
def evaluate(target, draft, prophet, split, cfg: TrainConfig, device, autocast) -> dict:
    """Validation: CE of every head, and per drafter the two acceptance proxies over the target's
    distributions p: mean sum_x min(p, q) (the per-token acceptance of speculative sampling at
    temperature 1, Leviathan et al. 2023, 3.1) and top-1 agreement (greedy acceptance)."""
    models = [m for m in (target, draft, prophet) if m is not None]
    for m in models:
        m.eval()
    rows = np.arange(min(len(split), cfg.eval_sentences))
    rows = rows[np.argsort(split.lengths[rows])]
    sums, n = {}, 0

    def add(key, value):
        sums[key] = sums.get(key, 0.0) + float(value)

    start = 0
    while start < len(rows):
        longest = int(split.lengths[rows[start]])
        count = 1
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
            if prophet is not None:
                for s, (pl, _) in enumerate(prophet_unrolled(prophet, ids, feature.float(), cfg.prophet_unroll, 0.0), 1):
                    heads["prophet" if s == 1 else f"prophet_step{s}"] = pl
        for name, h in heads.items():
            # Unrolled step s predicts position i from a draft begun at i - s + 1; score only where that
            # start is itself a loss position, as in training.
            s = int(name[len("prophet_step"):]) if name.startswith("prophet_step") else 1
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


# ----------------------------------------------------------------------------------------------------
# Checkpoints


def weights(model: torch.nn.Module, dtype: str) -> dict:
    return {k: (v.detach().to("cpu", getattr(torch, dtype)) if v.is_floating_point() else v.detach().cpu())
            for k, v in model.state_dict().items()}


def save(path: Path, obj: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)  # a reader never sees half a checkpoint, even when the job is killed mid-write


def checkpoint(cfg: TrainConfig, stage: str, model: torch.nn.Module, state: dict, meta: dict, optimizer=None,
               model_weights: dict | None = None) -> dict:
    return {"format": CKPT_FORMAT, "stage": stage, "train_config": asdict(cfg), "model_config": asdict(model.cfg),
            "model_class": type(model).__name__, "model": model_weights or weights(model, cfg.ckpt_dtype),
            "optimizer": optimizer.state_dict() if optimizer is not None and cfg.save_optimizer else None,
            "state": dict(state), "vocab": meta["vocab"], "max_units": meta["max_units"],
            "unit_rate": meta["unit_rate"], "units_source": meta["units_source"], "code_commit": meta.get("code_commit")}


def load_checkpoint(path: Path) -> dict:
    # NOTE: torch >= 2.6 loads weights only by default; these files are our own, with plain configs inside.
    extra = {"weights_only": False} if "weights_only" in inspect.signature(torch.load).parameters else {}
    return torch.load(path, map_location="cpu", **extra)


def load_model(path: Path, device="cpu") -> tuple[torch.nn.Module, dict]:
    ckpt = load_checkpoint(path)
    if ckpt.get("format") != CKPT_FORMAT:
        raise ValueError(f"{path}: not a {CKPT_FORMAT} checkpoint")
    cls = {"TargetModel": TargetModel, "DraftModel": DraftModel, "Prophet": Prophet}[ckpt["model_class"]]
    cfg = (TargetConfig if cls is TargetModel else DecoderConfig)(**ckpt["model_config"])
    model = cls(cfg)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in ckpt["model"].items()})
    if cls is Prophet:  # frozen copies of the target's embedding and head (Prophet.from_target)
        model.embed.requires_grad_(False)
        model.lm_head.requires_grad_(False)
    return model.to(device), ckpt


def round_weights(model: torch.nn.Module, dtype: str) -> None:
    """Round weights to what a `dtype` checkpoint (and a float16 ONNX export) holds, in place."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(getattr(torch, dtype)).float())


# ----------------------------------------------------------------------------------------------------
# Training loop


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


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig, device) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    extra = {}
    if device.type == "cuda" and "fused" in inspect.signature(torch.optim.AdamW).parameters:
        extra["fused"] = True  # NOTE: torch >= 2.0 only
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), **extra)


def run_stage(stage: str, cfg: TrainConfig, meta: dict, splits: dict, models: dict, device, autocast,
              budget_s: float, log, run_start: float) -> dict:
    """Train one stage until its time budget is spent; returns its final validation metrics."""
    out = Path(cfg.out)
    target, draft = models["target"], models["draft"]
    if stage == "target":
        trained = {"target": target}
    else:
        target.eval().requires_grad_(False)
        trained = {"draft": draft, "prophet": models["prophet"]}
        if cfg.distill_exit:
            target.exit_blocks.requires_grad_(True)
            target.exit_norm.requires_grad_(True)
            trained["target"] = target
    optimizers = {k: make_optimizer(m, cfg, device) for k, m in trained.items()}
    state = {"step": 0, "elapsed_s": 0.0, "epoch": 0, "batch": 0, "tokens": 0, "done": False, "best": None}

    if cfg.resume:  # continue the stage from its checkpoints
        for k, m in trained.items():
            path = out / f"{k}.pt"
            if path.exists():
                ckpt = load_checkpoint(path)
                m.load_state_dict({n: v.float() if v.is_floating_point() else v for n, v in ckpt["model"].items()})
                if ckpt["optimizer"] is None:
                    raise RuntimeError(f"{path} was saved without optimizer state (save_optimizer=False); rerun the stage without --resume")
                optimizers[k].load_state_dict(ckpt["optimizer"])
                state = dict(ckpt["state"])
        print(f"{stage}: resumed at step {state['step']}, {state['elapsed_s']:.0f} s of {budget_s:.0f} s")

    def save_all(best_weights=None):
        for k, m in trained.items():
            w = best_weights if (k == "target" and best_weights is not None) else None
            save(out / f"{k}.pt", checkpoint(cfg, stage, m, state, meta, optimizers[k], w))

    train = splits["train"]
    lengths = train.lengths
    progress = Progress(cfg.log_every_s)
    best_weights, last_ckpt, last_eval = None, time.time(), time.time()
    stage_start = time.time() - state["elapsed_s"]
    tokens_window, window_start = 0, time.time()
    evals = {}
    while True:
        rng = np.random.default_rng(cfg.seed * 1000 + state["epoch"])
        batches = length_batches(lengths, cfg.batch_tokens, rng)
        while state["batch"] < len(batches):
            elapsed = time.time() - stage_start
            frac = elapsed / budget_s
            if frac >= 1:
                break
            lr = lr_at(frac, cfg)
            for opt in optimizers.values():
                for g in opt.param_groups:
                    g["lr"] = lr
            ids, mask = (torch.from_numpy(a).to(device, non_blocking=True) for a in collate(train, batches[state["batch"]]))
            with autocast:
                if stage == "target":
                    losses = target_losses(target, ids, mask, cfg)
                else:
                    losses = drafter_losses(target, draft, models["prophet"], ids, mask, cfg, cfg.feature_noise)
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
            state["elapsed_s"] = time.time() - stage_start
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
            shown = " ".join(f"{k} {record[k]:.3f}" for k in ("main", "exit", "draft", "prophet") if k in record)
            progress.show(f"{stage} {100 * frac:5.1f}% step {state['step']} ep {state['epoch']} | {shown} | lr {lr:.1e} | "
                          f"{tok_s:.0f} tok/s | {state['elapsed_s']:.0f}/{budget_s:.0f} s")
            if state["step"] % 50 == 0:
                log.flush()
            if time.time() - last_eval > cfg.eval_every_s:
                evals = evaluate(target, draft if stage != "target" else None, models.get("prophet") if stage != "target" else None,
                                 splits["val"], cfg, device, autocast)
                log.write(json.dumps({"stage": stage, "step": state["step"], "val": evals}) + "\n")
                if stage == "target" and cfg.keep_best and (state["best"] is None or evals["main_ce"] < state["best"]):
                    state["best"], best_weights = evals["main_ce"], weights(target, cfg.ckpt_dtype)
                last_eval = time.time()
            if time.time() - last_ckpt > cfg.ckpt_every_s:
                log.flush()
                save_all(best_weights)
                last_ckpt = time.time()
        else:
            state["epoch"] += 1
            state["batch"] = 0
            continue
        break

    evals = evaluate(target, draft if stage != "target" else None, models.get("prophet") if stage != "target" else None,
                     splits["val"], cfg, device, autocast)
    log.write(json.dumps({"stage": stage, "step": state["step"], "val": evals}) + "\n")
    if stage == "target" and cfg.keep_best:
        if state["best"] is None or evals["main_ce"] < state["best"]:
            state["best"], best_weights = evals["main_ce"], weights(target, cfg.ckpt_dtype)
        else:  # go on with (and export) the best target seen; the drafters learn from that one
            target.load_state_dict({k: v.float() for k, v in best_weights.items()})
            evals = evaluate(target, None, None, splits["val"], cfg, device, autocast)
    state["done"] = True
    save_all(best_weights)
    log.flush()
    progress.show(f"{stage} done: step {state['step']}, {state['tokens']} tokens, {state['elapsed_s']:.0f} s | val {evals}", force=True)
    return evals


def train(cfg: TrainConfig) -> None:
    run_start = time.time()
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    device = torch.device("cuda" if cfg.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if cfg.device == "auto" else cfg.device))
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        autocast = torch.autocast("cuda", dtype=torch.bfloat16)
    else:
        autocast = nullcontext()  # NOTE: CPU bf16 autocast is slower than float32 on torch 1.13
    meta, splits = load_pack(Path(cfg.pack))
    commit = cfg.code_commit or train_code_commit()  # given by the GPU scripts, or asked of git
    meta["code_commit"] = commit if commit != "unknown" else meta.get("code_commit", "unknown")
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=1) + "\n")

    target, draft = build_models(cfg, meta)
    add_residual_dropout(target, cfg.dropout)
    add_residual_dropout(draft, cfg.dropout)
    target.to(device)
    draft.to(device)
    n_params = lambda m: sum(p.numel() for p in m.parameters())
    print(f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()} | vocab {meta['vocab']['size']}, "
          f"context {meta['context']}, train rows {len(splits['train'])} ({meta['splits']['train']['tokens']} tokens), "
          f"units {meta['units_source']} | target {n_params(target) / 1e6:.2f} M, draft {n_params(draft) / 1e6:.2f} M")

    stages = [s.strip() for s in cfg.stages.split(",") if s.strip()]
    usable = cfg.budget_s - cfg.reserve_s
    evals = {}
    evals_path = out / "eval.json"
    if cfg.resume and evals_path.exists():
        evals = json.loads(evals_path.read_text())
    with open(out / "log.jsonl", "a") as log:
        for stage in ("target", "drafters"):
            done_path = out / ("target.pt" if stage == "target" else "prophet.pt")
            if stage not in stages:
                continue
            if cfg.resume and done_path.exists() and load_checkpoint(done_path)["state"].get("done"):
                print(f"{stage}: already done in {out}, skipped")
                continue
            models = {"target": target, "draft": draft}
            if stage == "drafters":  # the drafters learn from the target exactly as it was saved
                if cfg.target_from and not (out / "target.pt").exists():
                    shutil.copy(cfg.target_from, out / "target.pt")
                if not (out / "target.pt").exists():
                    raise FileNotFoundError(f"{out}/target.pt: the drafters stage needs a trained target; run the target stage first")
                target, _ = load_model(out / "target.pt", device)
                models["target"] = target
                models["prophet"] = Prophet.from_target(target, n_layers=cfg.prophet_n_layers, n_heads=cfg.prophet_n_heads or None,
                                                        d_model=cfg.prophet_d_model or None).to(device)
                if cfg.init_from:
                    init_drafters(Path(cfg.init_from), {"draft": draft, "prophet": models["prophet"]})
                print(f"prophet_unrolled vs cached drafting: max abs diff "
                      f"{check_prophet_unrolled(models['prophet'], cfg.prophet_unroll):.1e}")
            if stage == "target" and cfg.target_init:
                target.load_state_dict({k: v.float() for k, v in load_checkpoint(Path(cfg.target_init))["model"].items()})
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


def added_blocks(saved: dict, own: dict) -> list[int] | None:
    """Indices of the blocks `own` has beyond `saved`'s, when that is the only difference (every saved
    tensor fits, every missing one belongs to an added block); None otherwise."""
    if any(k not in own or own[k].shape != v.shape for k, v in saved.items()):
        return None
    saved_blocks = {int(k.split(".")[1]) for k in saved if k.startswith("blocks.")}
    added = set()
    for k in own:
        if k in saved:
            continue
        parts = k.split(".")
        if parts[0] != "blocks" or int(parts[1]) in saved_blocks:
            return None
        added.add(int(parts[1]))
    return sorted(added)


def init_drafters(folder: Path, models: dict) -> None:
    """Fine-tuning: load each drafter's weights from folder/<name>.pt when every tensor's shape fits
    (except frozen ones, which keep the current target's).
    A drafter with more blocks than the saved one grows from it: the saved weights load, and each added
    block's residual outputs (attention wo, MLP w_down) start at zero, so the grown drafter begins as
    exactly the saved one and training decides what the new blocks add."""
    for name, model in models.items():
        path = folder / f"{name}.pt"
        if not path.exists():
            print(f"{name}: no {path}, trained from scratch")
            continue
        state = {k: v.float() if v.is_floating_point() else v for k, v in load_checkpoint(path)["model"].items()}
        own = model.state_dict()
        # Frozen tensors (the prophet's embedding and LM head, copies of the target's) stay the current
        # target's: a drafter saved beside another target carries that target's copies.
        frozen = {k for k, p in model.named_parameters() if not p.requires_grad}
        state = {k: (own[k] if k in frozen and k in own else v) for k, v in state.items()}
        added = added_blocks(state, own)
        if added is None:
            print(f"{name}: {path} has other shapes, trained from scratch")
            continue
        model.load_state_dict({k: v.to(own[k].device) for k, v in state.items()}, strict=not added)
        with torch.no_grad():
            for i in added:
                model.blocks[i].attn.wo.weight.zero_()
                model.blocks[i].mlp.w_down.weight.zero_()
        print(f"{name}: initialised from {path}" + (f", blocks {added} added (zero residual outputs)" if added else ""))


def train_code_commit() -> str:
    run = lambda *a: subprocess.run(["git", *a], cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()
    paths = ["--", "native-models/train_t2s.py", "native-models/spear_t2s"]
    try:
        commit = run("log", "-1", "--format=%H", *paths)
        if not commit:  # a copied tree without history (a lent GPU machine): say nothing rather than guess
            return "unknown"
        return commit + ("-dirty" if run("status", "--porcelain", *paths) else "")
    except OSError:
        return "unknown"


# ----------------------------------------------------------------------------------------------------
# Export


def export_voice(run_dir: Path, out_dir: Path, parity_dir: Path, name: str, default_strategy: str,
                 default_gamma: int, default_temperature: float) -> dict:
    """target.pt + draft.pt + prophet.pt (+ eval.json) → the six graphs and manifest.json in out_dir
    (float16 weights, exact: the PyTorch models are rounded first, so parity is exact), proved by
    export_model's invariants and ONNX Runtime parity; then the drafters' int8 graphs beside them."""
    from spear_t2s.export import export_model
    from spear_t2s.chain import chain_voice
    from spear_t2s.quantize import quantize_voice
    target, t_ckpt = load_model(run_dir / "target.pt")
    draft, d_ckpt = load_model(run_dir / "draft.pt")
    prophet, p_ckpt = load_model(run_dir / "prophet.pt")
    for m in (target, draft, prophet):
        round_weights(m, "float16")
    evals_path = run_dir / "eval.json"
    evals = json.loads(evals_path.read_text()) if evals_path.exists() else {}
    voice = {"max_units": {"per_phoneme": t_ckpt["max_units"]["per_phoneme"], "base": t_ckpt["max_units"]["base"]},
             "unit_rate": t_ckpt["unit_rate"], "default_strategy": default_strategy, "default_gamma": default_gamma,
             "default_temperature": default_temperature}
    training = {"kind": "train_t2s", "config": t_ckpt["train_config"], "units_source": t_ckpt["units_source"],
                "train_code_commit": t_ckpt["code_commit"],
                # The drafters may come from a later run than the target (self-distillation): their own
                # configs and code commits, and what data they learned from.
                "drafters": {k: {"config": c["train_config"], "code_commit": c["code_commit"], "units_source": c["units_source"]}
                             for k, c in (("draft", d_ckpt), ("prophet", p_ckpt))} | (
                                 {"exit_head": t_ckpt["exit_head"]} if t_ckpt.get("exit_head") else {}),
                "stages": {k: c["state"] for k, c in (("target", t_ckpt), ("draft", d_ckpt), ("prophet", p_ckpt))},
                # Flat, as `spear eval` reads it: the last stage's numbers cover every head.
                "validation": evals.get("drafters") or evals.get("target") or {}, "validation_by_stage": evals}
    export_model(target, draft, prophet, out_dir, name=name, vocab=t_ckpt["vocab"], stop_token=SPECIAL["eos"],
                 training=training, parity_dir=parity_dir, weights_dtype="float16", extra={"voice": voice})
    # The drafters ship with int8 weights: a drafter call here is bound by reading its weights, and a
    # drafter's precision never changes what is emitted (spear_t2s/quantize.py, docs/results.md).
    quantize_voice(out_dir)
    # One-row drafting (greedy, or sampled with temperature alone) in one session run per step
    # (spear_t2s/chain.py): the same drafts, less fixed cost.
    chain_voice(out_dir)
    manifest = json.loads((out_dir / "manifest.json").read_text())
    sizes = {p.name: p.stat().st_size for p in sorted(out_dir.glob("*.onnx"))}
    print(f"{out_dir}: " + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sizes.items()) + f"; total {sum(sizes.values()) / 1e6:.1f} MB")
    return manifest


def validate_run(run_dir: Path, pack: Path) -> dict:
    """Validation of a run's three checkpoints on `pack`'s val split, written into run_dir/eval.json as
    "drafters" (what export puts into the manifest and `spear eval` prints). Self-distilled drafters are
    trained and validated on the target's greedy readings; this measures every head against the teacher's
    units instead, as the target was. The readings' numbers move to "drafters_on_greedy_val"."""
    target, t_ckpt = load_model(run_dir / "target.pt")
    draft, _ = load_model(run_dir / "draft.pt")
    prophet, p_ckpt = load_model(run_dir / "prophet.pt")
    cfg = TrainConfig(**{k: v for k, v in t_ckpt["train_config"].items() if k in {f.name for f in fields(TrainConfig)}})
    cfg.prophet_unroll = p_ckpt["train_config"].get("prophet_unroll", cfg.prophet_unroll)
    torch.set_num_threads(2)
    _, splits = load_pack(pack)
    result = evaluate(target, draft, prophet, splits["val"], cfg, torch.device("cpu"), nullcontext())
    evals_path = run_dir / "eval.json"
    evals = json.loads(evals_path.read_text()) if evals_path.exists() else {}
    if "drafters" in evals and evals["drafters"].get("tokens") != result["tokens"]:
        evals["drafters_on_greedy_val"] = evals["drafters"]
    evals["drafters"] = result
    evals_path.write_text(json.dumps(evals, indent=1) + "\n")
    print(json.dumps(result))
    return result


# ----------------------------------------------------------------------------------------------------
# Command line


def config_from_args(args) -> TrainConfig:
    cfg = TrainConfig(**PRESETS[args.preset])
    for f in fields(TrainConfig):
        value = getattr(args, f.name, None)
        if value is not None:
            setattr(cfg, f.name, value)
    return cfg


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("pack", help="corpus (+ units) → the training pack")
    p.add_argument("--corpus", type=Path, default=REPO_ROOT / "native-models/work/corpus")
    p.add_argument("--units", type=Path, default=None, help="units/{train,val,test}.jsonl; leave out with --fake-units")
    p.add_argument("--fake-units", action="store_true", help="derive stand-in units from the phonemes")
    p.add_argument("--n-units", type=int, default=512, help="K, the unit vocabulary")
    p.add_argument("--unit-rate", type=float, default=25.0, help="units per second of audio")
    p.add_argument("--out", type=Path, default=REPO_ROOT / "native-models/work/pack")

    t = sub.add_parser("train", help="train the target, then the drafters")
    t.add_argument("--preset", choices=sorted(PRESETS), default="cpu")
    for f in fields(TrainConfig):  # every config field is a flag: --lr 3e-4, --keep_best (true), --resume
        if f.type is bool:
            t.add_argument(f"--{f.name}", type=lambda s: s.lower() in ("1", "true", "yes"), nargs="?", const=True, default=None)
        else:
            t.add_argument(f"--{f.name}", type=f.type, default=None)

    e = sub.add_parser("export", help="checkpoints → ONNX voice (six graphs + manifest), parity-checked")
    e.add_argument("--run", type=Path, required=True, help="folder with target.pt, draft.pt, prophet.pt (+ eval.json)")
    e.add_argument("--out", type=Path, default=REPO_ROOT / "native-models/voice")
    e.add_argument("--parity", type=Path, default=REPO_ROOT / "native-models/work/voice-parity")
    e.add_argument("--name", default="spear-voice")
    e.add_argument("--default-strategy", default="prophet")
    e.add_argument("--default-gamma", type=int, default=4)
    e.add_argument("--default-temperature", type=float, default=0.8)
    v = sub.add_parser("validate", help="a run's heads on a pack's val split (the teacher's units), into its eval.json")
    v.add_argument("--run", type=Path, required=True, help="folder with target.pt, draft.pt, prophet.pt (+ eval.json)")
    v.add_argument("--pack", type=Path, default=REPO_ROOT / "native-models/gpu/pack")
    args = parser.parse_args()

    if args.command == "validate":
        validate_run(args.run, args.pack)
    elif args.command == "pack":
        if not args.fake_units and args.units is None:
            parser.error("pack needs --units DIR or --fake-units")
        meta = build_pack(args.out, args.corpus, None if args.fake_units else args.units, args.n_units, args.unit_rate)
        meta["code_commit"] = train_code_commit()
        (args.out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
        print(json.dumps({k: v for k, v in meta.items() if k != "phoneme_inventory"}, indent=1))
    elif args.command == "train":
        train(config_from_args(args))
    else:
        export_voice(args.run, args.out, args.parity, args.name, args.default_strategy, args.default_gamma,
                     args.default_temperature)


if __name__ == "__main__":
    main()
