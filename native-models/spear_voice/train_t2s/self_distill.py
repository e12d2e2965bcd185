"""Self-distillation data: the target's own greedy readings of the training sentences, as a pack.

    python3 -m spear_voice.train_t2s.self_distill --target RUN/target.pt --pack native-models/work/pack \
        --out native-models/work/pack-greedy [--splits train,val] [--batch 48] [--threads 2]

Why: greedy speculative decoding accepts a drafted token exactly when it equals the target's argmax in
the context the target itself produced. Drafters trained on the data (teacher audio's units) learn the
data's distribution in the data's contexts; trained on these sequences they learn the target's argmax
in the target's own contexts, which is what acceptance measures (on-policy distillation: DistillSpec,
Zhou et al. 2024; Medusa-2's self-distillation, Cai et al. 2024). `train_t2s train --stages drafters
--target_from RUN/target.pt --pack <this pack>` then trains the drafters on it; the loss still mixes
in the target's full distribution (KL), which keeps sampled acceptance.

The output is an ordinary pack (t2s/data.py): the same sentences, prompts and vocabulary, each row's
units replaced by the target's greedy continuation up to its eos or the stop rule's cap (then an eos is
appended, as the engine stops there). Resumable: finished chunks are kept in OUT/parts/.
"""

import argparse
import hashlib
import json
import math
import os
import shutil
import time
from pathlib import Path

import numpy as np
import torch

from ..t2s.data import SPECIAL, load_pack
from ..t2s.model import TargetModel, apply_rotary, rotary
from .checkpoint import load_model
from .train import pick_device


@torch.no_grad()
def greedy_batch(target: TargetModel, prompts: list[np.ndarray], caps: list[int]) -> list[list[int]]:
    """Greedy continuations of `prompts` (bos phonemes sep) under the target, each up to its eos
    (excluded) or `caps[b]` new tokens. One preallocated cache per layer, written in place at each row's
    own position (no concatenation per step), so the cost per step does not grow with the batch's past."""
    cfg, device = target.cfg, next(target.parameters()).device
    B = len(prompts)
    lens = torch.tensor([len(p) for p in prompts], device=device)
    L = int(lens.max())
    cap_total = L + max(caps) + 1
    H, Dh, D = cfg.n_heads, cfg.head_dim, cfg.d_model
    keys = [torch.zeros(B, H, cap_total, Dh, device=device) for _ in target.blocks]
    values = [torch.zeros(B, H, cap_total, Dh, device=device) for _ in target.blocks]
    ids = torch.zeros(B, L, dtype=torch.long, device=device)
    for b, p in enumerate(prompts):
        ids[b, :len(p)] = torch.from_numpy(p.astype(np.int64))
    positions = torch.arange(L, device=device)[None].expand(B, L)
    key_pos = torch.arange(cap_total, device=device)  # (S,)

    def step(x_ids, pos, n_valid_after):  # x_ids (B, T), pos (B, T) → logits of the last column (B, V)
        T = x_ids.shape[1]
        x = target.embed(x_ids)
        cos, sin = rotary(pos, Dh, cfg.rope_base)
        S = int(n_valid_after.max())
        # key j visible to query t of row b: j <= pos[b, t] (all earlier positions of that row are real)
        mask = key_pos[None, None, :S] <= pos[:, :, None]  # (B, T, S)
        for block, K, Vv in zip(target.blocks, keys, values):
            a = block.attn
            h = block.attn_norm(x)
            q = apply_rotary(a.wq(h).view(B, T, H, Dh).transpose(1, 2), cos, sin)
            k = apply_rotary(a.wk(h).view(B, T, H, Dh).transpose(1, 2), cos, sin)
            v = a.wv(h).view(B, T, H, Dh).transpose(1, 2)
            index = pos[:, None, :, None].expand(B, H, T, Dh)
            K.scatter_(2, index, k)
            Vv.scatter_(2, index, v)
            scores = (q @ K[:, :, :S].transpose(-2, -1)) * (1.0 / math.sqrt(Dh))
            scores = scores.masked_fill(~mask[:, None], float("-inf"))
            y = (scores.softmax(-1) @ Vv[:, :, :S]).transpose(1, 2).reshape(B, T, D)
            x = x + a.wo(y)
            x = x + block.mlp(block.mlp_norm(x))
        return target.lm_head(target.norm(x[:, -1] if T == 1 else x))

    logits = step(ids, positions, lens)  # prefill; padding past a row's prompt is overwritten later
    nxt = logits[torch.arange(B, device=device), lens - 1].argmax(-1)  # (B,)
    done = torch.zeros(B, dtype=torch.bool, device=device)
    pos = lens.clone()  # position of the token being fed
    caps_t = torch.tensor(caps, device=device)
    n_new = torch.zeros(B, dtype=torch.long, device=device)
    emitted = []  # per step: (B,) the token each row emitted, -1 where it emitted none
    # Tokens stay on the device until the end: one host sync per step (done.all), not one per row.
    while True:
        n_new += (~done).long()
        finished_now = (nxt == SPECIAL["eos"]) & ~done
        emitted.append(torch.where(~done & ~finished_now, nxt, torch.full_like(nxt, -1)))
        done |= finished_now | (n_new >= caps_t)
        if bool(done.all()):
            table = torch.stack(emitted, 1).cpu().numpy()  # (B, steps); a row's tokens are contiguous
            return [[int(t) for t in row[row >= 0]] for row in table]
        feed = torch.where(done, torch.zeros_like(nxt), nxt)  # finished rows keep stepping on pad, unread
        nxt = step(feed[:, None], pos[:, None], pos + 1).argmax(-1)
        pos = pos + (~done).long()


