"""One call on a lent GPU machine: the project's pending GPU checks, each stage time-boxed, results under $OUT.

    native-models/tools/device/run.sh [--dry-run] [--out DIR] [--stages env,webgpu,train,speaker] [--skip STAGE]
                                      [--budget-s 540] [--carry DIR] [--work DIR]

Stages (stages.py), in this order; a stage that fails or runs out of time is logged and the next one runs:

    env     nvidia-smi, Python, torch and CUDA, vulkaninfo, lscpu, memory, disk → $OUT/env.txt
    webgpu  `spear bench` on the shipped voice through onnxruntime-node's WebGPU provider (and CUDA's where the
            carried build has it), then through the CPU provider, at batch 1 and 8 → $OUT/bench.json; where the
            tree has no native-models/voice (slim.sh on), the carried voice.tar.xz unpacked there
    train   the reader retrained on the carried pack: `spear_voice.recipe --preset gpu`, its training stages
            (target, greedy, drafters, checker) → $OUT/train.tar.gz (in 15 MiB parts when larger)
    speaker the neural speaker (spear_voice/speaker/neural*.py): a carried Festival reads the carried texts on every
            core, the gpu preset trains for what the box leaves, the ONNX speaker is exported with samples to
            listen to → $OUT/speaker.tar.gz (in parts). Not run unless chosen: --stages env,speaker


The device tool brings back at most 8 files of at most 16 MiB, so $OUT holds only summary.json (rewritten
after every stage: what ran, for how long, the results and the end of each log), env.txt, bench.json,
logs.tar.gz (every stage's whole log) and the train run's archive. Node, onnxruntime-node, the Vulkan loader, the
pack and, with slim.sh on, the voice travel in .devcarry/ (pack.sh makes it). --dry-run (or DRY_RUN=1) runs every
stage on this machine with tiny budgets, a two-sentence bench and a tiny pack, so the logic is exercised without a GPU.

Every option has an environment twin: DRY_RUN=1, DEVICE_STAGES, DEVICE_SKIP, DEVICE_BUDGET_S, DEVICE_CARRY,
DEVICE_PACK (a pack folder to train on), DEVICE_BENCH_STRATEGIES, DEVICE_BENCH_GAMMAS, DEVICE_BENCH_BATCHES.
"""

import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import stages as stage_impl
from stages import Skip

REPO = Path(__file__).resolve().parents[3]
STAGES = ("env", "webgpu", "train", "speaker")
# What runs without --stages: train takes all the call has left, so the speaker gets a call of its own.
DEFAULT_STAGES = ("env", "webgpu", "train")
SUMMARY_FORMAT = "spear-device/1"
# What the device tool brings back from $OUT (its README, Limits): at most this many files, each at most this big.
MAX_OUT_FILES = 8
MAX_OUT_FILE_BYTES = 16 * 2**20
LOG_TAIL_LINES = 25


@dataclass(frozen=True)
class Settings:
    budget_s: float  # the whole call, the final archiving included (the device tool's limit is 600 s a command)
    finish_s: float  # kept back at the end: the logs' archive and the last summary
    env_s: float  # most the env stage may take
    webgpu_s: float  # most the webgpu stage may take (node's unpacking, its probes and its bench runs)
    train_s: float | None  # most the train stage may take; None: all that is left
    train_budget_s: float | None  # seconds of training (the recipe's budget less its reserve); None: what the box leaves
    train_min_s: float  # seconds of training under which train is skipped
    train_margin_s: float  # of train's box, for what the recipe does outside its budget (start-up, CUDA, validation on the CPU)
    archive_s: float  # of train's box, for archiving the run
    strategies: str  # spear bench --strategies
    gammas: str  # spear bench --gammas
    batches: tuple  # one bench run per batch size and provider
    max_sentences: int  # of the 24 built-in bench sentences; fewer when a provider is too slow for its share of time
    max_repeats: int  # spear bench --repeats, lowered when the time is short
    providers: tuple  # tried in this order; a GPU provider that falls back to CPU in its probe gets no bench runs
    train_sets: tuple  # recipe --set FIELD=VALUE: weights-only float16 checkpoints keep the archive small
    tiny_pack: bool  # build a tiny pack of stand-in units instead of reading the carried one
    speaker_s: float | None = None  # most the speaker stage may take; None: all that is left
    speaker_texts: int = 20000  # texts Festival reads at most (the corpus' train split has about 10,000)
    speaker_render_share: float = 0.25  # of the speaker's box, the most rendering may take (16 cores: about 100 texts/s)
    speaker_workers: int = 0  # Festival processes; 0: one per core this process may use (at most 32)
    speaker_val: int = 32  # rendered clips held out for validation and samples
    speaker_preset: str = "gpu"  # speaker/neural_train.py PRESETS
    speaker_sets: tuple = ()  # neural_train --set FIELD=VALUE
    speaker_train_s: float | None = None  # seconds of training; None: what the box leaves
    speaker_min_train_s: float = 60.0  # under this, the stage fails rather than train for nothing
    speaker_margin_s: float = 30.0  # of the box, for the trainer's start-up (data, CUDA) and last checkpoint
    speaker_export_s: float = 60.0  # of the box, for export, samples and archive
    speaker_samples: int = 4  # validation clips spoken into samples/ beside the teacher's


