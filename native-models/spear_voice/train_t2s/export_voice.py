"""A finished run → the voice: target.pt + draft.pt + eagle.pt (+ eval.json) become the six graphs and
manifest.json of docs/model-contract.md, then the drafters' int8 graphs and chains beside them."""

import json
from pathlib import Path

from ..t2s.chain import chain_voice
from ..t2s.data import SPECIAL
from ..t2s.export import export_model
from ..t2s.quantize import quantize_voice
from .checkpoint import eagle_names, load_model, round_weights, run_file


def export_voice(run_dir: Path, out_dir: Path, parity_dir: Path, name: str = "spear-voice", default_strategy: str = "eagle",
                 default_gamma: int = 4, default_temperature: float = 0.8) -> dict:
    """The run's checkpoints as float16 graphs (exact: the PyTorch models are rounded first, so parity is
    exact), proved by export_model's invariants and ONNX Runtime parity; returns the manifest."""
    target, t_ckpt = load_model(run_dir / "target.pt")
    draft, d_ckpt = load_model(run_dir / "draft.pt")
    eagle, e_ckpt = load_model(run_file(run_dir, "eagle"))
    for m in (target, draft, eagle):
        round_weights(m, "float16")
    evals_path = run_dir / "eval.json"
    evals = json.loads(evals_path.read_text()) if evals_path.exists() else {}
    voice = {"max_units": {"per_phoneme": t_ckpt["max_units"]["per_phoneme"], "base": t_ckpt["max_units"]["base"]},
             "unit_rate": t_ckpt["unit_rate"], "default_strategy": default_strategy, "default_gamma": default_gamma,
             "default_temperature": default_temperature}
    # A drafters stage that retrained the exit head (distill_exit) saved the target with the exit head's
    # training; the rest of the target is the one it started from ("base"), and the manifest says both.
    base = t_ckpt.get("base")
    exit_head = ({"state": t_ckpt["state"], "config": t_ckpt["train_config"], "code_commit": t_ckpt["code_commit"],
                  "units_source": t_ckpt["units_source"]} if base else t_ckpt.get("exit_head"))
    target_info = base or t_ckpt
    training = {"kind": "train_t2s", "config": target_info["train_config"], "units_source": target_info["units_source"],
                "train_code_commit": target_info["code_commit"],
                # The drafters may come from a later run than the target (self-distillation): their own
                # configs and code commits, and what data they learned from.
                "drafters": {k: {"config": c["train_config"], "code_commit": c["code_commit"], "units_source": c["units_source"]}
                             for k, c in (("draft", d_ckpt), ("eagle", e_ckpt))} | (
                                 {"exit_head": exit_head} if exit_head else {}),
                "stages": {k: c["state"] for k, c in (("target", target_info), ("draft", d_ckpt), ("eagle", e_ckpt))},
                # Flat, as `spear eval` reads it: the last stage's numbers cover every head.
                "validation": evals.get("drafters") or evals.get("target") or {}, "validation_by_stage": evals}
    # A spear-t2s-ckpt/1 run (a copied target's "base" among them) names the EAGLE drafter's fields prophet*.
    training = eagle_names(training)
    export_model(target, draft, eagle, out_dir, name=name, vocab=t_ckpt["vocab"], stop_token=SPECIAL["eos"],
                 training=training, parity_dir=parity_dir, weights_dtype="float16", extra={"voice": voice})
    # The drafters ship with int8 weights: a drafter call here is bound by reading its weights, and a
    # drafter's precision never changes what is emitted (t2s/quantize.py, docs/results.md).
    quantize_voice(out_dir)
    # One-row drafting (greedy, or sampled with temperature alone) in one session run per step
    # (t2s/chain.py): the same drafts, less fixed cost.
    chain_voice(out_dir)
    manifest = json.loads((out_dir / "manifest.json").read_text())
    sizes = {p.name: p.stat().st_size for p in sorted(out_dir.glob("*.onnx"))}
    print(f"{out_dir}: " + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sizes.items()) + f"; total {sum(sizes.values()) / 1e6:.1f} MB")
    return manifest
