"""α, τ and units/s against γ for every strategy, from one `spear bench --json` run; and α per depth from a
calibration's acceptance run.

    npx spear bench --strategies ar,early-exit,draft,eagle,layer-skip,prophet,medusa --gammas 1,2,3,4,5,6,8 \
        --repeats 2 --json > docs/research/bench-strategies.json
    npx spear calibrate --json > docs/research/calibration.json
    /usr/bin/python3 native-models/research/speed_charts.py docs/research/bench-strategies.json \
        --calibration docs/research/calibration.json --out docs/research

Writes strategies-by-gamma.svg (three panels: α, τ, units/s; ar as a line in the last) and, with
--calibration, acceptance-by-depth.svg (P(draft k accepted | drafts before it accepted), greedy, γ 8).
"""
import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STYLE = {"svg.hashsalt": "spear", "svg.fonttype": "none", "font.size": 9}  # byte-stable SVG, text as text


def _series(rows: list[dict]) -> dict[str, list[dict]]:
    by: dict[str, list[dict]] = {}
    for row in rows:
        if row["strategy"] == "ar" or row.get("adaptive"):
            continue
        by.setdefault(row["strategy"], []).append(row)
    return {s: sorted(r, key=lambda x: x["gamma"]) for s, r in sorted(by.items())}


def strategies_by_gamma(rows: list[dict], title: str, out: Path) -> None:
    ar = next(r for r in rows if r["strategy"] == "ar")
    series = _series(rows)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 3, figsize=(10, 3.2))
        panels = [("acceptance_rate", "α (acceptance rate)"), ("tokens_per_target_call", "τ (units per target call)"), ("tokens_per_s", "units/s")]
        for ax, (key, label) in zip(axes, panels):
            for strategy, points in series.items():
                ax.plot([p["gamma"] for p in points], [p[key] for p in points], marker="o", markersize=3, label=strategy)
            if key == "tokens_per_s":
                ax.axhline(ar["tokens_per_s"], color="black", linestyle="--", linewidth=1, label="ar")
            ax.set_xlabel("γ (drafts per step)")
            ax.set_title(label)
            ax.grid(alpha=0.3)
        axes[2].legend(fontsize=7)
        fig.suptitle(title, fontsize=9)
        fig.tight_layout()
        fig.savefig(out, metadata={"Date": None})
        plt.close(fig)


def acceptance_by_depth(calibration: dict, title: str, out: Path) -> None:
    drafters = calibration["acceptance"]["drafters"]
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5, 3.2))
        for strategy, d in sorted(drafters.items()):
            reached = d["reached"]
            alpha = [reached[k] / reached[k - 1] if reached[k - 1] else 0 for k in range(1, len(reached))]
            ax.plot(range(1, len(reached)), alpha, marker="o", markersize=3, label=strategy)
        ax.set_xlabel("depth k")
        ax.set_ylabel("P(draft k accepted | drafts before it accepted)")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        ax.set_title(title, fontsize=9)
        fig.tight_layout()
        fig.savefig(out, metadata={"Date": None})
        plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("bench", type=Path)
    parser.add_argument("--calibration", type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/research"))
    parser.add_argument("--machine", default="AMD EPYC (Zen 4), 2 cores")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = json.loads(args.bench.read_text())
    batch, temperature = rows[0]["batch"], rows[0]["temperature"]
    strategies_by_gamma(rows, f"shipped voice, 24 bench sentences, batch {batch}, temperature {temperature}; {args.machine}", args.out / "strategies-by-gamma.svg")
    if args.calibration:
        calibration = json.loads(args.calibration.read_text())
        acceptance_by_depth(calibration, "acceptance per depth, greedy, bench sentences", args.out / "acceptance-by-depth.svg")


if __name__ == "__main__":
    main()
