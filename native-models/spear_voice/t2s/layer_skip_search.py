"""Which sublayers should the layer-skip drafter skip? A search by predicted speedup over `ar`.

    cd native-models
    /usr/bin/python3 -m spear_voice.t2s.layer_skip_search --voice voice --corpus work/corpus/val.jsonl \\
        [--limit 200] [--gammas 1,2,3,4,5,6,7,8] [--costs measure | FIXED,ATTENTION,MLP] [--json OUT]

1. Readings. The target (rebuilt from the voice's exported `full`, t2s/layer_skip.py) reads the first
   `limit` sentences of the corpus file (sorted by id; by default the validation split) greedily, with the
   voice's stop rule. These are the paths greedy decoding takes.
2. Acceptance. Each candidate plan runs teacher-forced over the readings. Where a drafter's argmax at
   position t equals the reading's token t + 1, a draft there would be accepted. The drafter's cache holds
   its own keys of the committed tokens, which is what teacher forcing computes, so walking each reading as
   decode.ts does (draft γ from the pending position, accept the longest matching run, add the target's
   token) gives τ(γ) and the acceptance per depth without running the engine. Σ min(p, q) at temperature 1
   (the sampled acceptance of Leviathan et al. 2023, 3.1) is reported beside it.
3. Cost. c(plan) is one drafting call over one `full` step (T = 1), v(T) = full(T) / full(1) the
   verification of T positions. `--costs measure` (the default) times each plan's fused graph, as it would
   ship, and `full` on this machine (MeasuredCosts, tools/layer_skip_cost.mjs). The time is not linear in
   the blocks kept (on the shipped voice and a 2-core EPYC, 1, 3 and 5 whole blocks timed 0.15, 0.33 and
   0.74 of `full`), so each plan is timed rather than modelled. `--costs FIXED,ATTENTION,MLP` is a linear
   model instead (tests, machines without node).
4. The prediction. speedup(plan, γ) = τ(γ) / (γ · c + v(γ + 1)) over ar's one `full` step per token. Every
   whole-block plan is tried (2^L − 2); from the three best, a hill climb toggles single sublayers while
   the best γ's prediction improves.

Writes a table of every plan tried, best first, and with --json the same rows with τ(γ), the acceptance per
depth and the costs. The plan is then built with `python3 -m spear_voice.t2s.layer_skip VOICE --plan P`.
"""

import argparse
import itertools
import json
import math
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch

from .. import REPO_ROOT
from ..train_t2s.self_distill import greedy_batch
from .contract import MANIFEST_FILE
from .data import SPECIAL
from .fused import POSITION_MARGIN, build, read_target
from .layer_skip import LayerSkipModel, SkipPlan, full_source, target_from_voice
from .model import TargetModel

DEFAULT_GAMMAS = tuple(range(1, 9))
COST_PAST = 150  # cached positions where costs are timed: about a bench sentence's mean position


# ----------------------------------------------------------------------------------------------------
# Readings and acceptance


def read_sentences(corpus: Path, limit: int) -> list[dict]:
    rows = [json.loads(line) for line in corpus.read_text().splitlines() if line.strip()]
    rows = sorted((r for r in rows if r.get("phonemes")), key=lambda r: r["id"])
    return rows[:limit]


@torch.no_grad()
def greedy_readings(target: TargetModel, manifest: dict, sentences: list[dict], batch: int = 32) -> list[tuple[np.ndarray, int]]:
    """(sequence, index of its sep) per sentence: [bos] phonemes [sep] then the target's greedy units, and
    the stop token where it stopped by itself (not at the cap), as the engine emits it."""
    vocab, rule = manifest["vocab"], manifest["voice"]["max_units"]
    out = []
    for b0 in range(0, len(sentences), batch):
        chunk = sentences[b0:b0 + batch]
        prompts = [np.asarray([SPECIAL["bos"], *(p + vocab["phonemes"]["offset"] for p in s["phonemes"]), SPECIAL["sep"]]) for s in chunk]
        # The stop rule of electron/core/pipeline/voice.ts: ceil(per_phoneme × phonemes + base), within the context.
        caps = [max(1, min(math.ceil(rule["per_phoneme"] * len(s["phonemes"]) + rule["base"]), manifest["context"] - len(s["phonemes"]) - 3))
                for s in chunk]
        for p, cap, new in zip(prompts, caps, greedy_batch(target, prompts, caps)):
            tail = [SPECIAL["eos"]] if len(new) < cap else []
            out.append((np.concatenate([p, np.asarray(new + tail, dtype=np.int64)]), len(p) - 1))
    return out


