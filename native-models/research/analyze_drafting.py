"""Greedy speculative decoding replayed offline: tokens per target call for each drafter and gamma.

    /usr/bin/python3 native-models/research/analyze_drafting.py --run RUN_DIR --pack GREEDY_PACK [--rows 232] [--json OUT]

On a pack of the target's own greedy readings (spear_voice/train_t2s/self_distill.py), the sequence IS the path greedy decoding
takes, so teacher-forced drafter outputs are exactly what the engine's drafters would propose at every
step (up to float ties). Walking each sequence as the engine does (draft up to gamma tokens from the last
committed position, accept the longest matching prefix, add the target's own next token) gives tau, the
tokens per target call, for every drafter and gamma without running the engine. It also replays
confidence-stopped drafting (stop after a draft whose drafter probability is below theta).

With --leaves it also replays two cheap trees for EAGLE (docs/results.md): its chain
plus second-choice leaves where it is unsure, and its chain plus a second chain from its least sure depth.

With --codebook it prints what the target hesitates between: a repeat of the previous unit (duration),
or two units near each other in the codebook.

It also prints each drafter's acceptance by depth (depth s given depths 1..s-1 were accepted).
And how sure the target is of its own tokens (its probability p of each greedy token), with each
drafter's depth-1 agreement in buckets of p: this separates "the target is harder to predict" from "the
drafter is worse" (docs/voice-reading.md).

With c (one drafter step's cost over one target step) and v(g) (a verification of g drafts over one target
step) measured on the engine, the predicted speedup over ar is tau / (drafted * c + v(drafted)).
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # native-models/: the spear_voice package
from spear_voice.t2s.data import collate, load_pack  # noqa: E402
from spear_voice.train_t2s.checkpoint import load_model, run_file  # noqa: E402
from spear_voice.train_t2s.unroll import eagle_unrolled  # noqa: E402

GAMMAS = range(1, 9)


def hits(logits, truth, topk: int):
    """logits (T, V), the target's tokens (T,) → (T,) whether each is in the drafter's top k, and the
    drafter's own top probability (T,)."""
    p = logits.softmax(-1)
    return (p.topk(topk, -1).indices == truth[:, None]).any(-1), p.max(-1).values


@torch.no_grad()
def per_position(run: Path, split, rows, steps: int, topk: int = 1, eagle_window: int = 0):
    """Per row: (drafter → (steps, L) bool match, (steps, L) confidence) for draft-start positions 0..L-1,
    where start p0 means the last committed token sits at p0 and step s predicts token p0 + s. With
    topk > 1, "match" means the target's token is among the drafter's top k (a tree that keeps k
    candidates per depth along the true path: an upper bound on what tree verification could accept).
    eagle_window > 0: EAGLE attends to the prompt (through sep) and the last eagle_window
    committed positions only (a cheaper drafting call, if acceptance held)."""
    target, _ = load_model(run / "target.pt")
    draft, _ = load_model(run / "draft.pt")
    eagle, _ = load_model(run_file(run, "eagle"))
    for m in (target, draft, eagle):
        m.eval()
    out = []
    for i in rows:
        ids = torch.from_numpy(collate(split, np.asarray([i]), pad_multiple=1)[0])
        logits, exit_logits, feature = target(ids)
        truth = logits[0].argmax(-1)  # (T,) the target's argmax after each position
        T = ids.shape[1]
        # The target as its own drafter: always right, its confidence the probability of its own token.
        res = {"target": (torch.ones(1, T, dtype=torch.bool), logits[0].softmax(-1).max(-1).values[None])}
        res["target_top2"] = (ids[0], logits[0].topk(2, -1).indices)  # what each step chose between
        for name, lg in (("exit", exit_logits), ("draft", draft(ids)[0])):
            ok, conf = hits(lg[0], truth, topk)  # (T,) teacher-forced on the greedy path
            match = torch.zeros(steps, T, dtype=torch.bool)
            cf = torch.zeros(steps, T)
            for s in range(1, steps + 1):  # step s from start p0 is the prediction at position p0 + s - 1
                match[s - 1, :T - s + 1] = ok[s - 1:]
                cf[s - 1, :T - s + 1] = conf[s - 1:]
            res[name] = (match, cf)
        match = torch.zeros(steps, T, dtype=torch.bool)
        second = torch.zeros(steps, T, dtype=torch.bool)
        cf = torch.zeros(steps, T)
        window = (int(split.sep[i]) + 1, eagle_window) if eagle_window > 0 else None
        for s, (pl, _) in enumerate(eagle_unrolled(eagle, ids, feature, steps, 0.0, window), 1):
            ok, conf = hits(pl[0], truth, topk)
            match[s - 1, :T - s + 1] = ok[s - 1:]
            second[s - 1, :T - s + 1] = (pl[0].topk(2, -1).indices[:, 1] == truth)[s - 1:]
            cf[s - 1, :T - s + 1] = conf[s - 1:]
        res["eagle"] = (match, cf)
        res["eagle_second"] = (second, cf)  # the target's token is EAGLE's second choice
        out.append((int(split.sep[i]), int(len(split.row(i))), res))
    return out


