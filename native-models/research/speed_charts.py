"""α, τ and the speedup over ar against γ for every strategy, from `spear bench --json` runs; α per depth from a
calibration's acceptance run; SpecTr's acceptance and speed against K.

    npx spear bench --strategies ar,early-exit,draft,eagle,layer-skip,prophet --gammas 1,2,3,4,5,6,8 \
        --repeats 2 --json > docs/research/bench-strategies.json
    npx spear bench --strategies ar,medusa --gammas 1,2,3,4 --repeats 2 --json > docs/research/bench-medusa.json
    npx spear calibrate --json > docs/research/calibration.json
    /usr/bin/python3 native-models/research/speed_charts.py docs/research/bench-strategies.json \
        docs/research/bench-medusa.json --calibration docs/research/calibration.json \
        --spectr docs/research/spectr.json --out docs/research

Writes strategies-by-gamma.svg (three panels: α, τ, speedup over ar; each bench file's speedups are over its
own ar, so several files may be drawn together), with --calibration acceptance-by-depth.svg (P(draft k
accepted | drafts before it accepted), greedy, γ 8), and with --spectr spectr-by-k.svg (α, τ and the
speedup over one draft against K drafts per step, per temperature and γ, from results.md's SpecTr runs).
"""
import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STYLE = {"svg.hashsalt": "spear", "svg.fonttype": "none", "font.size": 9}  # byte-stable SVG, text as text


def _save(fig, axes, title: str, out: Path) -> None:
    """The three-panel charts' legend (in the last panel), title and byte-stable SVG."""
    axes[-1].legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(out, metadata={"Date": None})
    plt.close(fig)


def _series(rows: list[dict]) -> dict[str, list[dict]]:
    by: dict[str, list[dict]] = {}
    for row in rows:
        if row["strategy"] == "ar" or row.get("adaptive"):
            continue
        by.setdefault(row["strategy"], []).append(row)
    return {s: sorted(r, key=lambda x: x["gamma"]) for s, r in sorted(by.items())}


def strategies_by_gamma(rows: list[dict], title: str, out: Path) -> None:
    series = _series(rows)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 3, figsize=(10, 3.2))
        panels = [("acceptance_rate", "α (acceptance rate)"), ("tokens_per_target_call", "τ (units per target call)"),
                  ("speedup_vs_ar", "speedup over ar (units/s)")]
        for ax, (key, label) in zip(axes, panels):
            for strategy, points in series.items():
                ax.plot([p["gamma"] for p in points], [p[key] for p in points], marker="o", markersize=3, label=strategy)
            if key == "speedup_vs_ar":
                ax.axhline(1, color="black", linestyle="--", linewidth=1, label="ar")
            ax.set_xlabel("γ (drafts per step)")
            ax.set_title(label)
            ax.grid(alpha=0.3)
        _save(fig, axes, title, out)


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


def spectr_by_k(spectr: dict, title: str, out: Path) -> None:
    """α, τ and the speedup over K = 1 (same γ, same run; the mean over the runs) against K."""
    keyed: dict[tuple[float, int], dict[int, list[dict]]] = {}
    for run in spectr["runs"]:
        for row in run["rows"]:
            if row["strategy"] != "ar":
                keyed.setdefault((row["temperature"], row["gamma"]), {}).setdefault(row["drafts"], []).append(row)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 3, figsize=(10, 3.2))
        for (temperature, gamma), by_k in sorted(keyed.items()):
            ks = sorted(by_k)
            label = f"T {temperature:g}, γ {gamma}"
            axes[0].plot(ks, [by_k[k][0]["acceptance_rate"] for k in ks], marker="o", markersize=3, label=label)
            axes[1].plot(ks, [by_k[k][0]["tokens_per_target_call"] for k in ks], marker="o", markersize=3, label=label)
            runs = len(by_k[1])
            rel = [sum(by_k[k][i]["speedup_vs_ar"] / by_k[1][i]["speedup_vs_ar"] for i in range(runs)) / runs for k in ks]
            axes[2].plot(ks, rel, marker="o", markersize=3, label=label)
        axes[2].axhline(1, color="black", linestyle="--", linewidth=1)
        for ax, label in zip(axes, ["α (acceptance rate)", "τ (units per target call)", "units/s over K = 1"]):
            ax.set_xlabel("K (drafts per step)")
            ax.set_xticks(sorted({k for by_k in keyed.values() for k in by_k}))
            ax.set_title(label)
            ax.grid(alpha=0.3)
        _save(fig, axes, title, out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("bench", type=Path, nargs="*")
    parser.add_argument("--calibration", type=Path)
    parser.add_argument("--spectr", type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/research"))
    parser.add_argument("--machine", default="AMD EPYC (Zen 4), 2 cores")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.bench:
        rows = [row for path in args.bench for row in json.loads(path.read_text())]
        batch, temperature = rows[0]["batch"], rows[0]["temperature"]
        title = f"shipped voice, 24 bench sentences, batch {batch}, temperature {temperature}; {args.machine}"
        strategies_by_gamma(rows, title, args.out / "strategies-by-gamma.svg")
    if args.calibration:
        calibration = json.loads(args.calibration.read_text())
        acceptance_by_depth(calibration, "acceptance per depth, greedy, bench sentences", args.out / "acceptance-by-depth.svg")
    if args.spectr:
        spectr = json.loads(args.spectr.read_text())
        spectr_by_k(spectr, f"SpecTr (K-SEQ), EAGLE, 24 bench sentences, batch 1; {args.machine}", args.out / "spectr-by-k.svg")


if __name__ == "__main__":
    main()