def batches(readings, max_tokens: int = 8192):
    """Readings grouped by similar length, right-padded: (ids (B, T), [(reading index, length, sep)])."""
    order = sorted(range(len(readings)), key=lambda i: len(readings[i][0]))
    group: list[int] = []
    for i in order + [None]:
        if i is not None and (not group or len(readings[i][0]) * (len(group) + 1) <= max_tokens):
            group.append(i)
            continue
        T = max(len(readings[j][0]) for j in group)
        ids = torch.zeros(len(group), T, dtype=torch.long)
        for r, j in enumerate(group):
            ids[r, :len(readings[j][0])] = torch.from_numpy(readings[j][0])
        yield ids, [(j, len(readings[j][0]), readings[j][1]) for j in group]
        group = [i] if i is not None else []


@torch.no_grad()
def agreement(drafter, readings, target_probs: dict) -> tuple[list[np.ndarray], float]:
    """Per reading, whether the drafter's argmax at each generated position (sep … end − 2) is the reading's
    next token; and the mean Σ min(p, q) at temperature 1 over those positions (p: target_distributions)."""
    matches: list[np.ndarray] = [np.zeros(0, bool)] * len(readings)
    overlap, n = 0.0, 0
    for b, (ids, rows) in enumerate(batches(readings)):
        logits = drafter(ids)[0]  # (B, T, V)
        for r, (j, length, sep) in enumerate(rows):
            q = logits[r, sep:length - 1].float()
            matches[j] = (q.argmax(-1) == torch.from_numpy(readings[j][0][sep + 1:length])).numpy()
            p = target_probs[(b, r)]
            overlap += float(torch.minimum(p, q.softmax(-1)).sum())
            n += p.shape[0]
    return matches, overlap / max(1, n)


def target_distributions(target: TargetModel, readings) -> dict:
    """The target's probabilities at every generated position, by (batch, row), for Σ min(p, q)."""
    probs = {}
    with torch.no_grad():
        for b, (ids, rows) in enumerate(batches(readings)):
            logits = target(ids)[0]
            for r, (_, length, sep) in enumerate(rows):
                probs[(b, r)] = logits[r, sep:length - 1].float().softmax(-1)
    return probs


def replay(matches: list[np.ndarray], gamma: int) -> dict:
    """Greedy speculative decoding walked over the readings as decode.ts steps: from the pending position
    p, γ drafts, the longest run of accepted ones, then the target's own token. → τ; reached[k]: the steps
    that accepted at least k drafts (k = 0 … γ); tried[k]: the steps whose draft k had a token of the
    reading to be checked against and whose drafts before it were accepted (the acceptance at depth k is
    reached[k] / tried[k]; a reading's end is no rejection)."""
    steps = tokens = 0
    reached = [0] * (gamma + 1)
    tried = [0] * (gamma + 1)
    for m in matches:
        run = np.zeros(len(m) + 1, dtype=np.int64)  # run[t]: consecutive matches from generated index t
        for t in range(len(m) - 1, -1, -1):
            run[t] = run[t + 1] + 1 if m[t] else 0
        t = 0
        while t < len(m):
            k = min(int(run[t]), gamma)
            steps += 1
            for d in range(k + 1):
                reached[d] += 1
            for d in range(1, min(k + 1, gamma, len(m) - t) + 1):
                tried[d] += 1
            emitted = min(k + 1, len(m) - t)  # the last step may be cut by the reading's end
            tokens += emitted
            t += emitted
    return {"tau": tokens / max(1, steps), "steps": steps, "tokens": tokens, "reached": reached, "tried": tried}


# ----------------------------------------------------------------------------------------------------
# Costs


class LinearCosts:
    """c(plan) = fixed + attention · (blocks that attend) + mlp · (blocks whose MLP runs), in `full` steps, and
    v(T) = 1 + 0.045 (T − 1) (research/analyze_drafting.py): a model for machines without node, and tests."""

    def __init__(self, fixed: float, attention: float, mlp: float):
        self.fixed, self.attention, self.mlp = fixed, attention, mlp
        self.verify = {T: round(1 + 0.045 * (T - 1), 3) for T in range(1, 10)}

    def of(self, plans: list[SkipPlan]) -> dict:
        return {p.label: self.fixed + self.attention * sum(p.attention) + self.mlp * sum(p.mlp) for p in plans}

    def describe(self) -> dict:
        return {"model": "linear", "fixed": self.fixed, "attention": self.attention, "mlp": self.mlp, "verify": self.verify}


