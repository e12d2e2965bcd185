"""The seed prophet's ONNX graph (t2s/seed_prophet.py), proved as export.py proves the six role graphs.

    export_seed_prophet(prophet, out_dir)   # → seed_prophet.onnx, seed_prophet.json (its manifest entry), parity/
    python3 -m spear_voice.t2s.seed_prophet_export VOICE --ckpt RUN/seed_prophet.pt   # into a voice (int8, as its drafters)

One graph drafts within one step. Inputs, in order:
  input_ids  (B, T) int64    tokens; `bos` stands for the start token, which the graph computes from hidden_in
  hidden_in  (B, T, F) f32   the target's final feature h_t at the step start, one per new token as every graph
                             that reads hidden states has it (F = the target's d_model); read only where
                             input_ids is bos
  positions  (B, T) int64    the prophet's own positions within the step: the start token is 0
  past_len   (B,) int64      valid slots of the prophet's cache per row (0 at the step's first call)
  past_key_i, past_value_i   (B, P, kv_dim) per block i, the prophet's own cache within the step
Outputs: logits (B, T, V), then new_key_i, new_value_i (B, T, kv_dim) per block.

A step after position t (the target scored x_{<=t} and emits x_{t+1} from h_t): the first call reads
input_ids [bos, x_{t+1}] at positions [0, 1] with past_len 0 and an empty cache; its logits at 1 are the
distribution q of the first draft x_{t+2}. Each later call reads the last draft at the next position with the
cache grown by the earlier calls' new keys and values. The next step starts over from its own h_t.
"""

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path

import onnx
import torch
import torch.nn as nn

from .contract import HIDDEN_IN, INPUT_IDS, PAST_LEN, POSITIONS, expected_names, past_key, past_value
from .data import SPECIAL
from .export import (INVARIANT_TOLERANCE, OPSET, PARITY_TOLERANCE, _flatten, _maxdiff, _pairs, add_tensors, run_parity, sha256)
from .seed_prophet import SeedProphet
from .simplify import simplify_model

ROLE = "seed_prophet"


def seed_prophet_names(cache_layers: int) -> tuple[list[str], list[str]]:
    """The graph's (inputs, outputs) names in order."""
    return expected_names(ROLE, cache_layers)


class SeedProphetGraph(nn.Module):
    def __init__(self, prophet: SeedProphet):
        super().__init__()
        self.prophet = prophet

    def forward(self, input_ids, hidden_in, positions, past_len, *past):
        logits, new = self.prophet(hidden_in, input_ids, positions, past_len, _pairs(past))
        return (logits, *_flatten(new))


def make_feeds(prophet: SeedProphet, past_len: list[int], past_size: int, new_size: int, gen: torch.Generator) -> dict:
    """Inputs by name: rows with past_len 0 begin with bos (a step's first call); the cache past each row's
    past_len is garbage the graph must ignore."""
    cfg, B = prophet.cfg, len(past_len)
    past_len_t = torch.tensor(past_len, dtype=torch.long)
    ids = torch.randint(len(SPECIAL), cfg.vocab_size, (B, new_size), generator=gen)
    ids[past_len_t == 0, 0] = SPECIAL["bos"]
    feeds = {INPUT_IDS: ids, HIDDEN_IN: torch.randn(B, 1, cfg.feature_dim, generator=gen).expand(B, new_size, -1).contiguous(),
             POSITIONS: past_len_t[:, None] + torch.arange(new_size)[None, :], PAST_LEN: past_len_t}
    for i in range(cfg.n_layers):
        feeds[past_key(i)] = torch.randn(B, past_size, cfg.d_model, generator=gen)
        feeds[past_value(i)] = torch.randn(B, past_size, cfg.d_model, generator=gen)
    return feeds


