"""The stages of run.py: env, webgpu, train, speaker. Each is `stage_NAME(ctx, box_s, log) -> result`, where ctx is
run.py's Context (folders, clock, child processes), box_s the seconds it may take and log its log file. A stage
raises Skip when it has nothing to do here, and says why; its result's "status" is "partial" when part of it
failed or ran out of time."""

import io
import json
import lzma
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path


class Skip(Exception):
    """A stage that has nothing to do here; its message says why and what would make it run."""


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def unpack(archive: Path, dest: Path) -> None:
    """A .tar.xz into `dest`: tar with a parallel xz where there is one (pack.sh writes multi-block archives)."""
    dest.mkdir(parents=True, exist_ok=True)
    if shutil.which("tar") and shutil.which("xz"):
        subprocess.run(["tar", "-I", "xz -T0", "-xf", str(archive), "-C", str(dest)], check=True)
    else:
        with tarfile.open(archive, "r:xz") as tar:
            tar.extractall(dest)


# ----------------------------------------------------------------------------------------------------
# env

TORCH_PROBE = """
import json, platform
info = {"python": platform.python_version()}
try:
    import torch
    info.update(torch=torch.__version__, cuda=torch.version.cuda, cuda_available=torch.cuda.is_available())
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        info.update(device=p.name, capability=f"{p.major}.{p.minor}", memory_gib=round(p.total_memory / 2**30, 1),
                    multiprocessors=p.multi_processor_count, cudnn=torch.backends.cudnn.version(),
                    bf16=torch.cuda.is_bf16_supported())
except Exception as error:
    info["torch_error"] = f"{type(error).__name__}: {error}"
print(json.dumps(info))
"""

ENV_COMMANDS = [
    ("nvidia-smi", ["nvidia-smi"]),
    ("GPU", ["nvidia-smi", "--query-gpu=name,memory.total,driver_version,compute_cap", "--format=csv,noheader"]),
    ("Python and torch", [sys.executable, "-c", TORCH_PROBE]),
    ("vulkaninfo", ["vulkaninfo", "--summary"]),
    ("Vulkan loader", ["sh", "-c", "ldconfig -p | grep -i -e vulkan -e GLdispatch || echo 'no libvulkan in ldconfig'"]),
    ("Vulkan drivers", ["sh", "-c", "ls -l /usr/local/nvidia/share/vulkan/icd.d /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>&1"]),
    ("lscpu", ["lscpu"]),
    ("memory", ["free", "-m"]),
    ("disk", ["df", "-h", "/tmp", "."]),
    ("kernel", ["uname", "-a"]),
    ("OS", ["sh", "-c", "cat /etc/os-release"]),
]


def stage_env(ctx, box_s: float, log: Path) -> dict:
    """The machine, in env.txt: one section per command; a missing command is noted, not an error."""
    deadline = time.time() + box_s
    env_txt = ctx.out / "env.txt"
    env_txt.write_text("")
    result = {"missing": []}
    for title, cmd in ENV_COMMANDS:
        left = deadline - time.time()
        if left < 1:
            result.setdefault("not_run", []).append(title)
            continue
        with open(env_txt, "a") as f:
            f.write(f"\n## {title}\n")
        section = ctx.work / "section.txt"
        section.write_text("")
        ran = ctx.run(cmd, log, min(20.0, left), stdout=section)
        text = section.read_text(errors="replace")
        with open(env_txt, "a") as f:
            f.write(text if ran["rc"] != 127 else f"{cmd[0]}: not found\n")
            if ran["rc"] not in (0, 127):
                f.write(f"(exit {ran['rc']}{', stopped' if ran['timed_out'] else ''})\n")
        if ran["rc"] == 127:
            result["missing"] = sorted({*result["missing"], cmd[0]})
        elif title == "GPU" and ran["rc"] == 0:
            result["gpu"] = first_line(text)
        elif title == "Python and torch" and ran["rc"] == 0:
            result["python"] = json.loads(first_line(text))
        elif title == "lscpu":
            model = re.search(r"^Model name:\s*(.+)$", text, re.M)
            cores = re.search(r"^CPU\(s\):\s*(\d+)$", text, re.M)
            result["cpu"] = {"model": model.group(1).strip() if model else None, "cpus": int(cores.group(1)) if cores else None}
        elif title == "vulkaninfo":
            result["vulkaninfo_rc"] = ran["rc"]
    if "gpu" not in result:
        result["gpu"] = None
        result["note"] = "no GPU: nvidia-smi " + ("is not installed" if "nvidia-smi" in result["missing"] else "failed")
    return result