def self_distill(target_path: Path, pack: Path, out: Path, split_names: str = "train,val", batch_size: int = 48, chunk: int = 480,
                 limit: int = 0, threads: int = 2, device: str = "auto", deadline: float | None = None) -> dict:
    """The target's greedy readings of `pack`'s `split_names` as a pack in `out` (the other splits copied as they
    are); `limit` > 0 reads only a split's first rows. Past `deadline` (a time.time() value) a split stops at
    the next chunk boundary and keeps the rows read so far (at least its first chunk). Resumable: finished
    chunks stay in out/parts/. Returns the new pack's meta.json."""
    torch.set_num_threads(threads)
    target, _ = load_model(target_path, pick_device(device))
    target.eval()
    meta, splits = load_pack(pack)
    unit_lo = meta["vocab"]["units"]["offset"]
    unit_hi = unit_lo + meta["vocab"]["units"]["count"]
    rule = meta["max_units"]
    target_sha = hashlib.sha256(target_path.read_bytes()).hexdigest()
    parts = out / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    stats = {}
    for name in split_names.split(","):
        split = splits[name]
        n_rows = len(split) if not limit else min(limit, len(split))
        seqs: list[np.ndarray] = []
        t0, made = time.time(), 0
        for c0 in range(0, n_rows, chunk):
            if deadline is not None and c0 > 0 and time.time() > deadline:
                print(f"\n{name}: the time is up, {c0} of {n_rows} rows read")
                n_rows = c0
                break
            c1 = min(n_rows, c0 + chunk)
            part = parts / f"{name}-{c0:06d}-{c1:06d}.npz"
            if part.exists():
                z = np.load(part, allow_pickle=False)
                seqs += np.split(z["tokens"], z["cuts"])
                continue
            rows = np.arange(c0, c1)
            rows = rows[np.argsort(split.sep[rows], kind="stable")]  # similar prompt lengths per batch
            got = {}
            for b0 in range(0, len(rows), batch_size):
                batch = rows[b0:b0 + batch_size]
                prompts = [split.row(i)[:split.sep[i] + 1] for i in batch]
                caps = [math.ceil(rule["per_phoneme"] * (split.sep[i] - 1) + rule["base"]) for i in batch]
                for i, p, new in zip(batch, prompts, greedy_batch(target, prompts, caps)):
                    bad = [t for t in new if not unit_lo <= t < unit_hi]
                    if bad:  # never seen in practice; a non-unit argmax ends the row like the cap does
                        new = new[:new.index(bad[0])]
                    got[int(i)] = np.concatenate([p, np.asarray(new, np.int16), [SPECIAL["eos"]]]).astype(np.int16)
                made += len(batch)
                rate = made / (time.time() - t0)
                print(f"\r{name}: {c0 + b0 + len(batch)}/{n_rows} rows, {rate:.1f} rows/s", end="", flush=True)
            ordered = [got[int(i)] for i in range(c0, c1)]
            cuts = np.cumsum([len(s) for s in ordered])[:-1]
            tmp = part.with_suffix(".tmp.npz")
            np.savez(tmp, tokens=np.concatenate(ordered), cuts=cuts)
            os.replace(tmp, part)
            seqs += ordered
        print()
        offsets = np.zeros(len(seqs) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(s) for s in seqs])
        np.save(out / f"{name}.tokens.npy", np.concatenate(seqs))
        np.save(out / f"{name}.offsets.npy", offsets)
        np.save(out / f"{name}.sep.npy", split.sep[:n_rows])
        ids = (pack / f"{name}.ids.txt").read_text().splitlines()[:n_rows]
        (out / f"{name}.ids.txt").write_text("".join(i + "\n" for i in ids))
        data_units = np.diff(split.offsets[:n_rows + 1]) - split.sep[:n_rows] - 2
        greedy_units = np.diff(offsets) - split.sep[:n_rows] - 2
        stats[name] = {"sentences": n_rows, "tokens": int(offsets[-1]), "unit_tokens": int(greedy_units.sum() + n_rows),
                       "greedy_over_data_units": round(float(greedy_units.sum() / max(1, data_units.sum())), 4),
                       "hit_cap": int(sum(1 for s, i in zip(seqs, range(n_rows))
                                          if len(s) - split.sep[i] - 2 >= math.ceil(rule["per_phoneme"] * (split.sep[i] - 1) + rule["base"])))}
        print(name, stats[name])
    for name in ("train", "val", "test"):  # splits not regenerated keep the data's rows
        if name not in split_names.split(","):
            for suffix in ("tokens.npy", "offsets.npy", "sep.npy", "ids.txt"):
                shutil.copy(pack / f"{name}.{suffix}", out / f"{name}.{suffix}")
    meta = dict(meta)
    meta["units_source"] = f"greedy readings of {target_path.name} (sha256 {target_sha[:16]}) over {meta['units_source']}"
    meta["self_distill"] = {"target_sha256": target_sha, "splits": stats}
    for name, s in stats.items():
        meta["splits"][name] = {**meta["splits"][name], "sentences": s["sentences"], "tokens": s["tokens"], "unit_tokens": s["unit_tokens"]}
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", type=Path, required=True, help="target.pt of a train_t2s run")
    ap.add_argument("--pack", type=Path, required=True, help="the pack whose prompts are read")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--splits", default="train,val")
    ap.add_argument("--batch", type=int, default=48)
    ap.add_argument("--chunk", type=int, default=480, help="rows per resumable part file")
    ap.add_argument("--limit", type=int, default=0, help="first N rows per split only (0: all)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args(argv)
    self_distill(args.target, args.pack, args.out, args.splits, args.batch, args.chunk, args.limit, args.threads, args.device)


if __name__ == "__main__":
    main()
