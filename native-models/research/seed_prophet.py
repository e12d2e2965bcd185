"""The seed's questions on a small configuration: does training the seed prophet jointly help the target's loss,
and does recycling help the early-exit head draft deeper?

    /usr/bin/python3 native-models/research/seed_prophet.py run --pack native-models/work/pack [--steps 900] [--seeds 1,2,3] [--jobs 3]
    /usr/bin/python3 native-models/research/seed_prophet.py summary

`run` trains the target stage of `spear_voice.train_t2s` for the same number of steps in three groups, each seed
once: `joint0` (the seed prophet on a detached h_t: the target as it would be alone), `joint1` (its CE reaching
the target with weight 1) and `recycle` (as joint0, with recycling for the exit head). Each run's validation
records (step, validation CE of every head, α per depth) go to native-models/research/runs/<group>-s<seed>.jsonl
(committed; charts.py draws them); checkpoints stay under native-models/work/research/.

`summary` prints, from those logs: the main CE per group (mean ± sd over seeds), and per drafter the greedy α
per depth (top-1 agreement with the target), τ(γ) = 1 + Σ_{j≤γ} Π_{d≤j} α_d and the speedup τ / (1 + γ c),
where c is a drafter step's cost over a target step counted in weights read per token (matrices only), and a
verification costs one target step (v = 1).
"""

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
RUNS = ROOT / "native-models/research/runs"
WORK = ROOT / "native-models/work/research"

# The small CPU configuration: a 4-block d128 target, its exit head after block 1 (norm + the target's LM head),
# a 1-block d64 seed prophet predicting 4 tokens from one h_t (3 drafts), trained on 30 % of the starts per batch.
MODEL = dict(d_model=128, n_layers=4, n_heads=2, exit_layer=1, exit_blocks=0, seed_prophet=True,
             seed_prophet_d_model=64, seed_prophet_n_layers=1, seed_prophet_n_heads=1, seed_prophet_steps=4,
             seed_prophet_share=0.3, recycle_max_depth=6)
TRAIN = dict(batch_tokens=2048, lr=2e-3, threads=1, eval_every_s=1e9, ckpt_every_s=1e9, save_optimizer=False,
             eval_sentences=128, target_share=1.0, log_every_s=60.0)
GROUPS = {"joint0": dict(seed_prophet_weight=0.0), "joint1": dict(seed_prophet_weight=1.0),
          "recycle": dict(seed_prophet_weight=0.0, exit_recycle=True)}


