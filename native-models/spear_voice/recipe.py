"""The whole voice in one command, on any machine: pack → target → greedy readings → drafters → checker → export.

    python3 -m spear_voice.recipe --preset gpu --budget-s 1500 --out DIR --pack PACK
    python3 -m spear_voice.recipe --preset cpu --budget-s 7000 --out DIR --corpus CORPUS --units UNITS --n-units 1024
    python3 -m spear_voice.recipe --resume --out DIR            # after a stop: the same run, where it left off
    python3 -m spear_voice.recipe --resume --out DIR --stages export --speaker native-models/voice/speaker

Stages, each writing one folder under DIR (nothing is written anywhere else):

    pack      DIR/pack/       the training pack (train_t2s/pack.py), unless --pack names one
    target    DIR/target/     the target and its early-exit head (train_t2s, stage "target")
    greedy    DIR/greedy/     the target's greedy readings of the val and train sentences (train_t2s/self_distill.py)
    drafters  DIR/drafters/   draft, eagle and exit head self-distilled on those readings, the target frozen,
                              then validated on the pack's teacher units
    checker   DIR/checker/    the reading check's unit reader (checker/train.py)
    export    DIR/voice/      the ONNX voice: six graphs, int8 drafters, chains, manifest; voice/checker/;
                              voice/speaker/ copied from --speaker (the speaking network is trained apart:
                              spear_voice.speaker.train)

One wall-clock budget (--budget-s) is shared: target, greedy, drafters and checker each get their preset's
share of what is left when they start, after the preset's reserve for pack and export. DIR/recipe.json records
the run's options and each stage's plan and state; --resume skips finished stages and continues a stopped one
from its checkpoints with the budget it was planned with. Pack and export need node (the app's phoneme inventory;
ONNX Runtime parity); the training stages need only Python, so one machine may train (--stages
target,greedy,drafters,checker on a given pack) and another export (--resume --stages export).
"""

import argparse
import json
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .checker.export import export_checker
from .checker.train import CheckerTrainConfig, train_checker
from .train_t2s.config import TrainConfig, make_config
from .train_t2s.export_voice import export_voice
from .train_t2s.pack import make_pack
from .train_t2s.self_distill import self_distill
from .train_t2s.train import train, train_code_commit
from .train_t2s.validate import validate_run

STAGES = ("pack", "target", "greedy", "drafters", "checker", "export")
STATE_FILE = "recipe.json"
MIN_STAGE_S = 2.0  # a budgeted stage never gets less, however late it starts

# The drafters of the shipped voice: self-distilled on the target's greedy readings, the exit head retrained
# with them, EAGLE unrolled 4 steps and partly trained on the readings' tokens (docs/voice-reading.md).
DRAFTER_SETTINGS = dict(distill_exit=True, eagle_unroll=4, eagle_ce_weight=1.0, draft_distill=0.3, exit_distill=0.3,
                        dropout=0.0, lr=1e-3)
# The shipped voice's defaults: EAGLE at gamma 3, greedy (docs/results.md measures them).
EXPORT_SETTINGS = dict(default_strategy="eagle", default_gamma=3, default_temperature=0.0)


@dataclass(frozen=True)
class Preset:
    train: str  # train_t2s preset (model size, batch, schedule)
    shares: dict  # share of the budget per budgeted stage, among those still to run
    reserve_s: float  # kept back for the stages without a budget (pack, export)
    threads: int  # CPU threads of every stage
    greedy_batch: int  # rows per greedy-reading batch
    checker_batch: int  # sentences per checker step
    checker_eval_every: int  # checker steps between validations


PRESETS = {
    "gpu": Preset(train="gpu", shares={"target": 0.30, "greedy": 0.10, "drafters": 0.45, "checker": 0.15},
                  reserve_s=120.0, threads=4, greedy_batch=2048, checker_batch=64, checker_eval_every=500),
    "cpu": Preset(train="cpu", shares={"target": 0.45, "greedy": 0.10, "drafters": 0.35, "checker": 0.10},
                  reserve_s=300.0, threads=2, greedy_batch=48, checker_batch=32, checker_eval_every=200),
}


@dataclass
class RecipeOptions:
    """What a run is: recorded in DIR/recipe.json, so --resume continues exactly this run."""
    preset: str = "cpu"
    budget_s: float = 7000.0
    pack: str = ""  # an existing pack; empty: build DIR/pack from corpus (+ units)
    corpus: str = ""  # {train,val,test}.jsonl of the corpus
    units: str = ""  # the teacher's units, same layout; empty with fake_units
    fake_units: bool = False  # stand-in units derived from the phonemes (tests)
    n_units: int = 1024  # K, the unit vocabulary
    unit_rate: float = 25.0  # units per second of audio
    init_from: str = ""  # a folder with draft.pt / eagle.pt to start the drafters from (fine-tuning)
    train_overrides: dict = field(default_factory=dict)  # TrainConfig fields set with --set, every t2s stage
    greedy_limit: int = 0  # rows per split of greedy readings (0: all that fit the stage's budget)
    device: str = "auto"  # auto: cuda when there is one
    code_commit: str = ""  # for a copied tree without git history