def accepted(match, p0: int, depth: int, gamma: int) -> int:
    """From `depth` on, how deep the drafts starting at p0 stay right (at most gamma)."""
    while depth < gamma and bool(match[depth, p0]):
        depth += 1
    return depth


def predicted_speedup(tau: float, drafted: float, c: float, verified: float | None = None) -> float:
    """tau / (drafting + verification), in target steps: v = 1 + 0.045 per verified draft (measured on the
    engine here); verified defaults to the drafted tokens."""
    return round(tau / (drafted * c + 1 + 0.045 * (drafted if verified is None else verified)), 3)


def replay(data, drafter: str, gamma: int, theta: float = 0.0):
    """Walk every row as the engine does → (tokens, target calls, drafted tokens)."""
    tokens = calls = drafted = 0
    for sep, length, res in data:
        match, conf = res[drafter]
        p0 = sep  # the first prediction comes after the sep token
        while p0 < length - 1:  # token p0 + 1 .. length - 1 are generated (eos last)
            d = 0
            while d < gamma:
                d += 1
                if theta > 0 and float(conf[d - 1, p0]) < theta:
                    break
            n = min(accepted(match, p0, 0, d) + 1, length - 1 - p0)
            tokens += n
            calls += 1
            drafted += d
            p0 += n
    return tokens, calls, drafted


def leaves_below(theta: float):
    """Leaves at every depth where EAGLE's own top probability is below theta."""
    return lambda confs: {d for d, c in enumerate(confs) if c < theta}


def leaves_at_least_sure(count: int):
    """Leaves at EAGLE's `count` least sure depths: a fixed number of verified positions, since the
    verifying call's cost jumps when it crosses the matrix kernel's row block (docs/results.md)."""
    return lambda confs: set(sorted(range(len(confs)), key=confs.__getitem__)[:count])


def replay_leaves(data, gamma: int, choose):
    """EAGLE's greedy chain plus its second choice as a leaf at the depths `choose(confidences)`
    picks (verified in the same call; no extra drafting call, since the chain computes every depth's
    distribution anyway). When the chain breaks at a depth with a leaf and the leaf is the target's token,
    the step gains the leaf and the target's token after it. → (tokens, calls, verified positions beyond
    the first)."""
    tokens = calls = verified = 0
    for sep, length, res in data:
        match, conf = res["eagle"]
        second = res["eagle_second"][0]
        p0 = sep
        while p0 < length - 1:
            leafy = choose([float(conf[d, p0]) for d in range(gamma)])
            a = accepted(match, p0, 0, gamma)
            n = a + 1
            if a < gamma and a in leafy and bool(second[a, p0]):
                n = a + 2
            n = min(n, length - 1 - p0)
            tokens += n
            calls += 1
            verified += gamma + len(leafy)
            p0 += n
    return tokens, calls, verified


