"""Train an early-exit head with recycling (t2s/recycle.py) for an exported voice, the target frozen.

    cd native-models && python3 -m spear_voice.train_t2s.recycle_exit --data work/medusa-data --voice voice \
        --cache work/recycle-features --out work/recycle-run [--no-recycle] [--steps 1500]
    python3 -m spear_voice.t2s.recycle voice --ckpt work/recycle-run/exit_head.pt

The target is rebuilt in PyTorch from the voice's own float graphs (`full`'s source, `exit_head`'s source;
`target_from_voice`), so the shipped weights are what is frozen and what the new head starts from. The data
are the target's greedy readings (tools/medusa_data.mts); their tokens alone are read: the trunk's output at
the exit layer and the final feature h of every position are computed once by the frozen target and cached
under --cache. The exit head (its block, its norm; the LM head stays the target's) and, with recycling, W
learn self-distillation on the reading's units: (1 - distill) CE on the target's greedy token + distill
KL(p || q), p the target's distribution at the same position (train_t2s/losses.py's exit loss). With
recycling each position reads h of its crop's start, random crops of 1..max_depth tokens (`crop_sources`);
without it the same steps, data and batches train the head alone, the fair control.

Reported on the val split: the exit head's top-1 agreement with the target at depth 1..max_depth (steps
of exactly d tokens from the `sep`, t2s/recycle.fixed_sources), before and after.
"""

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

from ..t2s.model import TargetConfig, TargetModel, default_positions
from ..t2s.recycle import ExitRecycle, crop_sources, fixed_sources, recycled_features
from ..training import config_from_args, lr_at, save_checkpoint
from .losses import kl


@dataclass
class RecycleExitConfig:
    data: str = "native-models/work/medusa-data"  # tools/medusa_data.mts output (its tokens are read)
    voice: str = "native-models/voice"  # the frozen target and the exit head to start from
    cache: str = "native-models/work/recycle-features"  # trunk outputs and final features, computed once
    out: str = "native-models/work/recycle-run"  # exit_head.pt and log.jsonl
    recycle: bool = True  # False: the control, the same training without W
    max_depth: int = 6  # crops of 1..max_depth tokens; val reports depths 1..max_depth
    train_sentences: int = 3000  # the first this many train readings (memory: 2 × positions × D floats)
    steps: int = 1500  # optimizer steps (about 8 epochs of 3,000 readings at batch 16)
    batch: int = 16  # readings per step
    lr: float = 1e-4  # AdamW peak, the exit head's block and norm: it starts trained
    recycle_lr: float = 1e-4  # AdamW peak of W; at 1e-3 its val top-1 fell 0.01–0.02 below the control's by step 500
    min_lr: float = 1e-5  # end of the cosine
    warmup: float = 0.03  # share of the steps warming up
    distill: float = 0.5  # weight of KL(p || q) against the CE on the target's token (the target stage's exit_distill)
    eval_every: int = 200  # steps between val evaluations
    seed: int = 0
    threads: int = 1  # torch intra-op threads


# ----------------------------------------------------------------------------------------------------
# The voice's weights back in PyTorch


def _weights(path: Path) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """The RMSNorm weights (D,) and the constant MatMul weights (K, N), each in node order, and the embedding
    table where the graph gathers one (else None); through the float16 storage's Casts (export._store_float16).
    NOTE: by position, not by name: the exporter shares one initializer between equal weights, so a name may be
    missing. A norm still at its initial ones is folded away altogether; such a graph is refused (the counts)."""
    model = onnx.load(str(path))
    inits = {i.name: numpy_helper.to_array(i).astype(np.float32) for i in model.graph.initializer
             if i.data_type in (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16)}
    producers = {out: n for n in model.graph.node for out in n.output}

    def constant(name: str):
        cast = producers.get(name)
        if cast is not None and cast.op_type == "Cast":
            name = cast.input[0]
        return inits.get(name)

    norms, matmuls, embed = [], [], None
    for node in model.graph.node:
        if node.op_type == "Gather" and embed is None:
            embed = constant(node.input[0])
        elif node.op_type == "MatMul" and (w := constant(node.input[1])) is not None and w.ndim == 2:
            matmuls.append(w)
        elif node.op_type == "Mul" and any((w := constant(x)) is not None and w.ndim == 1 and w.size > 1 for x in node.input):
            norms.append(w)
    return norms, matmuls, embed


