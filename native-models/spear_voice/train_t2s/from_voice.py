"""Fine-tune a shipped voice's drafters without its training run: the voice's own graphs back into trainer
checkpoints, the app's greedy readings as a pack, and the retrained drafters back into the voice.

    cd native-models
    python3 -m spear_voice.train_t2s.from_voice checkpoints --voice voice --pack work/pack-everyday --out work/ft/init
    node --import tsx tools/greedy_readings.mts --voice voice --pack work/pack-everyday --split train --to 9000 \
        --out work/ft/greedy/train.0.i32        # (and --from 9000 --to 18000 … in a second process; --split val)
    python3 -m spear_voice.train_t2s.from_voice readings --pack work/pack-everyday --out work/ft/pack-greedy \
        --split train=work/ft/greedy/train.0.i32,work/ft/greedy/train.1.i32 --split val=work/ft/greedy/val.i32
    python3 -m spear_voice.train_t2s train --preset cpu --stages drafters --pack work/ft/pack-greedy \
        --target_from work/ft/init/target.pt --init_from work/ft/init --out work/ft/run …
    python3 -m spear_voice.train_t2s.from_voice drafters --run work/ft/run --voice voice

`checkpoints`: target.pt (with its exit head), draft.pt and eagle.pt rebuilt from the float graphs the manifest
names (their `source`s), proved against those graphs through ONNX Runtime (check_parity.mjs) before they are
written. The graphs store float16 weights, so the checkpoints hold exactly what the voice computes.

`readings`: the records tools/greedy_readings.mts writes (int32: length, then prompt + units + eos, per row) as an
ordinary pack (t2s/data.py) of the given splits; every record's prompt must be its row's prompt in --pack. Splits
not given are copied from --pack. Greedy decoding accepts a draft exactly when it is the target's argmax in the
target's own context, so drafters learn from the target's readings (self_distill.py); these are the readings of
the target the app decodes with (the int8 one), rather than of the float32 PyTorch model.

`drafters`: draft.pt and eagle.pt of a run exported as the voice's float16 drafter sources (PyTorch invariants
and ONNX Runtime parity), quantised to int8 and chained again (t2s/quantize.py, t2s/chain.py), and the manifest's
training records for them replaced. The target's graphs are not touched, so greedy output is unchanged.
"""

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

from ..t2s.data import load_pack
from ..t2s.export import check_invariants, export_graph, make_inputs, role_graphs, run_parity, sha256, write_parity_cases
from ..t2s.contract import expected_names
from ..t2s.model import DecoderConfig, DraftModel, Eagle
from ..t2s.quantize import quantize_voice
from ..training import save_checkpoint
from .checkpoint import checkpoint, load_model, round_weights
from .config import TrainConfig
from .recycle_exit import _load_block, _weights, target_from_voice

DRAFTERS = ("draft", "eagle")


def _source(voice: Path, manifest: dict, role: str) -> Path:
    entry = manifest["graphs"][role]
    return voice / entry.get("source", entry)["file"]


def prove_sources(voice: Path, manifest: dict, graphs: dict, roles, vocab_size: int) -> None:
    """ONNX Runtime parity (check_parity.mjs) of the voice's float graphs of `roles` with the PyTorch `graphs`
    (role_graphs); raises where an output differs. The parity cases name <role>.onnx, so the sources are linked
    under those names in a temporary folder."""
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "graphs"
        model_dir.mkdir()
        for role in roles:
            (model_dir / f"{role}.onnx").symlink_to(_source(voice, manifest, role).resolve())
        print(run_parity(write_parity_cases({r: graphs[r] for r in roles}, vocab_size, model_dir, Path(tmp) / "parity")), end="")


def draft_from_voice(voice: Path, manifest: dict) -> DraftModel:
    """The voice's draft model: embedding, blocks (7 products and 2 norms each), final norm, LM head."""
    draft = DraftModel(DecoderConfig(**manifest["training"]["draft"]))
    norms, matmuls, embed = _weights(_source(voice, manifest, "draft"))
    n = draft.cfg.n_layers
    if len(matmuls) != 7 * n + 1 or len(norms) != 2 * n + 1:
        raise ValueError(f"{voice}: draft graph has {len(matmuls)} products and {len(norms)} norms, expected {7 * n + 1} and {2 * n + 1}")
    draft.embed.weight.data = torch.from_numpy(embed.copy())
    for i, block in enumerate(draft.blocks):
        _load_block(block, norms[2 * i: 2 * i + 2], matmuls[7 * i: 7 * i + 7])
    draft.norm.weight.data = torch.from_numpy(norms[-1].copy())
    draft.lm_head.weight.data = torch.from_numpy(matmuls[-1].T.copy())
    return draft.eval()