def replay_branch(data, gamma: int, theta: float, call_overhead: float = 2.0):
    """EAGLE's chain plus, where its least sure depth k has top probability below theta, a second
    chain from its second choice at k down to depth gamma (one more chain call). When the main chain breaks
    exactly at k and the second choice is the target's token, the branch's further drafts are the ones the
    teacher-forced walk already holds (the same tokens). → (tokens, calls, verified positions, drafted
    tokens, the extra call counted as call_overhead drafted tokens)."""
    tokens = calls = verified = drafted = 0
    for sep, length, res in data:
        match, conf = res["eagle"]
        second = res["eagle_second"][0]
        p0 = sep
        while p0 < length - 1:
            confs = [float(conf[d, p0]) for d in range(gamma)]
            k = min(range(gamma), key=confs.__getitem__)
            branch = confs[k] < theta
            a = accepted(match, p0, 0, gamma)
            n = a + 1
            if branch and a == k and bool(second[a, p0]):
                n = accepted(match, p0, a + 1, gamma) + 1
            n = min(n, length - 1 - p0)
            tokens += n
            calls += 1
            verified += gamma + (gamma - k if branch else 0)
            drafted += gamma + (gamma - k - 1 + call_overhead if branch else 0)
            p0 += n
    return tokens, calls, verified, drafted


def per_depth(data, drafter: str, steps: int) -> list[float]:
    """Acceptance at each depth s of a draft given every earlier depth was accepted: P(step s right |
    steps 1..s-1 right), over every start position whose depth s is inside the row. A flat curve means
    the drafter loses nothing by drafting on its own predictions; a falling one, that it does."""
    rates = []
    for s in range(steps):
        right = reached = 0
        for sep, length, res in data:
            match = res[drafter][0]
            earlier = match[:s, sep:length].all(0) if s else torch.ones(length - sep, dtype=torch.bool)
            inside = torch.arange(sep, length) + s + 1 < length  # depth s predicts token p0 + s + 1
            reached += int((earlier & inside).sum())
            right += int((earlier & inside & match[s, sep:length]).sum())
        rates.append(round(right / max(reached, 1), 3))
    return rates


CONFIDENCE_BUCKETS = ((0.0, 0.5), (0.5, 0.8), (0.8, 1.01))


def by_confidence(data, drafter: str) -> dict:
    """The target's probability p of its greedy token at every generated step (mean, share below 0.5),
    and the drafter's depth-1 agreement over all steps and in buckets of p."""
    p = torch.cat([res["target"][1][0, sep:length - 1] for sep, length, res in data])
    ok = torch.cat([res[drafter][0][0, sep:length - 1] for sep, length, res in data]).float()
    buckets = {f"p in [{lo}, {min(hi, 1.0)})": {"share": round(float(((p >= lo) & (p < hi)).float().mean()), 3),
                                                "agreement": round(float(ok[(p >= lo) & (p < hi)].mean()), 3)}
               for lo, hi in CONFIDENCE_BUCKETS}
    return {"steps": len(p), "mean_p": round(float(p.mean()), 3), "share_p_below_0.5": round(float((p < 0.5).float().mean()), 3),
            "depth1_agreement": round(float(ok.mean()), 3), "buckets": buckets}