@torch.no_grad()
def check_cached_drafting(prophet: SeedProphet, seed: int = 0) -> float:
    """A step drafted call by call (first call [bos, x1], then one token per call, garbage past the valid
    cache) equals the teacher-forced window in one call; returns the max abs difference of the logits."""
    gen = torch.Generator().manual_seed(seed)
    cfg, B, T = prophet.cfg, 3, 6
    ids = torch.randint(len(SPECIAL), cfg.vocab_size, (B, T), generator=gen)
    ids[:, 0] = SPECIAL["bos"]
    hidden = torch.randn(B, 1, cfg.feature_dim, generator=gen)
    whole, _ = prophet(hidden, ids)  # (B, T, V)
    # The engine feeds h_t with every new token: (B, T, F).
    logits, cache = prophet(hidden.expand(B, 2, -1), ids[:, :2], torch.arange(2)[None, :].expand(B, 2), torch.zeros(B, dtype=torch.long), None)
    worst = _maxdiff(logits, whole[:, :2])
    for pos in range(2, T):
        past = [tuple(torch.cat([t, 50 * torch.randn(B, 2, t.shape[-1], generator=gen)], 1) for t in kv) for kv in cache]
        logits, new = prophet(hidden, ids[:, pos:pos + 1], torch.full((B, 1), pos), torch.full((B,), pos), past)
        cache = [tuple(torch.cat([c[j], n[j]], 1) for j in range(2)) for c, n in zip(cache, new)]
        worst = max(worst, _maxdiff(logits, whole[:, pos:pos + 1]))
    if worst > INVARIANT_TOLERANCE:
        raise RuntimeError(f"seed prophet: cached drafting differs from the window by {worst:.2e}")
    return worst