DEVICE = Settings(budget_s=540.0, finish_s=20.0, env_s=30.0, webgpu_s=200.0, train_s=None, train_budget_s=None,
                  train_min_s=90.0, train_margin_s=60.0, archive_s=20.0, strategies="ar,eagle,draft,early-exit", gammas="3,4",
                  batches=(1, 8), max_sentences=24, max_repeats=3, providers=("webgpu", "cuda", "cpu"),
                  train_sets=("save_optimizer=false", "ckpt_dtype=float16"), tiny_pack=False)
# The same logic on this machine's CPU in about a minute; the boxes are generous limits for a loaded machine. The model
# shrinks as the recipe's own tests shrink it (tests/native-models/test_recipe.py, TINY_MODEL).
DRY = replace(DEVICE, budget_s=200.0, finish_s=5.0, env_s=20.0, webgpu_s=80.0, train_s=90.0, train_budget_s=10.0,
              train_min_s=5.0, train_margin_s=12.0, archive_s=5.0, strategies="ar,eagle", gammas="3", batches=(1, 2),
              max_sentences=2, max_repeats=1, tiny_pack=True, speaker_s=150.0, speaker_texts=12, speaker_render_share=0.3,
              speaker_workers=1, speaker_val=2, speaker_preset="cpu-smoke", speaker_train_s=15.0, speaker_min_train_s=5.0,
              speaker_margin_s=20.0, speaker_export_s=40.0, speaker_samples=1,
              train_sets=DEVICE.train_sets + ("d_model=64", "n_layers=3", "n_heads=2", "exit_layer=1", "draft_d_model=32",
                                               "draft_n_heads=1", "batch_tokens=2048", "eval_sentences=32"))


class Context:
    """What every stage shares: the folders, the clock, and how it runs a child process."""

    def __init__(self, out: Path, work: Path, carry: Path, settings: Settings, deadline: float):
        self.out, self.work, self.carry, self.settings, self.deadline = out, work, carry, settings, deadline
        self.repo = REPO
        self.logs = work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.env_extra: dict = {}  # set by the webgpu stage for every node it starts (library path, Vulkan driver)

    def left(self) -> float:
        return self.deadline - time.time()

    def run(self, cmd: list, log: Path, timeout: float, *, cwd: Path | None = None, stdout: Path | None = None,
            env: dict | None = None) -> dict:
        """Runs `cmd` in its own process group, its output appended to `log` (stdout to `stdout` when given);
        past `timeout` seconds, or when this process is stopped, the whole group is stopped. Returns rc (None when
        it was stopped), timed_out, elapsed_s; a missing program gives rc 127."""
        start = time.time()
        with open(log, "a") as err, open(stdout or log, "a") as out:
            err.write(f"$ {shown(cmd)}\n")
            err.flush()
            try:
                proc = subprocess.Popen([str(c) for c in cmd], cwd=cwd or self.repo, stdout=out, stderr=err,
                                        stdin=subprocess.DEVNULL, env={**os.environ, **self.env_extra, **(env or {})},
                                        preexec_fn=os.setpgrp)
            except FileNotFoundError:
                err.write(f"{cmd[0]}: not found\n")
                return {"rc": 127, "timed_out": False, "elapsed_s": 0.0}
            try:
                rc = proc.wait(timeout=max(1.0, timeout))
                timed_out = False
            except subprocess.TimeoutExpired:
                stop(proc)
                rc, timed_out = None, True
                err.write(f"stopped after {timeout:.0f} s (its time box)\n")
            except BaseException:  # SIGTERM from outside (run.py's handler) or Ctrl-C: no child outlives the call
                stop(proc)
                raise
        return {"rc": rc, "timed_out": timed_out, "elapsed_s": round(time.time() - start, 1)}

def shown(cmd: list) -> str:
    """A command as the logs show it: one line, long arguments (inline scripts) cut."""
    words = [" ".join(str(c).split()) for c in cmd]
    return shlex.join(w if len(w) <= 100 else w[:97] + "..." for w in words)


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the process group, SIGKILL 5 s later if it is still there."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> list:
    if not path.exists():
        return []
    return path.read_text(errors="replace").splitlines()[-lines:]