def hesitation(data, centroids: np.ndarray, unit_offset: int) -> dict:
    """What the target hesitates between (steps where its own token has p < 0.5): how often its top two
    include repeating the previous unit (a duration decision), and how near the two units are in the
    codebook: the rank of the second among the first's nearest centroids (1 = the nearest)."""
    c = torch.from_numpy(centroids).float()
    rank = torch.cdist(c, c).argsort(-1).argsort(-1)  # rank[a, b]: b's place among a's neighbours (a itself 0)
    steps = repeat = 0
    ranks = []
    for sep, length, res in data:
        p = res["target"][1][0]
        ids, top2 = res["target_top2"]
        for t in range(sep, length - 1):
            if float(p[t]) >= 0.5:
                continue
            steps += 1
            a, b = int(top2[t, 0]), int(top2[t, 1])
            repeat += int(ids[t]) in (a, b)
            if min(a, b) >= unit_offset:
                ranks.append(int(rank[a - unit_offset, b - unit_offset]))
    r = np.asarray(ranks)
    return {"hesitant_steps": steps, "share_top2_has_repeat": round(repeat / max(steps, 1), 3),
            "second_among_nearest": {k: round(float((r <= k).mean()), 3) for k in (1, 5, 20)},
            "median_rank": float(np.median(r)), "chance_for_5": round(5 / (len(c) - 1), 4)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, required=True)
    ap.add_argument("--pack", type=Path, required=True, help="a pack of greedy readings (its val split is used)")
    ap.add_argument("--rows", type=int, default=232)
    ap.add_argument("--c", type=str, default="", help="cost ratios to predict with, e.g. eagle=0.15,draft=0.2,exit=0.45")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--topk", type=int, default=1, help="count a draft as right when the target's token is in its top k (tree bound)")
    ap.add_argument("--codebook", type=Path, default=None,
                    help="the units' codebook.npz: also print what the target hesitates between")
    ap.add_argument("--eagle_window", type=int, default=0,
                    help="EAGLE sees the prompt and only this many recent committed positions")
    ap.add_argument("--leaves", action="store_true",
                    help="also replay EAGLE's chain with second-choice leaves, and with a second chain from one")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    meta, splits = load_pack(args.pack)
    val = splits["val"]
    data = per_position(args.run, val, range(min(args.rows, len(val))), max(GAMMAS), args.topk, args.eagle_window)
    costs = dict(kv.split("=") for kv in args.c.split(",") if kv)
    if args.codebook:
        print(json.dumps({"target_hesitation": hesitation(data, np.load(args.codebook)["centroids"],
                                                          meta["vocab"]["units"]["offset"])}))
    report = []
    for drafter in ("exit", "draft", "eagle"):
        print(json.dumps({"drafter": drafter, "acceptance_by_depth": per_depth(data, drafter, max(GAMMAS))}))
        print(json.dumps({"drafter": drafter, "by_target_confidence": by_confidence(data, drafter)}))
        for gamma in GAMMAS:
            for theta in (0.0, 0.3, 0.5):
                tokens, calls, drafted = replay(data, drafter, gamma, theta)
                row = {"drafter": drafter, "gamma": gamma, "theta": theta, "tau": round(tokens / calls, 3),
                       "drafted_per_call": round(drafted / calls, 3)}
                if drafter in costs:
                    row["predicted_speedup"] = predicted_speedup(tokens / calls, drafted / calls, float(costs[drafter]))
                report.append(row)
                if theta == 0.0 or gamma >= 3:
                    print(json.dumps(row))
    if args.leaves:
        c = float(costs.get("eagle", 0.09))
        for gamma in range(2, 9):
            for theta in (0.0, 0.5, 0.7, 0.9, 1.01):
                tokens, calls, verified = replay_leaves(data, gamma, leaves_below(theta))
                g = verified / calls
                row = {"drafter": "eagle+leaves", "gamma": gamma, "leaf_theta": theta, "tau": round(tokens / calls, 3),
                       "verified_per_call": round(g, 3),
                       "predicted_speedup": predicted_speedup(tokens / calls, gamma, c, g)}
                report.append(row)
                print(json.dumps(row))
            for leaves in range(1, gamma + 1):
                tokens, calls, verified = replay_leaves(data, gamma, leaves_at_least_sure(leaves))
                row = {"drafter": "eagle+leaf_budget", "gamma": gamma, "leaves": leaves, "tau": round(tokens / calls, 3),
                       "verified_per_call": round(verified / calls, 3)}
                report.append(row)
                print(json.dumps(row))
            for theta in (0.5, 0.7):
                tokens, calls, verified, drafted = replay_branch(data, gamma, theta)
                g, d = verified / calls, drafted / calls
                row = {"drafter": "eagle+branch", "gamma": gamma, "branch_theta": theta, "tau": round(tokens / calls, 3),
                       "verified_per_call": round(g, 3), "drafted_per_call": round(d, 3),
                       "predicted_speedup": predicted_speedup(tokens / calls, d, c, g)}
                report.append(row)
                print(json.dumps(row))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