# ----------------------------------------------------------------------------------------------------
# webgpu: spear bench through each execution provider

ORT_PROBE = ("const o = require('onnxruntime-node'); console.log(JSON.stringify({version: require('onnxruntime-node/package.json')"
             ".version, backends: o.listSupportedBackends()}))")
CUDA_PROVIDER_LIB = "node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so"
FALLBACK = re.compile(r"^spear: (.*); using CPU$", re.M)
# Of a probe's wall time, what the first read of a sentence costs beyond its measured decoding (speaking it,
# the warm-up pass's sessions); and a plan's margin on top.
PROBE_SPREAD = 1.5
PLAN_SLACK = 1.3


def bench_configs(strategies: str, gammas: str) -> int:
    """Configurations one bench run measures: ar, and every other strategy at every gamma."""
    names = [s for s in strategies.split(",") if s]
    return 1 + len([g for g in gammas.split(",") if g]) * len([s for s in names if s != "ar"])


def plan_bench(time_s: float, load_s: float, sentence_s: float, configs: int, batch: int, max_sentences: int,
               max_repeats: int) -> tuple:
    """(sentences, repeats, estimated seconds) of a bench run that fits `time_s`: every sentence and the most
    repeats that fit, else one repeat on as many sentences as fit (at least one batch's worth). The bench's
    time is its start-up plus (repeats + 1 warm-up) passes over every configuration and sentence."""
    def cost(n: int, r: int) -> float:
        return load_s + (r + 1) * configs * n * sentence_s * PLAN_SLACK

    for repeats in range(max_repeats, 0, -1):
        if cost(max_sentences, repeats) <= time_s:
            return max_sentences, repeats, round(cost(max_sentences, repeats), 1)
    fit = int((time_s - load_s) / (2 * configs * max(sentence_s, 1e-6) * PLAN_SLACK))
    n = max(min(batch, max_sentences), min(max_sentences, fit), 1)
    return n, 1, round(cost(n, 1), 1)


def bench_texts(ctx, n: int) -> Path:
    """The first n of the 24 built-in bench sentences, as a --texts file."""
    lines = [line for line in (ctx.repo / "electron/core/eval/bench-texts.txt").read_text().splitlines() if line.strip()]
    path = ctx.work / f"bench-texts-{n}.txt"
    path.write_text("\n".join(lines[:n]) + "\n")
    return path


def bench(ctx, node: str, name: str, provider: str, batch: int, sentences: int, repeats: int, strategies: str,
          gammas: str, timeout: float) -> dict:
    """One `spear bench --json` run; its stderr is logs/webgpu-NAME.log."""
    stdout = ctx.work / f"{name}.json"
    stdout.write_text("")
    err = ctx.logs / f"webgpu-{name}.log"
    cmd = [node, "bin/spear.mjs", "bench", "--provider", provider, "--strategies", strategies, "--gammas", gammas,
           "--batch", batch, "--repeats", repeats, "--texts", bench_texts(ctx, sentences), "--json"]
    ran = ctx.run(cmd, err, timeout, stdout=stdout, env={"SPEAR_CONFIG_DIR": str(ctx.work / "config")})
    stderr = err.read_text(errors="replace")
    fallback = FALLBACK.search(stderr)
    run = {"name": name, "provider": provider, "batch": batch, "texts": sentences, "repeats": repeats, **ran,
           "fallback_reason": fallback.group(1) if fallback else None, "rows": []}
    if ran["rc"] == 0:
        try:
            run["rows"] = json.loads(stdout.read_text())
        except ValueError as error:
            run.update(rc=None, error=f"its output is not JSON ({error})")
            return run
        run["provider_used"] = run["rows"][0]["provider"] if run["rows"] else None
    else:
        run["error"] = "stopped at its time box" if ran["timed_out"] else (stderr.strip().splitlines() or ["no output"])[-1]
    return run


def compact(run: dict) -> dict:
    """A run for summary.json: its settings and per row the speed, the speedup and the acceptance."""
    keep = ("strategy", "gamma", "provider", "sentences", "tokens", "tokens_per_s", "speedup_vs_ar", "acceptance_rate",
            "tokens_per_target_call", "rtf")
    rows = [{k: (round(r[k], 3) if isinstance(r[k], float) else r[k]) for k in keep if k in r} for r in run["rows"]]
    return {**{k: v for k, v in run.items() if k != "rows"}, "rows": rows}