def write_json(path: Path, data) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    tmp.replace(path)


def out_files(out: Path) -> dict:
    """Every file under `out` with its size, and the ones the device tool would not bring back."""
    files = {str(p.relative_to(out)): p.stat().st_size for p in sorted(out.rglob("*")) if p.is_file()}
    problems = [f"{name}: {size} bytes, over {MAX_OUT_FILE_BYTES}" for name, size in files.items() if size > MAX_OUT_FILE_BYTES]
    if len(files) > MAX_OUT_FILES:
        problems.append(f"{len(files)} files, over {MAX_OUT_FILES}: some would not come back")
    return {"files": files, "problems": problems}


def archive_logs(ctx: Context) -> None:
    with tarfile.open(ctx.out / "logs.tar.gz", "w:gz") as tar:
        tar.add(ctx.logs, arcname="logs")


def selected_stages(stages: str, skip: str) -> list:
    chosen = [s.strip() for s in stages.split(",") if s.strip()]
    skipped = {s.strip() for s in skip.split(",") if s.strip()}
    unknown = sorted((set(chosen) | skipped) - set(STAGES))
    if unknown:
        raise SystemExit(f"run.py: unknown stage {unknown[0]!r}; the stages are {', '.join(STAGES)}")
    return [s for s in STAGES if s in chosen and s not in skipped]


def run_stages(ctx: Context, chosen: list, summary: dict) -> None:
    boxes = {"env": ctx.settings.env_s, "webgpu": ctx.settings.webgpu_s, "train": ctx.settings.train_s, "speaker": ctx.settings.speaker_s}
    for name in STAGES:
        record = summary["stages"][name] = {"status": "skipped"}
        if name not in chosen:
            record["reason"] = "not selected (--stages, --skip, DEVICE_STAGES, DEVICE_SKIP)"
            continue
        left = ctx.left() - ctx.settings.finish_s
        box = left if boxes[name] is None else min(boxes[name], left)
        record["box_s"] = round(box, 1)
        log = ctx.logs / f"{name}.log"
        start = time.time()
        print(f"== {name}: at most {box:.0f} s", flush=True)
        try:
            if box < 5:
                raise Skip(f"only {box:.0f} s left of the call's {ctx.settings.budget_s:.0f} s")
            result = getattr(stage_impl, f"stage_{name}")(ctx, box, log)
            record["status"] = result.pop("status", "ok")
            record["result"] = result
        except Skip as why:
            record["reason"] = str(why)
        except Exception as error:  # a stage's failure is recorded; the next stage still runs
            record["status"] = "failed"
            record["error"] = f"{type(error).__name__}: {error}"
            with open(log, "a") as f:
                f.write(f"{name} failed: {record['error']}\n")
        except BaseException as stopped:  # SIGTERM (run.py's handler) or Ctrl-C: recorded, then the call ends
            record.update(status="stopped", reason=f"stopped from outside ({stopped!r})", elapsed_s=round(time.time() - start, 1),
                          log_tail=log_tail(log))
            raise
        record["elapsed_s"] = round(time.time() - start, 1)
        record["log_tail"] = log_tail(log)
        print(f"== {name}: {record['status']} in {record['elapsed_s']:.0f} s"
              + (f" ({record.get('reason') or record.get('error')})" if record["status"] in ("skipped", "failed") else ""), flush=True)
        summary["elapsed_s"] = round(time.time() - summary["_start"], 1)
        write_json(ctx.out / "summary.json", {k: v for k, v in summary.items() if not k.startswith("_")})