def _load_block(block, norms: list[np.ndarray], matmuls: list[np.ndarray]) -> None:
    """A Block's weights: attn_norm and mlp_norm, then wq, wk, wv, wo, w_gate, w_up, w_down in the order the
    exporter traced them (each MatMul weight is the Linear's weight transposed)."""
    t = lambda a: torch.from_numpy(a.copy())  # noqa: E731
    block.attn_norm.weight.data, block.mlp_norm.weight.data = t(norms[0]), t(norms[1])
    linears = [block.attn.wq, block.attn.wk, block.attn.wv, block.attn.wo, block.mlp.w_gate, block.mlp.w_up, block.mlp.w_down]
    for linear, w in zip(linears, matmuls):
        assert tuple(linear.weight.shape) == w.T.shape, f"{tuple(linear.weight.shape)} vs {w.T.shape}"
        linear.weight.data = t(w.T)


def target_from_voice(voice: Path) -> TargetModel:
    """The voice's target and exit head as a TargetModel, from the float graphs its manifest names
    (`full` and `exit_head`, or their sources)."""
    manifest = json.loads((voice / "manifest.json").read_text())
    graphs = manifest["graphs"]
    cfg = TargetConfig(**{k: v for k, v in manifest["training"]["target"].items() if k in TargetConfig.__dataclass_fields__})
    target = TargetModel(cfg)
    norms, matmuls, embed = _weights(voice / graphs["full"].get("source", graphs["full"])["file"])
    assert len(matmuls) == 7 * cfg.n_layers + 1 and len(norms) == 2 * cfg.n_layers + 1, f"full: {len(matmuls)} MatMuls, {len(norms)} norms"
    target.embed.weight.data = torch.from_numpy(embed.copy())
    for i, block in enumerate(target.blocks):
        _load_block(block, norms[2 * i: 2 * i + 2], matmuls[7 * i: 7 * i + 7])
    target.norm.weight.data = torch.from_numpy(norms[-1].copy())
    target.lm_head.weight.data = torch.from_numpy(matmuls[-1].T.copy())
    norms, matmuls, _ = _weights(voice / graphs["exit_head"].get("source", graphs["exit_head"])["file"])
    assert len(matmuls) == 7 * cfg.exit_blocks + 1 and len(norms) == 2 * cfg.exit_blocks + 1, f"exit_head: {len(matmuls)} MatMuls, {len(norms)} norms"
    for i, block in enumerate(target.exit_blocks):
        _load_block(block, norms[2 * i: 2 * i + 2], matmuls[7 * i: 7 * i + 7])
    target.exit_norm.weight.data = torch.from_numpy(norms[-1].copy())
    return target.eval()


# ----------------------------------------------------------------------------------------------------
# Data


def load_readings(data: Path, split: str, limit: int | None = None) -> list[dict]:
    """[{tokens (T,) int64, prompt: promptLength}] of the split, the first `limit`."""
    meta = json.loads((data / "meta.json").read_text())
    tokens = np.fromfile(data / f"{split}.tokens.i32", dtype="<i4")
    rows = meta[split][:limit]
    return [{"tokens": torch.from_numpy(tokens[s["tokenOffset"]: s["tokenOffset"] + s["length"]].astype(np.int64)),
             "prompt": s["promptLength"]} for s in rows]