def carried_node(ctx, log: Path) -> dict:
    """Node from the carry (.devcarry/node.tar.xz), else the one on PATH."""
    archive = ctx.carry / "node.tar.xz"
    if archive.exists():
        unpack(archive, ctx.work / "node")
        path, origin = str(ctx.work / "node/bin/node"), "carry"
    elif shutil.which("node"):
        path, origin = shutil.which("node"), "PATH"
    else:
        raise RuntimeError(f"no node: {archive} is missing (pack.sh makes it) and node is not on PATH")
    version = ctx.work / "node-version.txt"
    ran = ctx.run([path, "--version"], log, 20, stdout=version)
    if ran["rc"] != 0:
        raise RuntimeError(f"{path} does not run (exit {ran['rc']}): see logs/webgpu.log")
    return {"path": path, "from": origin, "version": version.read_text().strip()}


def carried_node_modules(ctx) -> str:
    """The tree's node_modules if it has onnxruntime-node, else the carried one unpacked into the tree."""
    if (ctx.repo / "node_modules/onnxruntime-node/package.json").exists():
        return "the tree's own"
    archive = ctx.carry / "node_modules.tar.xz"
    if not archive.exists():
        raise RuntimeError(f"no node_modules: {archive} is missing (pack.sh makes it)")
    if (ctx.repo / "node_modules").exists():
        raise RuntimeError("node_modules exists without onnxruntime-node; not unpacking the carried one over it")
    unpack(archive, ctx.repo)
    return f"unpacked from {archive.name}"


def vulkan_libraries(ctx, log: Path) -> dict:
    """Dawn (WebGPU) opens libvulkan.so.1 at run time. Sonames the machine lacks come from the carried Debian
    packages (.devcarry/debs), unpacked under the work folder, never over /; and the NVIDIA driver's Vulkan
    manifest is named where the device tool's README says it lives."""
    listing = subprocess.run(["sh", "-c", "ldconfig -p 2>/dev/null"], capture_output=True, text=True).stdout
    report = {"libvulkan_on_machine": "libvulkan.so.1" in listing, "added": []}
    debs = sorted((ctx.carry / "debs").glob("*.deb"))
    if debs and shutil.which("dpkg-deb"):
        root, libdir = ctx.work / "gl", ctx.work / "gl-lib"
        libdir.mkdir(parents=True, exist_ok=True)
        for deb in debs:
            ctx.run(["dpkg-deb", "-x", deb, root], log, 30)
        for lib in sorted(root.glob("usr/lib/x86_64-linux-gnu/*.so.*")):
            soname = re.match(r"(.+\.so\.\d+)", lib.name).group(1)
            if soname not in listing and not (libdir / soname).exists():
                (libdir / soname).symlink_to(lib)
                report["added"].append(soname)
        if report["added"]:
            ctx.env_extra["LD_LIBRARY_PATH"] = ":".join(filter(None, [str(libdir), ctx.env_extra.get("LD_LIBRARY_PATH")]))
    elif debs:
        report["note"] = "dpkg-deb is missing: the carried Vulkan packages were not unpacked"
    icd = Path("/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json")
    if icd.exists():
        ctx.env_extra.setdefault("VK_DRIVER_FILES", str(icd))
        report["VK_DRIVER_FILES"] = ctx.env_extra["VK_DRIVER_FILES"]
    return report


# The voice, carried when the tree travels without it (slim.sh on): the shipped voice's graphs of the strategies the
# stage benches, as they are, under a manifest that names only those. readManifest (electron/core/engine/manifest.ts)
# reads and hash-checks every graph and chain its manifest names, so the left-out graphs go from the manifest too.
# Measured on the CPU with the stage's bench commands: with ar,eagle,draft,early-exit at gammas 3 and 4, batch 1 and
# 8, the carried voice's rows equal the shipped voice's (units, acceptance, units per target call).
VOICE_ARCHIVE = "voice.tar.xz"  # pack.sh --only voice (slim.sh on)
VOICE_DIR = "native-models/voice"
# The graphs each strategy runs: electron/core/engine/decode.ts STRATEGY_GRAPHS. A chained drafter's chains (the
# manifest's "chains", by the graph's name) go with its graph.
STRATEGY_GRAPHS = {"ar": ("full",), "draft": ("full", "draft"), "layer-skip": ("full", "layer_skip"),
                   "early-exit": ("trunk", "rest", "exit_head"), "eagle": ("full", "eagle"), "medusa": ("full", "medusa"),
                   "prophet": ("full", "seed_prophet")}