def main(argv: list | None = None) -> int:
    env = os.environ
    ap = argparse.ArgumentParser(prog="run.sh", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path(env["OUT"]) if env.get("OUT") else None,
                    help="where the results go (default: $OUT, which the device tool sets)")
    ap.add_argument("--dry-run", action="store_true", default=env.get("DRY_RUN", "") not in ("", "0"),
                    help="every stage on this machine with tiny budgets (or DRY_RUN=1)")
    ap.add_argument("--stages", default=env.get("DEVICE_STAGES", ",".join(DEFAULT_STAGES)),
                    help=f"comma-separated, of {', '.join(STAGES)} (default: {','.join(DEFAULT_STAGES)})")
    ap.add_argument("--skip", action="append", default=[env.get("DEVICE_SKIP", "")], help="a stage not to run (repeatable)")
    ap.add_argument("--budget-s", type=float, default=float(env["DEVICE_BUDGET_S"]) if env.get("DEVICE_BUDGET_S") else None,
                    help="seconds for the whole call (default 540; 200 with --dry-run)")
    ap.add_argument("--carry", type=Path, default=Path(env.get("DEVICE_CARRY", REPO / ".devcarry")),
                    help="what pack.sh prepared (default .devcarry/)")
    ap.add_argument("--work", type=Path, help="scratch folder (default: a new one under /tmp, removed after a dry run)")
    args = ap.parse_args(argv)
    if args.out is None:
        ap.error("OUT is not set: pass --out DIR (on the device machine the device tool sets OUT)")
    chosen = selected_stages(args.stages, ",".join(args.skip))

    settings = DRY if args.dry_run else DEVICE
    overrides = {"strategies": env.get("DEVICE_BENCH_STRATEGIES"), "gammas": env.get("DEVICE_BENCH_GAMMAS"),
                 "batches": tuple(int(b) for b in env["DEVICE_BENCH_BATCHES"].split(",")) if env.get("DEVICE_BENCH_BATCHES") else None,
                 "budget_s": args.budget_s}
    settings = replace(settings, **{k: v for k, v in overrides.items() if v is not None})

    args.out.mkdir(parents=True, exist_ok=True)
    work = args.work or Path(tempfile.mkdtemp(prefix="spear-device-"))
    work.mkdir(parents=True, exist_ok=True)
    start = time.time()
    ctx = Context(args.out.resolve(), work.resolve(), args.carry.resolve(), settings, start + settings.budget_s)
    summary = {"format": SUMMARY_FORMAT, "dry_run": args.dry_run, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
               "budget_s": settings.budget_s, "elapsed_s": 0.0, "settings": asdict(settings), "stages": {}, "_start": start}

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    code = 0
    try:
        run_stages(ctx, chosen, summary)
    except (SystemExit, KeyboardInterrupt):
        for name in STAGES:
            summary["stages"].setdefault(name, {"status": "skipped", "reason": "the call was stopped before it"})
        code = 1
    finally:
        try:
            archive_logs(ctx)
        except OSError as error:
            summary["logs_error"] = str(error)
        summary["elapsed_s"] = round(time.time() - start, 1)
        summary["out"] = out_files(ctx.out)
        summary["out"]["files"]["summary.json"] = 0  # itself, written last
        write_json(ctx.out / "summary.json", {k: v for k, v in summary.items() if not k.startswith("_")})
        if args.dry_run and args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print("\n".join(report(summary, ctx.out)), flush=True)
    return code


def report(summary: dict, out: Path) -> list:
    """The last lines a call prints (the device tool's reply carries the end of the output): each stage, each
    bench run's speeds, the training's validation."""
    stages = ", ".join(f"{name} {r['status']} {r.get('elapsed_s', 0):.0f} s" for name, r in summary["stages"].items())
    lines = [f"run: {stages}; {summary['elapsed_s']:.0f} s in all; results in {out}"]
    webgpu = summary["stages"].get("webgpu", {}).get("result", {})
    for provider, p in webgpu.get("providers", {}).items():
        if p["status"] != "ran":
            reason = p.get("reason") or ""
            lines.append(f"  {provider}: {p['status']}" + (f": {'…' * (len(reason) > 160)}{reason[-160:]}" if reason else ""))
    for run in webgpu.get("runs", []):
        cells = [f"{r['strategy']}{'' if r['strategy'] == 'ar' else ' γ' + str(r['gamma'])} {r['tokens_per_s']:.0f}/s"
                 + ("" if r["strategy"] == "ar" else f" {r['speedup_vs_ar']:.2f}×") for r in run.get("rows", [])]
        lines.append(f"  bench {run['provider']} batch {run['batch']} ({run.get('texts')} texts, {run.get('repeats')} repeats): "
                     + ("; ".join(cells) if cells else run.get("error") or run.get("reason") or "no rows"))
    train = summary["stages"].get("train", {}).get("result", {})
    if train.get("validation"):
        v = train["validation"]
        lines.append(f"  train: val main CE {v.get('main_ce')}, acceptance exit {v.get('exit_accept')} draft {v.get('draft_accept')} "
                     f"eagle {v.get('eagle_accept')}; {', '.join(train.get('archive', []))}")
    speaker = summary["stages"].get("speaker", {}).get("result", {})
    if speaker.get("train"):
        t, teacher = speaker["train"], speaker.get("teacher", {})
        lines.append(f"  speaker: {teacher.get('clips')} clips ({teacher.get('hours')} h) in {teacher.get('seconds')} s; "
                     f"{t.get('steps')} steps in {t.get('elapsed_s')} s on {t.get('device')}, val {t.get('val')}; "
                     f"{', '.join(speaker.get('archive', []))}")
    return lines


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