# ----------------------------------------------------------------------------------------------------
# Planning (pure: the tests check it without training anything)


def stage_budget(stage: str, budget_s: float, spent_s: float, pending: list[str], preset: Preset) -> float:
    """Seconds for `stage`: its share of what is left of the budget (less the reserve), among the budgeted
    stages still to run (`pending`, `stage` included)."""
    shares = {s: preset.shares[s] for s in pending if s in preset.shares}
    left = budget_s - spent_s - preset.reserve_s
    return max(MIN_STAGE_S, left * shares[stage] / sum(shares.values()))


def stages_to_run(state: dict, selected: list[str]) -> list[str]:
    """The selected stages not finished yet, in recipe order."""
    return [s for s in STAGES if s in selected and state["stages"].get(s, {}).get("status") != "done"]


def spent_s(state: dict) -> float:
    """Seconds the run has used: the finished stages' time, and the planned budget of a stage that was stopped."""
    return sum(st.get("elapsed_s", 0.0) if st.get("status") == "done" else st.get("planned_s", 0.0)
               for st in state["stages"].values())


def open_run(out: Path, given: dict, resume: bool) -> dict:
    """The run's state: read from out/recipe.json with --resume (where `given` options must agree with the
    recorded ones), else a fresh one from `given` (refused over an existing run)."""
    path = out / STATE_FILE
    if resume:
        if not path.exists():
            raise SystemExit(f"{path} is missing: nothing to resume; start the run without --resume")
        state = json.loads(path.read_text())
        changed = sorted(k for k, v in given.items() if state["options"].get(k) != v)
        if changed:
            raise SystemExit(f"{path}: the run was started with other {', '.join(changed)}; resume it without those options")
        return state
    if path.exists():
        raise SystemExit(f"{out} already holds a recipe run ({STATE_FILE}): pass --resume to continue it, or another --out")
    if "preset" not in given or "budget_s" not in given:
        raise SystemExit("a new run needs --preset and --budget-s")
    options = RecipeOptions(**given)
    if not options.pack and not (options.corpus and (options.units or options.fake_units)):
        raise SystemExit("a new run needs --pack, or --corpus with --units (or --fake-units)")
    return {"format": "spear-recipe/1", "options": asdict(options), "stages": {}}


def save_state(out: Path, state: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(state, indent=1) + "\n")
    tmp.replace(out / STATE_FILE)


# ----------------------------------------------------------------------------------------------------
# Stages


def pack_dir(out: Path, o: RecipeOptions) -> Path:
    return Path(o.pack) if o.pack else out / "pack"


def t2s_config(o: RecipeOptions, preset: Preset, **fields_) -> TrainConfig:
    commit = o.code_commit or train_code_commit()
    return make_config(preset.train, threads=preset.threads, device=o.device, code_commit=commit, reserve_s=0.0,
                       **{**o.train_overrides, **fields_})


def run_stage(stage: str, out: Path, o: RecipeOptions, preset: Preset, budget_s: float, resume: bool,
              speaker: Path | None, voice_out: Path) -> None:
    """One stage, writing under `out`; `resume` continues a stage an earlier process stopped."""
    pack = pack_dir(out, o)
    if stage == "pack":
        if o.pack:
            print(f"pack: {o.pack} (given)")
            return
        if not o.corpus or (not o.units and not o.fake_units):
            raise SystemExit("the pack stage needs --corpus and --units (or --fake-units), or --pack")
        make_pack(pack, Path(o.corpus), None if o.fake_units else Path(o.units), o.n_units, o.unit_rate)
    elif stage == "target":
        train(t2s_config(o, preset, pack=str(pack), out=str(out / "target"), stages="target", budget_s=budget_s,
                         target_share=1.0, resume=resume))
    elif stage == "greedy":
        self_distill(out / "target" / "target.pt", pack, out / "greedy", "val,train", preset.greedy_batch,
                     preset.greedy_batch * 4, o.greedy_limit, preset.threads, o.device, deadline=time.time() + budget_s)
    elif stage == "drafters":
        train(t2s_config(o, preset, **{**DRAFTER_SETTINGS, **o.train_overrides}, pack=str(out / "greedy"),
                         out=str(out / "drafters"), stages="drafters", target_from=str(out / "target" / "target.pt"),
                         init_from=o.init_from, budget_s=budget_s, resume=resume))
        # Trained on the target's readings, measured (as the target was) on the teacher's units.
        validate_run(out / "drafters", pack, preset.threads)
    elif stage == "checker":
        train_checker(CheckerTrainConfig(pack=str(pack), out=str(out / "checker"), budget_s=budget_s, batch=preset.checker_batch,
                                         threads=preset.threads, eval_every=preset.checker_eval_every, device=o.device,
                                         resume=resume))
    elif stage == "export":
        export_voice(out / "drafters", voice_out, out / "voice-parity", **EXPORT_SETTINGS)
        export_checker(out / "checker" / "ckpt.pt", pack, voice_out / "checker")
        if speaker is not None:
            shutil.copytree(speaker, voice_out / "speaker", dirs_exist_ok=True)
            print(f"{voice_out}/speaker: copied from {speaker}")
        else:
            print(f"{voice_out}: no speaker/ (pass --speaker DIR to copy one in; the app needs it to speak)")