@torch.no_grad()
def cached_features(target: TargetModel, readings: list[dict], path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(offsets (N+1,), hidden (positions, D), feature (positions, D)): the trunk's output and the final
    feature of every position of every reading, written to `path` once and memory-mapped after."""
    D = target.cfg.d_model
    lengths = np.array([len(r["tokens"]) for r in readings])
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    if not (path / "offsets.npy").exists() or not np.array_equal(np.load(path / "offsets.npy"), offsets):
        path.mkdir(parents=True, exist_ok=True)
        hidden = np.lib.format.open_memmap(path / "hidden.npy", mode="w+", dtype=np.float32, shape=(offsets[-1], D))
        feature = np.lib.format.open_memmap(path / "feature.npy", mode="w+", dtype=np.float32, shape=(offsets[-1], D))
        for i, r in enumerate(readings):
            ids = r["tokens"][None]  # (1, T)
            positions, past_len = default_positions(ids)
            h, _ = target.trunk(ids, positions, past_len)  # (1, T, D)
            _, f, _ = target.rest(h, positions, past_len)  # (1, T, D)
            hidden[offsets[i]: offsets[i + 1]] = h[0].numpy()
            feature[offsets[i]: offsets[i + 1]] = f[0].numpy()
        hidden.flush()
        feature.flush()
        np.save(path / "offsets.npy", offsets)
    return offsets, np.load(path / "hidden.npy", mmap_mode="r"), np.load(path / "feature.npy", mmap_mode="r")


def batch_of(index: list[int], readings, offsets, hidden, feature):
    """Right-padded (B, T) tokens, (B, T, D) trunk outputs and features, (B, T) loss mask: positions
    promptLength - 1 .. length - 2, whose next token is a unit or the stop token."""
    T = max(len(readings[i]["tokens"]) for i in index)
    D = hidden.shape[1]
    B = len(index)
    ids = torch.zeros(B, T, dtype=torch.long)
    h = torch.zeros(B, T, D)
    f = torch.zeros(B, T, D)
    mask = torch.zeros(B, T, dtype=torch.bool)
    for b, i in enumerate(index):
        n = len(readings[i]["tokens"])
        ids[b, :n] = readings[i]["tokens"]
        h[b, :n] = torch.from_numpy(np.array(hidden[offsets[i]: offsets[i + 1]]))
        f[b, :n] = torch.from_numpy(np.array(feature[offsets[i]: offsets[i + 1]]))
        mask[b, readings[i]["prompt"] - 1: n - 1] = True
    return ids, h, f, mask


# ----------------------------------------------------------------------------------------------------
# Training


def exit_logits(target: TargetModel, recycle: ExitRecycle | None, h, f, src):
    positions, past_len = default_positions(h)
    exit_in = h if recycle is None else recycle(h, recycled_features(f, src))
    return target.exit_head(exit_in, positions, past_len)[0]  # (B, T, V)


@torch.no_grad()
def evaluate(target, recycle, readings, offsets, hidden, feature, max_depth: int, chunk: int = 16) -> dict:
    """Top-1 agreement with the target at depth 1..max_depth (steps of d tokens from the `sep`; depth d's
    positions are those d - 1 past a step start c + 1), and the exit CE without a recycled feature."""
    agree, count = torch.zeros(max_depth), torch.zeros(max_depth)
    for start in range(0, len(readings), chunk):
        index = list(range(start, min(start + chunk, len(readings))))
        ids, h, f, mask = batch_of(index, readings, offsets, hidden, feature)
        greedy = target.lm_head(f).argmax(-1)  # (B, T) the target's token after each position
        starts = torch.tensor([readings[i]["prompt"] - 2 for i in index])  # c: the step starts at the sep
        i = torch.arange(ids.shape[1])[None, :]
        for d in range(1, max_depth + 1):
            src = fixed_sources(starts, ids.shape[1], d) if recycle is not None else None
            # With steps of d tokens every depth 1..d occurs; score depth d: positions c + d.
            at_depth = mask & ((i - starts[:, None]) >= 1) & (((i - starts[:, None] - 1) % d) == d - 1)
            q = exit_logits(target, recycle, h, f, src).argmax(-1)
            agree[d - 1] += (q == greedy)[at_depth].sum()
            count[d - 1] += at_depth.sum()
    return {"top1_d": (agree / count.clamp(min=1)).tolist()}


def train(cfg: RecycleExitConfig) -> dict:
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    target = target_from_voice(Path(cfg.voice))
    for p in target.parameters():
        p.requires_grad_(False)
    head = [p for block in target.exit_blocks for p in block.parameters()] + list(target.exit_norm.parameters())
    for p in head:
        p.requires_grad_(True)
    recycle = ExitRecycle(target.cfg) if cfg.recycle else None
    groups = [{"params": head, "peak": cfg.lr}]
    if recycle is not None:
        groups.append({"params": list(recycle.parameters()), "peak": cfg.recycle_lr})
    optimizer = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=0.0)

    data, cache = Path(cfg.data), Path(cfg.cache)
    train_r = load_readings(data, "train", cfg.train_sentences)
    val_r = load_readings(data, "val")
    train_f = cached_features(target, train_r, cache / "train")
    val_f = cached_features(target, val_r, cache / "val")
    log = open(out / "log.jsonl", "w")
    first = evaluate(target, recycle, val_r, *val_f, cfg.max_depth)
    log.write(json.dumps({"step": 0, "val": first}) + "\n")
    print(f"step 0: val top-1 by depth {[round(v, 3) for v in first['top1_d']]}", flush=True)

    gen = torch.Generator().manual_seed(cfg.seed)  # the same batches and crops with and without recycling
    t0 = time.time()
    for step in range(1, cfg.steps + 1):
        for group in optimizer.param_groups:
            group["lr"] = lr_at((step - 1) / cfg.steps, lr=group["peak"], min_lr=cfg.min_lr, warmup=cfg.warmup)
        index = torch.randint(0, len(train_r), (cfg.batch,), generator=gen).tolist()
        ids, h, f, mask = batch_of(index, train_r, *train_f)
        src = crop_sources(ids.shape[0], ids.shape[1], cfg.max_depth, generator=gen)  # (B, T)
        q = exit_logits(target, recycle, h, f, src)[mask].float()  # (N, V)
        p = target.lm_head(f)[mask].float()  # (N, V)
        y = ids[:, 1:][mask[:, :-1]]  # (N,) the target's greedy tokens
        ce = F.cross_entropy(q, y)
        loss = (1 - cfg.distill) * ce + cfg.distill * kl(p, q)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % cfg.eval_every == 0 or step == cfg.steps:
            val = evaluate(target, recycle, val_r, *val_f, cfg.max_depth)
            record = {"step": step, "elapsed_s": round(time.time() - t0, 1), "train_ce": float(ce), "val": val}
            log.write(json.dumps(record) + "\n")
            log.flush()
            print(f"step {step} ({time.time() - t0:.0f} s): train CE {float(ce):.3f}, "
                  f"val top-1 by depth {[round(v, 3) for v in val['top1_d']]}", flush=True)
    log.close()
    summary = {"steps": cfg.steps, "val_before": first, "val_after": val, "elapsed_s": round(time.time() - t0, 1)}
    save_checkpoint(out / "exit_head.pt", {
        "train_config": asdict(cfg), "target_config": asdict(target.cfg), "summary": summary,
        "exit_blocks": target.exit_blocks.state_dict(), "exit_norm": target.exit_norm.state_dict(),
        "recycle": None if recycle is None else recycle.state_dict(),
    })
    return summary


def main(argv: list[str] | None = None) -> None:
    cfg = config_from_args(RecycleExitConfig, __doc__, argv)
    print(json.dumps(train(cfg)))


if __name__ == "__main__":
    main()
