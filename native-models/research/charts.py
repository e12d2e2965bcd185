"""The charts of docs/research.md, drawn from the run logs in native-models/research/runs/ (seed_prophet.py run).

    /usr/bin/python3 native-models/research/charts.py [--vocab V]

Writes docs/research/:
  seed-training-curves.svg   validation CE of the target and α at depth 1 of each drafter over training steps
  seed-joint-ce.svg          the target's validation CE with and without the seed prophet's joint loss, mean ± sd,
                             per budget (steps)
  seed-alpha-depth.svg       α per draft depth (early exit with and without recycling, the seed prophet) of the
                             longest runs, and the speedup per γ that seed_prophet.py's cost model gives them
  shipped-training-curves.svg
                             the shipped voice's drafters trained with its target frozen (runs/shipped/*.jsonl, the
                             training logs of train_t2s.medusa, .seed_prophet and .recycle_exit): the first draft's
                             validation CE and top-1 agreement over training time
"""

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed_prophet import ROOT, read_runs, summary  # noqa: E402

OUT = ROOT / "docs/research"
COLORS = {"joint0": "#1f77b4", "joint1": "#d62728", "recycle": "#2ca02c"}
LABELS = {"joint0": "target alone (seed prophet on a detached h_t)", "joint1": "target + joint seed prophet (weight 1)",
          "recycle": "target, exit head with recycling"}
DRAFTERS = {  # name → label, colour, group, metric, its name in seed_prophet.py's summary
    "exit": ("early exit", "#1f77b4", "joint0", "exit_top1_d", "exit"),
    "exit_recycle": ("early exit + recycling", "#2ca02c", "recycle", "exit_top1_d", "exit_recycle"),
    "seed_prophet": ("seed prophet (weight 0)", "#9467bd", "joint0", "seed_prophet_top1_d", "seed_prophet"),
    "seed_prophet_joint": ("seed prophet (joint, weight 1)", "#d62728", "joint1", "seed_prophet_top1_d", "seed_prophet")}


def longest(runs_by_key: dict) -> int:
    return max(int(k.rsplit("-", 1)[1]) for k in runs_by_key)


def schedule(runs: list, steps: int) -> str:
    """"900 steps", or "step 600 of 900" for runs stopped before their schedule's end."""
    last = max(recs[-1]["step"] for _, recs in runs)
    return f"{steps} steps" if last == steps else f"step {last} of {steps}"


PREVIEW: list[Path] = []  # --png DIR: also a PNG of each chart there, to look at


