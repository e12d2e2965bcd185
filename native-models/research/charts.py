"""The charts of docs/research.md, drawn from the run logs in native-models/research/runs/ (seed_prophet.py run).

    /usr/bin/python3 native-models/research/charts.py [--vocab V]

Writes docs/research/:
  seed-training-curves.svg   validation CE of the target and α at depth 1 of each drafter over training steps
  seed-joint-ce.svg          the target's validation CE with and without the seed prophet's joint loss, mean ± sd
  seed-alpha-depth.svg       α per draft depth (early exit with and without recycling, the seed prophet), and the
                             speedup per γ that seed_prophet.py's cost model gives them
"""

import argparse
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
DRAFTERS = {"exit": ("early exit", "#1f77b4", "joint0", "exit_top1_d"),
            "exit_recycle": ("early exit + recycling", "#2ca02c", "recycle", "exit_top1_d"),
            "seed_prophet": ("seed prophet", "#9467bd", "joint0", "seed_prophet_top1_d")}


def save(fig, name: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    # NOTE: a fixed svg.hashsalt and no date keep the SVG byte-identical across runs of this script.
    plt.rcParams["svg.hashsalt"] = "spear"
    fig.savefig(OUT / name, metadata={"Date": None})
    plt.close(fig)
    print(f"wrote {(OUT / name).relative_to(ROOT)}")


def training_curves(runs: dict) -> None:
    fig, (ax_ce, ax_a) = plt.subplots(1, 2, figsize=(11, 4))
    for group, items in runs.items():
        for i, (_, recs) in enumerate(items):
            steps = [r["step"] for r in recs]
            ax_ce.plot(steps, [r["main_ce"] for r in recs], color=COLORS[group], alpha=0.8,
                       label=LABELS[group] if i == 0 else None)
    for name, (label, color, group, key) in DRAFTERS.items():
        for i, (_, recs) in enumerate(runs.get(group, [])):
            ax_a.plot([r["step"] for r in recs], [r[key][0] for r in recs], color=color, alpha=0.8,
                      label=label if i == 0 else None)
    ax_ce.set(xlabel="training step", ylabel="validation CE of the target (nats)", title="Target")
    ax_a.set(xlabel="training step", ylabel="α at depth 1 (top-1 agreement)", title="Drafters")
    ax_ce.legend(fontsize=8)
    ax_a.legend(fontsize=8)
    fig.tight_layout()
    save(fig, "seed-training-curves.svg")


def joint_ce(runs: dict) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    groups = [g for g in ("joint0", "joint1") if g in runs]
    for x, group in enumerate(groups):
        ce = np.array([recs[-1]["main_ce"] for _, recs in runs[group]])
        sd = ce.std(ddof=1) if len(ce) > 1 else 0.0
        ax.bar(x, ce.mean(), yerr=sd, color=COLORS[group], alpha=0.6, capsize=6)
        ax.scatter(np.full(len(ce), x), ce, color="black", zorder=3, s=12)
        ax.annotate(f"{ce.mean():.4f} ± {sd:.4f}", (x, ce.mean()), textcoords="offset points", xytext=(0, 12), ha="center")
    ax.set_xticks(range(len(groups)), ["weight 0\n(target alone)", "weight 1\n(joint)"])
    lows = [min(r[-1]["main_ce"] for _, r in runs[g]) for g in groups]
    highs = [max(r[-1]["main_ce"] for _, r in runs[g]) for g in groups]
    ax.set_ylim(min(lows) - 0.05, max(highs) + 0.05)
    ax.set(ylabel="validation CE of the target (nats)", title="Seed prophet's joint loss: the target's CE")
    fig.tight_layout()
    save(fig, "seed-joint-ce.svg")


def alpha_depth(runs: dict, vocab: int) -> None:
    fig, (ax_a, ax_s) = plt.subplots(1, 2, figsize=(11, 4))
    numbers = summary(vocab)
    for name, (label, color, group, key) in DRAFTERS.items():
        if group not in runs:
            continue
        a = np.array([recs[-1][key] for _, recs in runs[group]])  # (seeds, depths)
        depths = np.arange(1, a.shape[1] + 1)
        sd = a.std(0, ddof=1) if len(a) > 1 else np.zeros(a.shape[1])
        ax_a.errorbar(depths, a.mean(0), yerr=sd, color=color, marker="o", capsize=3, label=label)
        rows = numbers["groups"][group][name]["per_gamma"]
        ax_s.plot([r["gamma"] for r in rows], [r["speedup"] for r in rows], color=color, marker="o",
                  label=f"{label} (c {numbers['c'][name]:.2f})")
    ax_a.set(xlabel="draft depth", ylabel="α (top-1 agreement with the target)", title="Acceptance per depth")
    ax_s.axhline(1.0, color="gray", lw=0.8)
    ax_s.set(xlabel="γ", ylabel="speedup τ / (1 + γ c)", title="Predicted speedup over ar")
    ax_a.legend(fontsize=8)
    ax_s.legend(fontsize=8)
    fig.tight_layout()
    save(fig, "seed-alpha-depth.svg")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vocab", type=int, default=1112, help="the pack's vocabulary size (for the cost model)")
    args = ap.parse_args()
    runs = read_runs()
    training_curves(runs)
    joint_ce(runs)
    alpha_depth(runs, args.vocab)


if __name__ == "__main__":
    main()