def run(out: Path, state: dict, selected: list[str], speaker: Path | None, voice_out: Path) -> None:
    o = RecipeOptions(**state["options"])
    preset = PRESETS[o.preset]
    for stage in stages_to_run(state, selected):
        st = state["stages"].setdefault(stage, {})
        pending = stages_to_run(state, selected)
        if stage in preset.shares and "planned_s" not in st:  # a stopped stage keeps the budget it was planned with
            st["planned_s"] = round(stage_budget(stage, o.budget_s, spent_s(state), pending, preset), 1)
        continuing = st.get("status") == "running"
        st["status"] = "running"
        save_state(out, state)
        print(f"== {stage}" + (f": {st['planned_s']:.0f} s" if "planned_s" in st else "") + (" (resumed)" if continuing else ""),
              flush=True)
        start = time.time()
        run_stage(stage, out, o, preset, st.get("planned_s", 0.0), continuing, speaker, voice_out)
        elapsed = time.time() - start
        if continuing and stage in preset.shares:  # earlier processes' time in it is unknown: count its plan
            elapsed = max(elapsed, st["planned_s"])
        st["elapsed_s"] = round(elapsed, 1)
        st["status"] = "done"
        save_state(out, state)
    print(f"recipe: {', '.join(selected)} done in {out} ({spent_s(state):.0f} of {o.budget_s:.0f} s)")


# ----------------------------------------------------------------------------------------------------
# Command line


def parse_overrides(pairs: list[str]) -> dict:
    """--set key=value pairs → TrainConfig fields, each value parsed as its field's type."""
    types = {f.name: f.type for f in fields(TrainConfig)}
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in types:
            raise SystemExit(f"--set {pair}: expected FIELD=VALUE with a train_t2s config field")
        out[key] = value.lower() in ("1", "true", "yes") if types[key] is bool else types[key](value)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python3 -m spear_voice.recipe", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="the run's folder: everything is written under it")
    ap.add_argument("--resume", action="store_true", help="continue the run in --out (its recorded options)")
    ap.add_argument("--stages", default=",".join(STAGES), help="the stages to run now, comma-separated (default: all)")
    ap.add_argument("--speaker", type=Path, help="a speaker folder (speaker.json, speaker.onnx, codebook.npz) copied into the voice")
    ap.add_argument("--voice-out", type=Path, help="where export writes the voice (default DIR/voice)")
    ap.add_argument("--preset", choices=sorted(PRESETS))
    ap.add_argument("--budget-s", type=float, help="wall-clock seconds for the whole run")
    ap.add_argument("--pack", help="an existing training pack (skips building one)")
    ap.add_argument("--corpus", help="corpus folder, {train,val,test}.jsonl")
    ap.add_argument("--units", help="units folder of the corpus, {train,val,test}.jsonl")
    ap.add_argument("--fake-units", action="store_true", help="stand-in units derived from the phonemes")
    ap.add_argument("--n-units", type=int)
    ap.add_argument("--unit-rate", type=float)
    ap.add_argument("--init-from", help="folder with draft.pt / eagle.pt to start the drafters from")
    ap.add_argument("--greedy-limit", type=int, help="greedy readings of at most this many rows per split")
    ap.add_argument("--device")
    ap.add_argument("--code-commit", help="the commit of this code, where the tree has no git history")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="a train_t2s config field, every t2s stage")
    args = ap.parse_args(argv)

    selected = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = [s for s in selected if s not in STAGES]
    if unknown:
        ap.error(f"--stages: unknown stage {unknown[0]!r} ({', '.join(STAGES)})")
    given = {"preset": args.preset, "budget_s": args.budget_s, "pack": args.pack, "corpus": args.corpus, "units": args.units,
             "fake_units": args.fake_units or None, "n_units": args.n_units, "unit_rate": args.unit_rate,
             "init_from": args.init_from, "greedy_limit": args.greedy_limit, "device": args.device,
             "code_commit": args.code_commit, "train_overrides": parse_overrides(args.set) or None}
    given = {k: v for k, v in given.items() if v is not None}
    if args.speaker is not None and not (args.speaker / "speaker.json").exists():
        ap.error(f"--speaker {args.speaker}: speaker.json is missing")
    state = open_run(args.out, given, args.resume)
    run(args.out, state, selected, args.speaker, args.voice_out or args.out / "voice")


if __name__ == "__main__":
    main(sys.argv[1:])