def voice_for(manifest: dict, strategies: str) -> tuple:
    """(manifest, files) of the voice that `strategies` read: the manifest less the graphs and chains no strategy of
    them runs and less its other target builds ("targets"), and the files that manifest names, as readManifest reads
    them. A graph's "source" (the file it was derived from) is never opened and not carried."""
    names = [s for s in strategies.split(",") if s]
    unknown = [s for s in names if s not in STRATEGY_GRAPHS]
    if unknown:
        raise ValueError(f"unknown strategy {unknown[0]!r}; the strategies are {', '.join(STRATEGY_GRAPHS)}")
    roles = {role for s in names for role in STRATEGY_GRAPHS[s]}
    kept = {k: v for k, v in manifest.items() if k != "targets"}
    kept["graphs"] = {role: g for role, g in manifest["graphs"].items() if role in roles}
    if "chains" in manifest:
        kept["chains"] = {d: c for d, c in manifest["chains"].items() if d in roles}
    files = [g["file"] for g in kept["graphs"].values()]
    for chain in kept.get("chains", {}).values():
        files.append(chain["weights"]["file"])
        files += [ref["file"] for ref in chain["gammas"].values()]
        files += [ref["file"] for ref in chain.get("sampled", {}).get("gammas", {}).values()]
    return kept, sorted(set(files))