def eagle_from_voice(voice: Path, manifest: dict) -> Eagle:
    """The voice's EAGLE drafter: input projection, blocks, norm; embedding and LM head frozen (the target's)."""
    eagle = Eagle(DecoderConfig(**manifest["training"]["eagle"]))
    norms, matmuls, embed = _weights(_source(voice, manifest, "eagle"))
    n = eagle.cfg.n_layers
    if eagle.up is not None or len(matmuls) != 7 * n + 2 or len(norms) != 2 * n + 1:
        raise ValueError(f"{voice}: EAGLE graph has {len(matmuls)} products and {len(norms)} norms, expected {7 * n + 2} and {2 * n + 1}")
    eagle.embed.weight.data = torch.from_numpy(embed.copy())
    eagle.fc.weight.data = torch.from_numpy(matmuls[0].T.copy())
    for i, block in enumerate(eagle.blocks):
        _load_block(block, norms[2 * i: 2 * i + 2], matmuls[1 + 7 * i: 8 + 7 * i])
    eagle.norm.weight.data = torch.from_numpy(norms[-1].copy())
    eagle.lm_head.weight.data = torch.from_numpy(matmuls[-1].T.copy())
    eagle.embed.requires_grad_(False)
    eagle.lm_head.requires_grad_(False)
    return eagle.eval()


def voice_checkpoints(voice: Path, pack: Path, out: Path) -> None:
    """target.pt, draft.pt, eagle.pt of the voice in `out`, after ONNX Runtime parity with its graphs."""
    manifest = json.loads((voice / "manifest.json").read_text())
    meta = json.loads((pack / "meta.json").read_text())
    if meta["vocab"] != manifest["vocab"]:
        raise ValueError(f"{pack}/meta.json: vocabulary differs from {voice}/manifest.json")
    target, draft, eagle = target_from_voice(voice), draft_from_voice(voice, manifest), eagle_from_voice(voice, manifest)
    graphs = role_graphs(target, draft, eagle)
    prove_sources(voice, manifest, graphs, ("full", "draft", "eagle"), target.cfg.vocab_size)
    trained = manifest["training"].get("drafters", {}).get("eagle", {}).get("config", {})  # the recipe the drafters had
    config = TrainConfig(**{k: v for k, v in trained.items() if k in TrainConfig.__dataclass_fields__})
    meta = {**meta, "units_source": f"{voice}/manifest.json", "code_commit": manifest.get("code_commit")}
    out.mkdir(parents=True, exist_ok=True)
    for name, model in (("target", target), ("draft", draft), ("eagle", eagle)):
        save_checkpoint(out / f"{name}.pt", checkpoint(config, "drafters", model, {"step": 0}, meta))
    print(f"{out}: target.pt, draft.pt, eagle.pt from {voice}")


def read_records(path: Path) -> list[np.ndarray]:
    """tools/greedy_readings.mts's records: int32 length, then that many tokens, repeated."""
    data = np.fromfile(path, dtype="<i4")
    rows, at = [], 0
    while at < len(data):
        n = int(data[at])
        if n <= 0 or at + 1 + n > len(data):
            raise ValueError(f"{path}: a record at int {at} claims {n} tokens, {len(data) - at - 1} are left")
        rows.append(data[at + 1: at + 1 + n])
        at += 1 + n
    return rows


def readings_pack(pack: Path, out: Path, records: dict[str, list[Path]]) -> dict:
    """A pack of the records' sequences for the given splits (rows in the records' order, which must be the first
    rows of the split in --pack), the other splits copied; returns its meta."""
    meta, splits = load_pack(pack)
    out.mkdir(parents=True, exist_ok=True)
    for name in meta["splits"]:
        if name not in records:
            for suffix in ("tokens.npy", "offsets.npy", "sep.npy", "ids.txt"):
                shutil.copyfile(pack / f"{name}.{suffix}", out / f"{name}.{suffix}")
            continue
        split = splits[name]
        seqs = [row for path in records[name] for row in read_records(path)]
        if len(seqs) > len(split):
            raise ValueError(f"{name}: {len(seqs)} records, the split has {len(split)} rows")
        for i, seq in enumerate(seqs):
            prompt = split.row(i)[:split.sep[i] + 1]
            if len(seq) <= len(prompt) or not np.array_equal(seq[:len(prompt)], prompt):
                raise ValueError(f"{name}: record {i} does not start with row {i}'s prompt")
        offsets = np.zeros(len(seqs) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(s) for s in seqs])
        np.save(out / f"{name}.tokens.npy", np.concatenate(seqs).astype(split.tokens.dtype))
        np.save(out / f"{name}.offsets.npy", offsets)
        np.save(out / f"{name}.sep.npy", split.sep[:len(seqs)])
        ids = (pack / f"{name}.ids.txt").read_text().splitlines()[:len(seqs)]
        (out / f"{name}.ids.txt").write_text("".join(i + "\n" for i in ids))
        units = int(sum(len(s) - split.sep[i] - 1 for i, s in enumerate(seqs)))
        meta["splits"][name] = {"sentences": len(seqs), "missing_units": 0, "tokens": int(offsets[-1]), "unit_tokens": units}
    meta["units_source"] = f"greedy readings (tools/greedy_readings.mts) over {meta['units_source']}"
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"{out}: " + ", ".join(f"{k} {v['sentences']} rows" for k, v in meta["splits"].items()))
    return meta