class MeasuredCosts:
    """Each plan's fused graph (t2s/fused.py, as the voice would ship it) timed on this machine at T = 1 with
    COST_PAST cached positions, over `full`'s T = 1 run timed in the same process; v(T) from `full` at
    T = 1 … 9. Graphs are timed in groups of `group` by tools/layer_skip_cost.mjs (CPU time, interleaved
    bursts of `burst` runs, so a drafter's weights are partly evicted by the other graphs, as the target's
    verification evicts them in a decode), each plan once."""

    def __init__(self, voice: Path, manifest: dict, group: int = 16, burst: int = 4, rounds: int = 12):
        self.manifest, self.group, self.burst, self.rounds = manifest, group, burst, rounds
        L, H = manifest["n_layers"], manifest["n_heads"]
        self.target = read_target(str(full_source(voice, manifest)), L, H)
        self.c: dict[str, float] = {}
        self.us: dict[str, float] = {}
        self.verify: dict[int, float] = {}
        self._full_steps: list[dict] = []

    def of(self, plans: list[SkipPlan]) -> dict:
        todo = list({p.label: p for p in plans if p.label not in self.c}.values())
        for g0 in range(0, len(todo), self.group):
            self._time(todo[g0:g0 + self.group])
        return {p.label: self.c[p.label] for p in plans}

    def _time(self, plans: list[SkipPlan]) -> None:
        m = self.manifest
        L, H, D = m["n_layers"], m["n_heads"], m["d_model"]
        max_positions = m["context"] + POSITION_MARGIN
        with tempfile.TemporaryDirectory() as tmp:
            onnx.save(build(self.target, "full", range(L), None, H, max_positions), f"{tmp}/full.onnx")
            graphs = [{"name": f"full T={T}", "file": "full.onnx", "kv_heads": H, "kv_dim": D, "T": T} for T in range(1, 10)]
            for plan in plans:
                s = plan.skipped()
                onnx.save(build(self.target, "layer_skip", range(L), None, H, max_positions, skip_attention=set(s["attention"]),
                                skip_mlp=set(s["mlp"])), f"{tmp}/{plan.label}.onnx")
                graphs.append({"name": plan.label, "file": f"{plan.label}.onnx", "kv_heads": H, "kv_dim": D, "T": 1})
            job = {"past": COST_PAST, "rounds": self.rounds, "burst": self.burst, "token": m["vocab"].get("units", {}).get("offset", 4),
                   "graphs": graphs}
            Path(f"{tmp}/job.json").write_text(json.dumps(job))
            out = subprocess.run(["node", str(REPO_ROOT / "native-models/tools/layer_skip_cost.mjs"), f"{tmp}/job.json"],
                                 cwd=REPO_ROOT, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"tools/layer_skip_cost.mjs failed:\n{out.stderr}")
        us = json.loads(out.stdout)
        step = us["full T=1"]
        for plan in plans:
            self.us[plan.label] = us[plan.label]
            self.c[plan.label] = round(us[plan.label] / step, 4)
        self._full_steps.append({T: us[f"full T={T}"] / step for T in range(1, 10)})
        self.verify = {T: round(float(np.median([f[T] for f in self._full_steps])), 3) for T in range(1, 10)}

    def describe(self) -> dict:
        return {"model": "measured", "past": COST_PAST, "burst": self.burst, "rounds": self.rounds, "verify": self.verify, "us": self.us}


def v_of(costs, T: int) -> float:
    """full(T) / full(1); past the measured T, the largest measured."""
    return costs.verify.get(T, max(costs.verify.values()))


# ----------------------------------------------------------------------------------------------------
# The search


def evaluate(target: TargetModel, plan: SkipPlan, readings, target_probs, c: float, verify, gammas) -> dict:
    """One plan: acceptance on the readings, τ(γ) and the predicted speedup at drafting cost c."""
    matches, overlap = agreement(LayerSkipModel(target, plan), readings, target_probs)
    by_gamma = {}
    for g in gammas:
        r = replay(matches, g)
        by_gamma[g] = {"tau": round(r["tau"], 4), "speedup": round(r["tau"] / (g * c + verify(g + 1)), 4), "reached": r["reached"]}
    best = max(gammas, key=lambda g: by_gamma[g]["speedup"])
    deep = replay(matches, max(gammas))
    by_depth = [round(deep["reached"][k] / deep["tried"][k], 4) if deep["tried"][k] else None for k in range(1, max(gammas) + 1)]
    positions = sum(len(m) for m in matches)
    return {"plan": plan.label, "skip": plan.skipped(), "c": round(c, 4), "top1": round(sum(int(m.sum()) for m in matches) / max(1, positions), 4),
            "alpha_by_depth": by_depth, "sampled_overlap": round(overlap, 4), "best_gamma": best,
            "speedup": by_gamma[best]["speedup"], "by_gamma": by_gamma}