def pack_voice(voice: Path, strategies: str, archive: Path) -> dict:
    """`voice` as `archive` for `strategies` (voice_for), with speaker/ (speaker.json and the files it lists); the
    reading check (checker/) stays out: bench reads every sentence once, rereadings 0, so it never runs. One xz stream
    at -9e: its 64 MiB window holds the whole voice, so the int8 target's full graph and its trunk and rest, or a
    drafter's graph and its chains' weights, which hold the same tensors, cost about one copy."""
    manifest, files = voice_for(json.loads((voice / "manifest.json").read_text()), strategies)
    speaker = voice / "speaker/speaker.json"
    if speaker.exists():
        listed = json.loads(speaker.read_text())
        files += ["speaker/speaker.json"] + sorted({f"speaker/{name}" for name in (listed["graph"]["file"], *listed.get("files", {}))})
    missing = [f for f in files if not (voice / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{voice} lacks {', '.join(missing)}, which its manifests name")
    text = (json.dumps(manifest, indent=2) + "\n").encode()
    tmp = archive.with_name(archive.name + ".tmp")
    with tarfile.open(tmp, "w:xz", preset=9 | lzma.PRESET_EXTREME) as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size, info.mtime, info.mode = len(text), int((voice / "manifest.json").stat().st_mtime), 0o644
        tar.addfile(info, io.BytesIO(text))
        for name in files:
            tar.add(voice / name, arcname=name)
    tmp.replace(archive)
    return {"graphs": sorted(manifest["graphs"]), "chains": sorted(manifest.get("chains", {})), "speaker": speaker.exists(),
            "files": len(files) + 1, "bytes": sum((voice / f).stat().st_size for f in files) + len(text),
            "archive_bytes": archive.stat().st_size}


def carried_voice(ctx) -> dict:
    """The tree's native-models/voice, else the carried .devcarry/voice.tar.xz unpacked there."""
    voice = ctx.repo / VOICE_DIR
    archive = ctx.carry / VOICE_ARCHIVE
    if (voice / "manifest.json").exists():
        origin = "the tree's own"
    elif archive.exists():
        unpack(archive, voice)
        origin = f"unpacked from {archive.name}"
    else:
        raise RuntimeError(f"no voice: {VOICE_DIR}/manifest.json is missing and {archive} is not carried "
                           "(native-models/tools/device/slim.sh on makes it)")
    return {"from": origin, "graphs": sorted(json.loads((voice / "manifest.json").read_text())["graphs"])}


def stage_webgpu(ctx, box_s: float, log: Path) -> dict:
    s = ctx.settings
    deadline = time.time() + box_s
    result = {"node": carried_node(ctx, log), "node_modules": carried_node_modules(ctx), "voice": carried_voice(ctx),
              "vulkan": vulkan_libraries(ctx, log)}
    ort = ctx.work / "ort.json"
    if ctx.run([result["node"]["path"], "-e", ORT_PROBE], log, 30, stdout=ort)["rc"] == 0:
        result["onnxruntime"] = json.loads(ort.read_text())
    configs = bench_configs(s.strategies, s.gammas)
    bench_path = ctx.out / "bench.json"
    record = {"format": "spear-device-bench/1", "strategies": s.strategies, "gammas": s.gammas, "probes": [], "runs": []}

    def save() -> None:
        bench_path.write_text(json.dumps(record, indent=1) + "\n")

    # Probes: ar on two sentences through each provider; a GPU provider that falls back gets no runs.
    providers, result["providers"] = [], {}
    for provider in s.providers:
        if provider == "cuda" and not (ctx.repo / CUDA_PROVIDER_LIB).exists():
            result["providers"][provider] = {"status": "skipped",
                                             "reason": "the carried onnxruntime-node has no CUDA provider library (a separate download)"}
            continue
        left = deadline - time.time()
        if left < 10:
            result["providers"][provider] = {"status": "skipped", "reason": "no time left in the stage"}
            continue
        n = min(2, s.max_sentences)
        fell_back = [p for p in record["probes"] if p["rc"] == 0 and p["provider_used"] == provider]
        if fell_back:  # a GPU provider's probe that fell back to this one has already timed it
            probe = fell_back[0]
        else:
            probe = bench(ctx, result["node"]["path"], f"{provider}-probe", provider, 1, n, 1, "ar", "3", min(left, 60.0))
            record["probes"].append(probe)
            save()
        if probe["rc"] != 0:
            result["providers"][provider] = {"status": "failed", "probe": compact(probe)}
        elif probe["provider_used"] != provider:
            result["providers"][provider] = {"status": "fell back", "reason": probe["fallback_reason"], "probe": compact(probe)}
        else:
            seconds = probe["rows"][0]["seconds"]
            timing = {"load_s": max(0.0, probe["elapsed_s"] - 2 * seconds * PROBE_SPREAD), "sentence_s": seconds * PROBE_SPREAD / n}
            result["providers"][provider] = {"status": "ran", "probe": probe["name"], **{k: round(v, 3) for k, v in timing.items()}}
            providers.append((provider, timing))

    # Runs: every remaining one gets an equal share of what is left, planned from its provider's probe.
    todo = [(p, t, b) for p, t in providers for b in s.batches]
    result["runs"] = []
    for i, (provider, timing, batch) in enumerate(todo):
        left = deadline - time.time()
        share = left / (len(todo) - i)
        if left < 10:
            result["runs"].append({"provider": provider, "batch": batch, "status": "skipped", "reason": "no time left in the stage"})
            continue
        n, repeats, estimate = plan_bench(share, timing["load_s"], timing["sentence_s"], configs, batch, s.max_sentences, s.max_repeats)
        run = bench(ctx, result["node"]["path"], f"{provider}-b{batch}", provider, batch, n, repeats, s.strategies, s.gammas,
                    min(left, max(share, estimate * 1.25)))
        run["estimate_s"] = estimate
        record["runs"].append(run)
        save()
        result["runs"].append(compact(run))
    ok = [r for r in result["runs"] if r.get("rc") == 0]
    if not ok or len(ok) < len(todo) or any(p["status"] == "failed" for p in result["providers"].values()):
        result["status"] = "partial" if ok else "failed"
    return result


# ----------------------------------------------------------------------------------------------------
# train: spear_voice.recipe --preset gpu on the carried pack

RECIPE_STAGES = "target,greedy,drafters,checker"  # pack is given; export needs node and runs at home
RECIPE_RESERVE_S = 120.0  # spear_voice/recipe.py PRESETS["gpu"].reserve_s: held back for pack and export, unused here
PACK_NAME = "pack-everyday"  # prepare.sh's pack, native-models/work/pack-everyday
PART_BYTES = 15 * 2**20  # the device tool brings back files of at most 16 MiB
MAX_PARTS = 4
# Not brought back: the greedy readings (a pack made from the target, large, and not needed to export) and the
# checker's optimiser state; the target stage's weights too once the drafters stage has its own copy.
ARCHIVE_EXCLUDES = ("greedy/*.npy", "greedy/*.txt", "greedy/parts", "checker/resume.pt")


def tiny_corpus(folder: Path) -> Path:
    """24 short rows of phoneme ids in every split, as tests/native-models/conftest.py makes them."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [json.dumps({"id": f"r{i}", "text": f"row {i}", "phonemes": [1 + ((i * 7 + j * 3) % 20) for j in range(6 + i % 5)]})
            for i in range(24)]
    for split in ("train", "val", "test"):
        (folder / f"{split}.jsonl").write_text("\n".join(rows) + "\n")
    return folder


def find_pack(ctx, log: Path) -> Path:
    """The pack to train on: DEVICE_PACK, a tiny one in a dry run, native-models/work/pack-everyday, or the
    carried .devcarry/pack.tar.xz unpacked there."""
    models = ctx.repo / "native-models"
    if os.environ.get("DEVICE_PACK"):
        return Path(os.environ["DEVICE_PACK"]).resolve()
    if ctx.settings.tiny_pack:
        pack = ctx.work / "tiny-pack"
        ran = ctx.run([sys.executable, "-m", "spear_voice.train_t2s", "pack", "--corpus", tiny_corpus(ctx.work / "tiny-corpus"),
                       "--fake-units", "--n-units", "64", "--out", pack], log, 120, cwd=models)
        if ran["rc"] != 0:
            raise RuntimeError(f"the tiny pack was not made (exit {ran['rc']})")
        return pack
    pack = models / "work" / PACK_NAME
    archive = ctx.carry / "pack.tar.xz"
    if not (pack / "meta.json").exists() and archive.exists():
        unpack(archive, models / "work")
    if not (pack / "meta.json").exists():
        raise Skip(f"no training pack: neither native-models/work/{PACK_NAME} nor {archive} is here. Make it on the CPU machine "
                   "with native-models/tools/device/prepare.sh, then carry it with pack.sh")
    return pack


def train_archive(ctx, run_dir: Path, log: Path, timeout: float) -> list:
    """run_dir as $OUT/train.tar.gz (less ARCHIVE_EXCLUDES), in parts of PART_BYTES when larger; at most
    MAX_PARTS parts, so the archive alone stays under the device tool's 64 MiB. Checkpoints are float16 weights,
    which hardly compress: gzip -1 is as small as xz within a few per cent, and fast."""
    archive = ctx.work / "train.tar.gz"
    patterns = ARCHIVE_EXCLUDES + (("target/target.pt",) if (run_dir / "drafters/target.pt").exists() else ())
    excludes = [f"--exclude={run_dir.name}/{pattern}" for pattern in patterns]
    ran = ctx.run(["tar", "-I", "gzip -1", "-cf", archive, *excludes, "-C", run_dir.parent, run_dir.name], log, timeout)
    if ran["rc"] != 0:
        archive.unlink(missing_ok=True)
        raise RuntimeError("archiving the run " + ("ran out of time" if ran["timed_out"] else f"failed (tar exit {ran['rc']})"))
    return bring_back(ctx, archive, "train.tar.gz")


def bring_back(ctx, archive: Path, name: str) -> list:
    """`archive` into $OUT as `name`, or in parts `name`.part0, .part1, … of PART_BYTES when larger (at most
    MAX_PARTS); returns the names."""
    size = archive.stat().st_size
    if size <= PART_BYTES:
        shutil.move(archive, ctx.out / name)
        return [name]
    count = -(-size // PART_BYTES)
    if count > MAX_PARTS:
        raise RuntimeError(f"the run's archive is {size / 2**20:.0f} MiB: more than {MAX_PARTS} parts of 15 MiB; not brought back")
    names = []
    with open(archive, "rb") as src:
        for i in range(count):
            names.append(f"{name}.part{i}")
            (ctx.out / names[-1]).write_bytes(src.read(PART_BYTES))
    archive.unlink()
    return names


def read_json(path: Path):
    return json.loads(path.read_text()) if path.exists() else None


def stage_train(ctx, box_s: float, log: Path) -> dict:
    s = ctx.settings
    deadline = time.time() + box_s
    pack = find_pack(ctx, log)
    models = ctx.repo / "native-models"
    box_left = deadline - time.time()
    train_s = box_left - s.train_margin_s - s.archive_s
    if s.train_budget_s is not None:
        train_s = min(train_s, s.train_budget_s)
    if train_s < s.train_min_s:
        raise Skip(f"only {box_left:.0f} s left: {s.train_min_s:.0f} s of training and {s.train_margin_s + s.archive_s:.0f} s "
                   "around it do not fit")
    budget = round(RECIPE_RESERVE_S + train_s)
    run_dir = ctx.work / "voice-run"
    shutil.rmtree(run_dir, ignore_errors=True)
    rel_pack = pack.relative_to(models) if pack.is_relative_to(models) else pack
    cmd = [sys.executable, "-m", "spear_voice.recipe", "--preset", "gpu", "--budget-s", budget, "--out", run_dir,
           "--pack", rel_pack, "--stages", RECIPE_STAGES]
    commit = (read_json(ctx.carry / "carry.json") or {}).get("train_code_commit")
    if commit and not (ctx.repo / ".git").exists():
        cmd += ["--code-commit", commit]  # a tree copied without its history: the commit pack.sh recorded
    for field in s.train_sets:
        cmd += ["--set", field]
    ran = ctx.run(cmd, log, deadline - time.time() - s.archive_s, cwd=models)
    state = read_json(run_dir / "recipe.json") or {}
    evals = read_json(run_dir / "drafters/eval.json") or {}
    result = {"pack": str(rel_pack), "pack_splits": (read_json(pack / "meta.json") or {}).get("splits"),
              "budget_s": budget, "training_s": round(train_s), **ran,
              "recipe_stages": state.get("stages"), "validation": evals.get("drafters"),
              "target_eval": read_json(run_dir / "target/eval.json")}
    if run_dir.exists():
        try:
            result["archive"] = train_archive(ctx, run_dir, log, max(5.0, deadline - time.time()))
        except RuntimeError as error:
            result.update(status="partial", archive_error=str(error))
            return result
        result["unpack_with"] = ("cat " + " ".join(result["archive"]) + " | tar -xzf - -C native-models/work"
                                 f"  # then: cd native-models && python3 -m spear_voice.recipe --resume --out work/{run_dir.name}"
                                 " --stages export --speaker voice/speaker")
    if ran["rc"] != 0:
        result["status"] = "partial" if state.get("stages") else "failed"
    return result


# ----------------------------------------------------------------------------------------------------
# speaker: the neural speaker trained on the teacher's audio, rendered here by a carried Festival

FESTIVAL_ARCHIVE = "festival.tar.xz"  # pack.sh --only festival: bin/, lib/ (its loader and every library), share/festival/
SPEAKER_TEXTS = "speaker-texts.jsonl"  # pack.sh --only texts: {"id", "text"} of the corpus' train split
SPEAKER_CODEBOOK = "speaker-codebook.npz"  # pack.sh --only texts: the shipped codebook, so the tree may travel without the voice


def carried_festival(ctx, log: Path) -> Path:
    """The carried Festival unpacked under the work folder, and proved to start through its own loader."""
    archive = ctx.carry / FESTIVAL_ARCHIVE
    if not archive.exists():
        raise Skip(f"no {archive}: make it with `native-models/tools/device/pack.sh --only festival,texts` on a machine "
                   "with Festival and carry it")
    unpack(archive, ctx.work)
    root = ctx.work / "festival"
    version = ctx.work / "festival-version.txt"
    cmd = [root / "lib/ld-linux-x86-64.so.2", "--library-path", root / "lib", root / "bin/festival", "--version"]
    ran = ctx.run(cmd, log, 30, stdout=version)
    if ran["rc"] != 0:
        raise RuntimeError(f"the carried Festival does not start (exit {ran['rc']}): see logs/speaker.log")
    return root


def stage_speaker(ctx, box_s: float, log: Path) -> dict:
    """Festival reads the carried texts on every core (speaker/teacher.py: 24 kHz targets, units in the shipped
    codebook), speaker/neural_train.py trains for what the box leaves, speaker/neural_export.py exports the ONNX
    speaker with samples to listen to; all of it comes back as speaker.tar.gz (in parts when larger)."""
    s = ctx.settings
    deadline = time.time() + box_s
    texts = ctx.carry / SPEAKER_TEXTS
    if not texts.exists():
        raise Skip(f"no {texts}: make it with `native-models/tools/device/pack.sh --only festival,texts`")
    root = carried_festival(ctx, log)
    models = ctx.repo / "native-models"
    data, run_dir, export = ctx.work / "speaker-data", ctx.work / "speaker-run", ctx.work / "speaker"
    for folder in (data, run_dir, export):
        shutil.rmtree(folder, ignore_errors=True)
    workers = s.speaker_workers or min(32, len(os.sched_getaffinity(0)))  # the cores this process may use
    render_s = max(5.0, box_s * s.speaker_render_share)
    result = {"festival": (ctx.work / "festival-version.txt").read_text().strip(), "workers": workers}
    codebook = ctx.carry / SPEAKER_CODEBOOK
    if not codebook.exists():
        codebook = models / "voice/speaker/codebook.npz"
    if not codebook.exists():
        raise Skip(f"no codebook: neither {ctx.carry / SPEAKER_CODEBOOK} nor native-models/voice/speaker/codebook.npz is here")

    ran = ctx.run([sys.executable, "-m", "spear_voice.speaker.teacher", "--texts", texts, "--out", data, "--festival", root,
                   "--codebook", codebook, "--workers", workers, "--limit", s.speaker_texts, "--seconds", round(render_s),
                   "--n-val", s.speaker_val],
                  log, render_s + 60, cwd=models, env={"OMP_NUM_THREADS": "1"})
    result["teacher"] = {**ran, **(read_json(data / "teacher.json") or {})}
    if ran["rc"] != 0:
        raise RuntimeError(f"rendering the teacher's audio failed (exit {ran['rc']}): see logs/speaker.log")

    train_s = deadline - time.time() - s.speaker_export_s - s.speaker_margin_s
    if s.speaker_train_s is not None:
        train_s = min(train_s, s.speaker_train_s)
    if train_s < s.speaker_min_train_s:
        raise RuntimeError(f"only {train_s:.0f} s of training would be left after rendering; give the stage a longer box")
    cmd = [sys.executable, "-m", "spear_voice.speaker.neural_train", "--preset", s.speaker_preset, "--data", data,
           "--out", run_dir, "--budget-s", round(train_s)]
    for field in s.speaker_sets:
        cmd += ["--set", field]
    ran = ctx.run(cmd, log, train_s + s.speaker_margin_s, cwd=models)
    result["train"] = {**ran, **{k: v for k, v in (read_json(run_dir / "train.json") or {}).items() if k not in ("config", "history")}}
    if not (run_dir / "ckpt.pt").exists():
        raise RuntimeError(f"training wrote no checkpoint (exit {ran['rc']}): see logs/speaker.log")

    ran = ctx.run([sys.executable, "-m", "spear_voice.speaker.neural_export", "--ckpt", run_dir / "ckpt.pt", "--out", export,
                   "--codebook", codebook, "--data", data, "--samples", s.speaker_samples], log, max(10.0, deadline - time.time() - 15), cwd=models)
    manifest = read_json(export / "speaker.json") or {}
    result["export"] = {**ran, "checks": manifest.get("checks"), "vocoder": manifest.get("vocoder"),
                        "onnx_bytes": (export / "speaker.onnx").stat().st_size if (export / "speaker.onnx").exists() else None}
    if not manifest:  # the trained weights still come back, to export at home
        export.mkdir(parents=True, exist_ok=True)
        ctx.run([sys.executable, "-m", "spear_voice.speaker.neural_export", "--ckpt", run_dir / "ckpt.pt", "--slim",
                 export / "weights.pt"], log, max(5.0, deadline - time.time() - 10), cwd=models)
    if (run_dir / "train.json").exists():
        shutil.copyfile(run_dir / "train.json", export / "train.json")
    if (data / "teacher.json").exists():
        shutil.copyfile(data / "teacher.json", export / "teacher.json")
    archive = ctx.work / "speaker.tar.gz"
    tarred = ctx.run(["tar", "-I", "gzip -1", "-cf", archive, "-C", ctx.work, export.name], log, max(5.0, deadline - time.time()))
    if tarred["rc"] != 0:
        raise RuntimeError("archiving the speaker failed")
    result["archive"] = bring_back(ctx, archive, "speaker.tar.gz")
    result["unpack_with"] = ("cat " + " ".join(result["archive"]) + " | tar -xzf - -C native-models/work"
                             "  # native-models/work/speaker: speaker.json, speaker.onnx, parity.json, codebook.npz, samples/"
                             + ("" if manifest else "; the export failed: weights.pt, for neural_export --ckpt"))
    if ran["rc"] != 0 or not manifest:
        result["status"] = "partial"
    return result