def replace_drafters(run: Path, voice: Path) -> dict:
    """The run's draft and EAGLE as the voice's drafters (float16 sources, int8 graphs, chains); returns the manifest."""
    manifest_path = voice / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    target = target_from_voice(voice)
    drafters = {}
    for name in DRAFTERS:
        model, ckpt = load_model(run / f"{name}.pt")
        expected = manifest["training"][name]
        if {k: v for k, v in vars(model.cfg).items() if k in expected} != expected:
            raise ValueError(f"{run}/{name}.pt: model config differs from the voice's {name}")
        round_weights(model, "float16")
        drafters[name] = (model.eval(), ckpt)
    if not torch.equal(drafters["eagle"][0].lm_head.weight, target.lm_head.weight.half().float()):
        raise ValueError(f"{run}/eagle.pt: its LM head is not the voice target's")
    invariants = check_invariants(target, drafters["draft"][0], drafters["eagle"][0])
    graphs = role_graphs(target, drafters["draft"][0], drafters["eagle"][0])
    gen = torch.Generator().manual_seed(0)
    for name in DRAFTERS:
        graph, cache_layers, kv_dim, hidden_dim = graphs[name]
        entry = manifest["graphs"][name]
        source = entry.get("source", entry)["file"]
        example = make_inputs(name, cache_layers, kv_dim, hidden_dim, target.cfg.vocab_size, [5, 2], 5, 3, gen)
        tmp = voice / f"{source}.tmp"
        export_graph(graph, name, cache_layers, example, tmp, "float16")
        tmp.replace(voice / source)
        if expected_names(name, cache_layers) != (entry["inputs"], entry["outputs"]):
            raise ValueError(f"{voice}: {name}'s tensor names changed")
        if "source" in entry:
            entry["source"]["sha256"] = sha256(voice / source)
        else:
            entry["sha256"] = sha256(voice / source)
        ckpt = drafters[name][1]
        manifest["training"].setdefault("drafters", {})[name] = {"config": ckpt["train_config"], "code_commit": ckpt["code_commit"],
                                                 "units_source": ckpt["units_source"]}
        manifest["training"].setdefault("stages", {})[name] = ckpt["state"]
    tmp = manifest_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    tmp.replace(manifest_path)
    prove_sources(voice, manifest, graphs, DRAFTERS, target.cfg.vocab_size)
    print("PyTorch invariants (max abs diff): " + ", ".join(f"{k} {v:.2e}" for k, v in invariants.items()))
    quantize_voice(voice, roles=DRAFTERS)  # int8 graphs from the new sources, and their chains
    return json.loads(manifest_path.read_text())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python3 -m spear_voice.train_t2s.from_voice", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("checkpoints", help="the voice's target, draft and EAGLE as trainer checkpoints")
    c.add_argument("--voice", type=Path, required=True)
    c.add_argument("--pack", type=Path, required=True, help="the pack the drafters will train on (its meta goes into the checkpoints)")
    c.add_argument("--out", type=Path, required=True)
    r = sub.add_parser("readings", help="greedy_readings.mts records as a pack")
    r.add_argument("--pack", type=Path, required=True, help="the pack whose prompts were read")
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--split", action="append", required=True, metavar="NAME=FILE[,FILE…]",
                   help="a split's records, in row order (repeatable)")
    d = sub.add_parser("drafters", help="a run's draft.pt and eagle.pt into the voice")
    d.add_argument("--run", type=Path, required=True)
    d.add_argument("--voice", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "checkpoints":
        voice_checkpoints(args.voice, args.pack, args.out)
    elif args.command == "readings":
        records = {}
        for item in args.split:
            name, _, files = item.partition("=")
            if not files:
                parser.error(f"--split {item!r}: expected NAME=FILE[,FILE…]")
            records[name] = [Path(f) for f in files.split(",")]
        readings_pack(args.pack, args.out, records)
    else:
        replace_drafters(args.run, args.voice)


if __name__ == "__main__":
    main()