def save(fig, name: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for folder in PREVIEW:
        fig.savefig(folder / name.replace(".svg", ".png"), dpi=80)
    # NOTE: a fixed svg.hashsalt and no date keep the SVG byte-identical across runs of this script.
    plt.rcParams["svg.hashsalt"] = "spear"
    fig.savefig(OUT / name, metadata={"Date": None})
    plt.close(fig)
    print(f"wrote {(OUT / name).relative_to(ROOT)}")


def training_curves(all_runs: dict) -> None:
    fig, (ax_ce, ax_a) = plt.subplots(1, 2, figsize=(11, 4))
    top = longest(all_runs)
    shown = set()
    for key, items in all_runs.items():
        group, steps = key.rsplit("-", 1)
        for _, recs in items:
            label = f"{LABELS[group]}, {schedule(items, int(steps))}"
            ax_ce.plot([r["step"] for r in recs], [r["main_ce"] for r in recs], color=COLORS[group],
                       alpha=0.9 if int(steps) == top else 0.45, lw=1.6 if int(steps) == top else 0.9,
                       ls="-" if int(steps) == top else "--", label=None if label in shown else label)
            shown.add(label)
    for label, color, group, key, _ in DRAFTERS.values():
        for i, (_, recs) in enumerate(all_runs.get(f"{group}-{top}", [])):
            ax_a.plot([r["step"] for r in recs], [r[key][0] for r in recs], color=color, alpha=0.8,
                      label=label if i == 0 else None)
    ax_ce.set(xlabel="training step", ylabel="validation CE of the target (nats)", title="Target")
    ax_a.set(xlabel="training step", ylabel="α at depth 1 (top-1 agreement)", title=f"Drafters ({schedule(next(iter(read_runs(top).values())), top)})")
    ax_ce.legend(fontsize=8)
    ax_a.legend(fontsize=8)
    fig.tight_layout()
    save(fig, "seed-training-curves.svg")


def joint_ce(all_runs: dict) -> None:
    budgets = sorted({int(k.rsplit("-", 1)[1]) for k in all_runs if k.startswith("joint")})
    fig, axes = plt.subplots(1, len(budgets), figsize=(4.5 * len(budgets), 4), squeeze=False)
    for ax, steps in zip(axes[0], budgets):
        runs = read_runs(steps)
        groups = [g for g in ("joint0", "joint1") if g in runs]
        for x, group in enumerate(groups):
            ce = np.array([recs[-1]["main_ce"] for _, recs in runs[group]])
            sd = ce.std(ddof=1) if len(ce) > 1 else 0.0
            ax.bar(x, ce.mean(), yerr=sd, color=COLORS[group], alpha=0.6, capsize=6)
            ax.scatter(np.full(len(ce), x), ce, color="black", zorder=3, s=12)
            text = f"{ce.mean():.3f} ± {sd:.3f}" if len(ce) > 1 else f"{ce.mean():.3f} (1 seed)"
            ax.annotate(text, (x, ce.max()), textcoords="offset points", xytext=(0, 10), ha="center")
        ax.set_xticks(range(len(groups)), ["weight 0\n(target alone)", "weight 1\n(joint)"][:len(groups)])
        lows = [min(r[-1]["main_ce"] for _, r in runs[g]) for g in groups]
        highs = [max(r[-1]["main_ce"] for _, r in runs[g]) for g in groups]
        ax.set_ylim(min(lows) - 0.05, max(highs) + 0.05)
        ax.set(ylabel="validation CE of the target (nats)", title=schedule(next(iter(runs.values())), steps))
    fig.suptitle("The seed prophet's joint loss: the target's validation CE")
    fig.tight_layout()
    save(fig, "seed-joint-ce.svg")


def alpha_depth(all_runs: dict, vocab: int) -> None:
    fig, (ax_a, ax_s) = plt.subplots(1, 2, figsize=(11, 4))
    numbers = summary(vocab)
    top = longest(all_runs)
    runs = read_runs(top)
    for label, color, group, key, name in DRAFTERS.values():
        if group not in runs:
            continue
        a = np.array([recs[-1][key] for _, recs in runs[group]])  # (seeds, depths)
        depths = np.arange(1, a.shape[1] + 1)
        sd = a.std(0, ddof=1) if len(a) > 1 else np.zeros(a.shape[1])
        ax_a.errorbar(depths, a.mean(0), yerr=sd, color=color, marker="o", capsize=3, label=label)
        rows = numbers["groups"][f"{group}-{top}"][name]["per_gamma"]
        ax_s.plot([r["gamma"] for r in rows], [r["speedup"] for r in rows], color=color, marker="o",
                  label=f"{label} (c {numbers['c'][name]:.2f})")
    ax_a.set(xlabel="draft depth", ylabel="α (top-1 agreement with the target)", title=f"Acceptance per depth ({schedule(next(iter(runs.values())), top)})")
    ax_s.axhline(1.0, color="gray", lw=0.8)
    ax_s.set(xlabel="γ", ylabel="speedup τ / (1 + γ c)", title="Predicted speedup over ar")
    ax_a.legend(fontsize=8)
    ax_s.legend(fontsize=8)
    fig.tight_layout()
    save(fig, "seed-alpha-depth.svg")


SHIPPED = {  # runs/shipped/<file>.jsonl → label, colour; the first draft's CE and top-1 are val.ce[0], val.top1[0]
    "medusa": ("Medusa, 4 heads (head 1)", "#8c564b"),
    "prophet-w128": ("seed prophet, width 128 (shipped)", "#9467bd"),
    "prophet-w64": ("seed prophet, width 64", "#c5b0d5"),
    "exit-recycle": ("exit head + recycling", "#2ca02c"),
    "exit-control": ("exit head, same training without recycling", "#1f77b4"),
}


def shipped_training_curves() -> None:
    fig, (ax_ce, ax_a) = plt.subplots(1, 2, figsize=(11, 4))
    for name, (label, color) in SHIPPED.items():
        recs = [json.loads(line) for line in (ROOT / f"native-models/research/runs/shipped/{name}.jsonl").read_text().splitlines()]
        recs = [r for r in recs if "val" in r]
        minutes = [r.get("elapsed_s", 0.0) / 60 for r in recs]
        val = [r["val"] for r in recs]
        if "ce" in val[0]:
            ax_ce.plot(minutes, [v["ce"][0] for v in val], color=color, marker="o", markersize=2, label=label)
        ax_a.plot(minutes, [(v.get("top1") or v["top1_d"])[0] for v in val], color=color, marker="o", markersize=2, label=label)
    ax_ce.set(xlabel="training time, minutes (one thread, shared CPU)", ylabel="validation CE of the first draft (nats)",
              title="Shipped voice: drafters on the frozen target", ylim=(0.8, 4))
    ax_a.set(xlabel="training time, minutes (one thread, shared CPU)", ylabel="first draft's top-1 agreement", title="Agreement with the target")
    ax_ce.legend(fontsize=8)
    ax_a.legend(fontsize=8)
    fig.tight_layout()
    save(fig, "shipped-training-curves.svg")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vocab", type=int, default=1112, help="the pack's vocabulary size (for the cost model)")
    ap.add_argument("--png", type=Path, help="also write PNG previews into this folder")
    args = ap.parse_args()
    if args.png:
        args.png.mkdir(parents=True, exist_ok=True)
        PREVIEW.append(args.png)
    runs = read_runs()
    training_curves(runs)
    joint_ce(runs)
    alpha_depth(runs, args.vocab)
    shipped_training_curves()


if __name__ == "__main__":
    main()