def train_one(pack: Path, group: str, seed: int, steps: int) -> Path:
    name = f"{group}-{steps}-s{seed}"
    out = WORK / name
    flags = {**MODEL, **TRAIN, **GROUPS[group], "seed": seed, "max_steps": steps, "eval_every_steps": max(1, steps // 6),
             "pack": str(pack), "out": str(out), "stages": "target"}
    cmd = ["nice", "-n", "19", sys.executable, "-m", "spear_voice.train_t2s", "train", "--preset", "cpu"]
    for k, v in flags.items():
        cmd += [f"--{k}", str(v)]
    if out.exists():
        for f in out.iterdir():
            f.unlink()
    with open(WORK / f"{name}.out", "w") as log:
        subprocess.run(cmd, cwd=ROOT / "native-models", stdout=log, stderr=subprocess.STDOUT, check=True,
                       env={**os.environ, "OMP_NUM_THREADS": "1"})
    return collect(name)


def collect(name: str) -> Path:
    """A finished run's validation records (work/research/<group>-<steps>-s<seed>) → research/runs/<name>.jsonl,
    its group, seed, steps and config first."""
    out = WORK / name
    group, steps, seed = name.rsplit("-", 2)
    seed = int(seed[1:])
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    config = json.loads((out / "config.json").read_text())
    lines = [json.dumps({"group": group, "seed": seed, "steps": int(steps), "config": {k: config[k] for k in (*MODEL, *TRAIN, *GROUPS[group], "max_steps")
                                                                  if k in config}})]
    last_tok_s, evals = 0, {}
    for r in records:
        if "val" in r:  # the end of the stage may validate the step just validated: keep one per step
            evals[r["step"]] = json.dumps({"step": r["step"], "elapsed_s": r.get("elapsed_s"), "tok_s": last_tok_s, **r["val"]})
        else:
            last_tok_s = r.get("tok_s", last_tok_s)
    lines += list(evals.values())
    RUNS.mkdir(parents=True, exist_ok=True)
    path = RUNS / f"{name}.jsonl"
    path.write_text("\n".join(lines) + "\n")
    print(f"{name}: {path.relative_to(ROOT)}", flush=True)
    return path


def read_runs(steps: int | None = None) -> dict:
    """{group: [(header, [val records])]} from research/runs/*.jsonl, of the runs `steps` long (None: every run,
    keyed "<group>-<steps>")."""
    runs = {}
    for path in sorted(RUNS.glob("*.jsonl")):
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        head = lines[0]
        if steps is None:
            runs.setdefault(f"{head['group']}-{head['steps']}", []).append((head, lines[1:]))
        elif head["steps"] == steps:
            runs.setdefault(head["group"], []).append((head, lines[1:]))
    return runs


def matrix_weights(d: int, layers: int, vocab: int, ffn: int) -> int:
    """Weights read per token by `layers` Llama blocks of width d plus an LM head (embeddings are lookups)."""
    return layers * (4 * d * d + 3 * d * ffn) + d * vocab


def ffn_dim(d: int) -> int:
    return 32 * int(np.ceil(8 * d / 3 / 32))


def costs(vocab: int) -> dict:
    """c of each drafter: its weights read per drafted token over the target's."""
    d, L = MODEL["d_model"], MODEL["n_layers"]
    target = matrix_weights(d, L, vocab, ffn_dim(d))
    exit_ = matrix_weights(d, MODEL["exit_layer"] + MODEL["exit_blocks"], vocab, ffn_dim(d))
    ds = MODEL["seed_prophet_d_model"]
    return {"exit": exit_ / target, "exit_recycle": (exit_ + d * d) / target,
            "seed_prophet": matrix_weights(ds, MODEL["seed_prophet_n_layers"], vocab, ffn_dim(ds)) / target}


def tau(alpha: list[float], gamma: int) -> float:
    """Expected tokens per target call with per-depth acceptance alpha[d-1], each depth given the earlier ones."""
    return 1.0 + float(sum(np.prod(alpha[:j]) for j in range(1, gamma + 1)))


def summary(vocab: int) -> dict:
    c = costs(vocab)
    out = {"c": {k: round(v, 3) for k, v in c.items()}, "groups": {}}
    for key, items in read_runs().items():
        group = key.rsplit("-", 1)[0]
        finals = [recs[-1] for _, recs in items]
        ce = np.array([f["main_ce"] for f in finals])
        g = {"seeds": [h["seed"] for h, _ in items], "steps": finals[0]["step"],
             "main_ce": [round(float(ce.mean()), 4), round(float(ce.std(ddof=1)) if len(ce) > 1 else 0.0, 4)],
             "main_ce_each": ce.round(4).tolist(), "exit_ce": round(float(np.mean([f["exit_ce"] for f in finals])), 4)}
        drafters = {"exit_recycle" if group == "recycle" else "exit": "exit_top1_d", "seed_prophet": "seed_prophet_top1_d"}
        for name, metric in drafters.items():
            each = np.array([f[metric] for f in finals])  # (seeds, depths)
            alpha = each.mean(0).tolist()
            rows = []
            for gamma in range(1, len(alpha) + 1):
                t = tau(alpha, gamma)
                rows.append({"gamma": gamma, "tau": round(t, 3), "speedup": round(t / (1 + gamma * c[name]), 3)})
            best = max(rows, key=lambda r: r["speedup"])
            g[name] = {"alpha_d": [round(a, 4) for a in alpha],
                       "alpha_d_sd": (each.std(0, ddof=1) if len(each) > 1 else 0 * each[0]).round(4).tolist(), "per_gamma": rows, "best_gamma": best["gamma"],
                       "best_speedup": best["speedup"]}
        out["groups"][key] = g
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--pack", type=Path, default=ROOT / "native-models/work/pack")
    r.add_argument("--steps", type=int, default=900)
    r.add_argument("--seeds", default="1,2,3")
    r.add_argument("--groups", default="joint0,joint1,recycle")
    r.add_argument("--jobs", type=int, default=3)
    c = sub.add_parser("collect", help="the logs of finished runs (work/research/<group>-s<seed>) into runs/")
    c.add_argument("runs", nargs="+", help="<group>-<steps>-s<seed>")
    s = sub.add_parser("summary")
    s.add_argument("--pack", type=Path, default=ROOT / "native-models/work/pack", help="for the vocabulary size")
    s.add_argument("--vocab", type=int, default=0, help="the vocabulary size, without a pack")
    args = ap.parse_args()
    if args.command == "run":
        WORK.mkdir(parents=True, exist_ok=True)
        jobs = [(g, int(s)) for s in args.seeds.split(",") for g in args.groups.split(",")]
        with ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(lambda job: train_one(args.pack.resolve(), job[0], job[1], args.steps), jobs))
    elif args.command == "collect":
        for name in args.runs:
            collect(name)
    else:
        vocab = args.vocab or json.loads((args.pack / "meta.json").read_text())["vocab"]["size"]
        print(json.dumps(summary(vocab), indent=1))


if __name__ == "__main__":
    main()
