"""The trainer's command line: pack, train, validate, export (`python3 -m spear_voice.train_t2s --help`)."""

import argparse
import json
from dataclasses import fields
from pathlib import Path

from .. import REPO_ROOT, WORK
from . import __doc__ as OVERVIEW
from .config import PRESETS, TrainConfig, make_config
from .export_voice import export_voice
from .pack import make_pack
from .train import train
from .validate import validate_run


def config_from_args(args) -> TrainConfig:
    """The preset's config with every flag given on the command line."""
    return make_config(args.preset, **{f.name: getattr(args, f.name) for f in fields(TrainConfig)
                                       if getattr(args, f.name, None) is not None})


def parse_bool(text: str) -> bool:
    return text.lower() in ("1", "true", "yes")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python3 -m spear_voice.train_t2s", description=OVERVIEW,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("pack", help="corpus (+ units) → the training pack")
    p.add_argument("--corpus", type=Path, default=WORK / "corpus")
    p.add_argument("--units", type=Path, default=None, help="units/{train,val,test}.jsonl; leave out with --fake-units")
    p.add_argument("--fake-units", action="store_true", help="derive stand-in units from the phonemes")
    p.add_argument("--n-units", type=int, default=512, help="K, the unit vocabulary")
    p.add_argument("--unit-rate", type=float, default=25.0, help="units per second of audio")
    p.add_argument("--out", type=Path, default=WORK / "pack")

    t = sub.add_parser("train", help="train the target, then the drafters")
    t.add_argument("--preset", choices=sorted(PRESETS), default="cpu")
    for f in fields(TrainConfig):  # every config field is a flag: --lr 3e-4, --keep_best (true), --resume
        if f.type is bool:
            t.add_argument(f"--{f.name}", type=parse_bool, nargs="?", const=True, default=None)
        else:
            t.add_argument(f"--{f.name}", type=f.type, default=None)

    v = sub.add_parser("validate", help="a run's heads on a pack's val split (the teacher's units), into its eval.json")
    v.add_argument("--run", type=Path, required=True, help="folder with target.pt, draft.pt, eagle.pt (+ eval.json)")
    v.add_argument("--pack", type=Path, default=WORK / "pack")
    v.add_argument("--threads", type=int, default=2)

    e = sub.add_parser("export", help="checkpoints → ONNX voice (six graphs + manifest), parity-checked")
    e.add_argument("--run", type=Path, required=True, help="folder with target.pt, draft.pt, eagle.pt (+ eval.json)")
    e.add_argument("--out", type=Path, default=REPO_ROOT / "native-models/voice")
    e.add_argument("--parity", type=Path, default=WORK / "voice-parity")
    e.add_argument("--name", default="spear-voice")
    e.add_argument("--default-strategy", default="eagle")
    e.add_argument("--default-gamma", type=int, default=4)
    e.add_argument("--default-temperature", type=float, default=0.8)
    args = parser.parse_args(argv)

    if args.command == "pack":
        if not args.fake_units and args.units is None:
            parser.error("pack needs --units DIR or --fake-units")
        meta = make_pack(args.out, args.corpus, None if args.fake_units else args.units, args.n_units, args.unit_rate)
        print(json.dumps({k: v for k, v in meta.items() if k != "phoneme_inventory"}, indent=1))
    elif args.command == "train":
        train(config_from_args(args))
    elif args.command == "validate":
        validate_run(args.run, args.pack, args.threads)
    else:
        export_voice(args.run, args.out, args.parity, args.name, args.default_strategy, args.default_gamma,
                     args.default_temperature)