def export_seed_prophet(prophet: SeedProphet, out_dir: Path, parity_dir: Path | None = None, check_parity: bool = True,
                        training: dict | None = None) -> dict:
    """seed_prophet.onnx + seed_prophet.json (the graph's manifest entry) + parity cases in out_dir; returns the entry."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    prophet.eval()
    cfg = prophet.cfg
    invariant = check_cached_drafting(prophet)
    input_names, output_names = seed_prophet_names(cfg.n_layers)
    graph = SeedProphetGraph(prophet)
    example = make_feeds(prophet, [5, 0], 5, 3, torch.Generator().manual_seed(0))  # distinct B, T, P while tracing
    dynamic_axes = {INPUT_IDS: {0: "B", 1: "T"}, HIDDEN_IN: {0: "B", 1: "T"}, POSITIONS: {0: "B", 1: "T"}, PAST_LEN: {0: "B"}}
    dynamic_axes.update({n: {0: "B", 1: "P"} for n in input_names[4:]})
    dynamic_axes.update({n: {0: "B", 1: "T"} for n in output_names})
    path = out_dir / f"{ROLE}.onnx"
    with torch.no_grad():
        torch.onnx.export(graph, tuple(example[n] for n in input_names), str(path), input_names=input_names,
                          output_names=output_names, dynamic_axes=dynamic_axes, opset_version=OPSET,
                          do_constant_folding=True)
    model = onnx.load(str(path))
    simplify_model(model)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    got = ([i.name for i in model.graph.input], [o.name for o in model.graph.output])
    if got != (input_names, output_names):
        raise RuntimeError(f"{path}: names {got} differ from the contract {(input_names, output_names)}")
    entry = {"file": path.name, "sha256": sha256(path), "role": ROLE, "cache_layers": cfg.n_layers, "kv_dim": cfg.d_model,
             "hidden_dim": cfg.feature_dim, "start_token": SPECIAL["bos"], "inputs": input_names, "outputs": output_names,
             "model": {k: getattr(cfg, k) for k in ("vocab_size", "d_model", "n_heads", "n_layers", "feature_dim")},
             **({"training": training} if training else {})}
    (out_dir / f"{ROLE}.json").write_text(json.dumps(entry, indent=2) + "\n")
    ref_dir = write_parity(graph, prophet, out_dir, Path(parity_dir or out_dir / "parity"))
    print(f"{path}: cached drafting vs window {invariant:.2e}")
    if check_parity:
        print(run_parity(ref_dir), end="")
    return entry


PARITY_CASES = {  # name → (past_len per row, past capacity P, new tokens T), as export.py's, each row's first call with bos
    "mixed": ([3, 1, 0], 4, 2),
    "empty": ([0, 0], 0, 3),
    "step": ([4], 6, 1),
}


def write_parity(graph: SeedProphetGraph, prophet: SeedProphet, model_dir: Path, ref_dir: Path, seed: int = 1) -> Path:
    """The cases in check_parity.mjs's format (export.py's write_parity_cases)."""
    ref_dir.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(seed)
    input_names, output_names = seed_prophet_names(prophet.cfg.n_layers)
    index = {"tolerance": PARITY_TOLERANCE, "data": "tensors.bin", "cases": []}
    data = bytearray()
    for case, (past_len, past_size, new_size) in PARITY_CASES.items():
        feeds = make_feeds(prophet, past_len, past_size, new_size, gen)
        with torch.no_grad():
            outs = graph(*(feeds[n] for n in input_names))
        entry = {"role": ROLE, "case": case, "graph": os.path.relpath(model_dir / f"{ROLE}.onnx", ref_dir),
                 "inputs": {}, "outputs": {}, "input_names": input_names, "output_names": output_names}
        add_tensors(entry, data, feeds, dict(zip(output_names, outs)))
        index["cases"].append(entry)
    (ref_dir / "tensors.bin").write_bytes(bytes(data))
    (ref_dir / "index.json").write_text(json.dumps(index, separators=(",", ":")) + "\n")
    return ref_dir


def add_seed_prophet(model_dir: Path, prophet: SeedProphet, training: dict, int8: bool = True, chains: bool = False) -> dict:
    """Exports the prophet, proves it (cached drafting, ONNX Runtime parity) and adds its entry to model_dir's
    manifest as the graph role `seed_prophet`, its training under the manifest's "training"; with `int8` the entry
    then names seed_prophet.int8.onnx (t2s/quantize.py), as the voice's other drafters; with `chains`, its chains
    for gamma 2-8 are built from that graph (t2s/chain.py). Other drafters' files are untouched."""
    model_dir = Path(model_dir)
    manifest_path = model_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    cfg = prophet.cfg
    if (cfg.feature_dim, cfg.vocab_size) != (manifest["d_model"], manifest["vocab"]["size"]):
        raise ValueError(f"{model_dir}: a prophet reading width {cfg.feature_dim} over {cfg.vocab_size} tokens does not fit "
                         f"a target of width {manifest['d_model']} over {manifest['vocab']['size']}")
    with tempfile.TemporaryDirectory() as tmp:
        entry = export_seed_prophet(prophet, Path(tmp), training=training)
        shutil.copyfile(Path(tmp) / entry["file"], model_dir / entry["file"])
    graph_entry = {k: entry[k] for k in ("file", "sha256", "cache_layers", "kv_dim", "hidden_dim", "inputs", "outputs")}
    manifest["graphs"][ROLE] = graph_entry
    if isinstance(manifest.get("training"), dict):
        manifest["training"][ROLE] = {"model": entry["model"], **training}
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    if int8:
        from .quantize import quantize_voice
        quantize_voice(model_dir, (ROLE,))
    if chains:
        from .chain import chain_voice
        chain_voice(model_dir, drafters=(ROLE,))
    return json.loads(manifest_path.read_text())["graphs"][ROLE]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("voice", type=Path, help="the voice folder (its manifest gains the `seed_prophet` entry)")
    ap.add_argument("--ckpt", type=Path, required=True, help="a checkpoint of train_t2s/seed_prophet.py")
    ap.add_argument("--no-int8", dest="int8", action="store_false", help="leave the entry on the float graph")
    ap.add_argument("--no-chains", dest="chains", action="store_false", help="build no chains")
    args = ap.parse_args(argv)
    from ..training import float_weights, load_checkpoint
    from .model import DecoderConfig
    ckpt = load_checkpoint(args.ckpt)
    prophet = SeedProphet(DecoderConfig(**ckpt["prophet_config"]))
    prophet.load_state_dict(float_weights(ckpt["model"]))
    entry = add_seed_prophet(args.voice, prophet, ckpt.get("summary", {}), int8=args.int8, chains=args.chains)
    print(f"{args.voice / entry['file']}: sha256 {entry['sha256'][:12]}…")


if __name__ == "__main__":
    main()