def search(target: TargetModel, readings, costs, gammas=DEFAULT_GAMMAS, climb_from: int = 3, log=print) -> list[dict]:
    """Every whole-block plan, then a hill climb over single sublayers from the `climb_from` best; every
    plan evaluated once. `costs`: LinearCosts or MeasuredCosts. Returns the rows, best predicted speedup first."""
    L = target.cfg.n_layers
    target_probs = target_distributions(target, readings)
    seen: dict[str, dict] = {}

    def run_all(plans: list[SkipPlan]) -> list[dict]:
        c = costs.of([p for p in plans if p.label not in seen])
        for plan in plans:
            if plan.label in seen:
                continue
            row = seen[plan.label] = evaluate(target, plan, readings, target_probs, c[plan.label], lambda T: v_of(costs, T), gammas)
            log(f"{row['plan']}  c {row['c']:.3f}  top-1 {row['top1']:.3f}  γ {row['best_gamma']}  τ {row['by_gamma'][row['best_gamma']]['tau']:.2f}"
                f"  predicted {row['speedup']:.3f}×")
        return [seen[p.label] for p in plans]

    run_all([SkipPlan(keep, keep) for keep in itertools.product((True, False), repeat=L) if any(keep) and not all(keep)])
    for start in sorted(seen.values(), key=lambda r: -r["speedup"])[:climb_from]:
        current = SkipPlan.parse(start["plan"])
        while True:
            neighbours = []
            for i in range(L):
                for part in ("attention", "mlp"):
                    a, m = list(current.attention), list(current.mlp)
                    (a if part == "attention" else m)[i] ^= True
                    if any(a) and not (all(a) and all(m)):
                        neighbours.append(SkipPlan(tuple(a), tuple(m)))
            best = max(run_all(neighbours), key=lambda r: r["speedup"])
            if best["speedup"] <= seen[current.label]["speedup"]:
                break
            current = SkipPlan.parse(best["plan"])
    return sorted(seen.values(), key=lambda r: -r["speedup"])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--voice", type=Path, default=REPO_ROOT / "native-models/voice")
    ap.add_argument("--corpus", type=Path, default=REPO_ROOT / "native-models/work/corpus/val.jsonl",
                    help="sentences {id, text, phonemes} per line; default the validation split")
    ap.add_argument("--limit", type=int, default=200, help="the first N sentences by id")
    ap.add_argument("--gammas", default=",".join(map(str, DEFAULT_GAMMAS)))
    ap.add_argument("--costs", default="measure", help='"measure" (this machine, node), or FIXED,ATTENTION,MLP in full steps')
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, help="write every row here")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if not args.corpus.exists():
        ap.error(f"{args.corpus}: missing; build the corpus (native-models/README.md) or pass --corpus FILE.jsonl")
    manifest = json.loads((args.voice / MANIFEST_FILE).read_text())
    gammas = tuple(int(g) for g in args.gammas.split(","))
    costs = MeasuredCosts(args.voice, manifest) if args.costs == "measure" else LinearCosts(*(float(x) for x in args.costs.split(",")))
    target = target_from_voice(args.voice)
    sentences = read_sentences(args.corpus, args.limit)
    readings = greedy_readings(target, manifest, sentences)
    print(f"{len(readings)} readings, {sum(len(s) - sep - 1 for s, sep in readings)} generated tokens")
    rows = search(target, readings, costs, gammas)
    print(f"v(T) = full(T) / full(1): {costs.verify}")
    print("\nbest first:")
    for row in rows[:10]:
        print(f"  {row['plan']}  predicted {row['speedup']:.3f}× at γ {row['best_gamma']}, c {row['c']:.3f}, α by depth "
              + " / ".join(f"{a:.2f}" for a in row["alpha_by_depth"][:4] if a is not None))
    if args.json:
        args.json.write_text(json.dumps({"voice": str(args.voice), "corpus": str(args.corpus), "sentences": len(readings),
                                         "costs": costs.describe(), "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
