"""native-models/tools/device: the one call a lent GPU machine gets. The whole dry run on this CPU (every stage,
tiny budgets: WebGPU falls back to the CPU, CUDA's library is not carried, a tiny pack trains), and the parts
a dry run here cannot reach: time-boxed children, the bench's plan, the Vulkan libraries a machine lacks, the
train archive's parts, a missing pack. Not checked here: a GPU provider that really starts, and the device
tool's transfer itself."""

import json
import re
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEVICE = REPO / "native-models/tools/device"
sys.path.insert(0, str(DEVICE))

import run as device_run  # noqa: E402  (native-models/tools/device/run.py)
import stages  # noqa: E402


def make_ctx(tmp_path: Path, settings=device_run.DRY, budget_s: float = 60.0) -> "device_run.Context":
    for name in ("out", "work", "carry"):
        (tmp_path / name).mkdir(exist_ok=True)
    return device_run.Context(tmp_path / "out", tmp_path / "work", tmp_path / "carry", settings, time.time() + budget_s)


# ----------------------------------------------------------------------------------------------------
# The dry run, end to end


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("out")
    carry = tmp_path_factory.mktemp("carry")  # empty: node and node_modules are this checkout's, not .devcarry's
    env = {**os.environ, "PYTHON": sys.executable, "DEVICE_CARRY": str(carry)}
    for name in ("OUT", "DRY_RUN", "DEVICE_STAGES", "DEVICE_SKIP", "DEVICE_PACK", "DEVICE_BUDGET_S"):
        env.pop(name, None)
    done = subprocess.run([str(DEVICE / "run.sh"), "--dry-run", "--out", str(out)], env=env, capture_output=True, text=True,
                          timeout=400)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def test_the_dry_run_runs_every_stage_and_says_so_in_summary_json(dry_run):
    summary = json.loads((dry_run / "summary.json").read_text())
    assert summary["format"] == "spear-device/1" and summary["dry_run"] is True
    assert list(summary["stages"]) == ["env", "webgpu", "train", "speaker"]
    assert summary["stages"]["speaker"]["status"] == "skipped"  # a call of its own: --stages env,speaker
    for name, record in list(summary["stages"].items())[:3]:
        assert record["status"] == "ok", (name, record.get("reason"), record.get("error"), record["log_tail"])
        assert 0 < record["elapsed_s"] <= record["box_s"] + 5
        assert record["log_tail"], name
    assert summary["elapsed_s"] <= summary["budget_s"] + 10
    # What comes back from the device: few enough files, none too large, each named in summary.json.
    files = {p.name for p in dry_run.iterdir()}
    assert files == {"summary.json", "env.txt", "bench.json", "logs.tar.gz", "train.tar.gz"}
    assert set(summary["out"]["files"]) == files and summary["out"]["problems"] == []
    with tarfile.open(dry_run / "logs.tar.gz") as tar:
        assert {"logs/env.log", "logs/webgpu.log", "logs/train.log"} <= set(tar.getnames())


def test_env_notes_what_the_machine_lacks(dry_run):
    env = json.loads((dry_run / "summary.json").read_text())["stages"]["env"]["result"]
    text = (dry_run / "env.txt").read_text()
    assert "## lscpu" in text and "## Python and torch" in text
    assert env["python"]["torch"] and env["cpu"]["cpus"] >= 1
    if "nvidia-smi" in env["missing"]:
        assert env["gpu"] is None and "no GPU" in env["note"] and "nvidia-smi: not found" in text


def test_webgpu_falls_back_and_the_cpu_runs_every_batch(dry_run):
    result = json.loads((dry_run / "summary.json").read_text())["stages"]["webgpu"]["result"]
    providers = result["providers"]
    assert providers["webgpu"]["status"] in ("fell back", "ran")
    if providers["webgpu"]["status"] == "fell back":  # no GPU adapter here: the reason is the engine's own
        assert "webgpu" in providers["webgpu"]["reason"]
        assert providers["cpu"]["probe"] == "webgpu-probe"  # its probe ran on the CPU, so it timed the CPU
    assert providers["cuda"]["status"] == "skipped" and "CUDA provider library" in providers["cuda"]["reason"]
    assert providers["cpu"]["status"] == "ran"
    cpu_runs = [r for r in result["runs"] if r["provider"] == "cpu"]
    assert [r["batch"] for r in cpu_runs] == [1, 2]
    for run in cpu_runs:
        assert run["rc"] == 0 and run["provider_used"] == "cpu" and run["texts"] == 2
        assert {row["strategy"] for row in run["rows"]} == {"ar", "eagle"}
    bench = json.loads((dry_run / "bench.json").read_text())
    assert bench["format"] == "spear-device-bench/1"
    assert [len(r["rows"]) for r in bench["runs"] if r["provider"] == "cpu"] == [2, 2]
    assert all("tokens_per_s" in row and row["provider"] == "cpu" for r in bench["runs"] for row in r["rows"])


def test_train_runs_the_recipe_and_brings_back_what_export_needs(dry_run):
    result = json.loads((dry_run / "summary.json").read_text())["stages"]["train"]["result"]
    assert result["rc"] == 0 and result["archive"] == ["train.tar.gz"]
    assert [s for s, st in result["recipe_stages"].items() if st["status"] == "done"] == ["target", "greedy", "drafters", "checker"]
    assert result["validation"]["tokens"] > 0
    with tarfile.open(dry_run / "train.tar.gz") as tar:
        names = set(tar.getnames())
    assert {"voice-run/recipe.json", "voice-run/drafters/target.pt", "voice-run/drafters/draft.pt",
            "voice-run/drafters/eagle.pt", "voice-run/checker/ckpt.pt"} <= names
    left_out = [n for n in names if n.endswith(".npy") or n.endswith("resume.pt") or n == "voice-run/target/target.pt"]
    assert left_out == []


# ----------------------------------------------------------------------------------------------------
# The parts


def test_stages_are_chosen_and_unknown_ones_refused():
    assert device_run.selected_stages(",".join(device_run.DEFAULT_STAGES), "") == ["env", "webgpu", "train"]
    assert device_run.selected_stages("speaker,env", "") == ["env", "speaker"]
    assert device_run.selected_stages("env,webgpu,train", ",train") == ["env", "webgpu"]
    assert device_run.selected_stages("train,env", "") == ["env", "train"]
    with pytest.raises(SystemExit, match="unknown stage 'gpu'"):
        device_run.selected_stages("env,gpu", "")


def test_a_child_past_its_box_is_stopped_with_its_whole_group(tmp_path):
    ctx = make_ctx(tmp_path)
    marker = tmp_path / "survived"
    start = time.time()
    ran = ctx.run(["sh", "-c", f"(sleep 3; touch {marker}) & sleep 30"], tmp_path / "log", 1.0)
    assert ran["timed_out"] and ran["rc"] is None and time.time() - start < 10
    time.sleep(3.5)
    assert not marker.exists()  # the background child went with its group
    assert ctx.run(["no-such-program-here"], tmp_path / "log", 5)["rc"] == 127
    assert "stopped after 1 s" in (tmp_path / "log").read_text()


def test_a_call_stopped_from_outside_still_leaves_its_summary(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "DEVICE_CARRY": str(tmp_path)}
    proc = subprocess.Popen([str(DEVICE / "run.sh"), "--dry-run", "--out", str(tmp_path / "out"), "--work", str(tmp_path / "work"),
                             "--stages", "webgpu"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.time()
    while not (tmp_path / "work/logs/webgpu.log").exists() and time.time() - started < 60:
        time.sleep(0.2)
    time.sleep(1)  # inside the webgpu stage, its node running
    proc.terminate()
    assert proc.wait(timeout=30) == 1
    summary = json.loads((tmp_path / "out/summary.json").read_text())
    assert summary["stages"]["webgpu"]["status"] == "stopped" and "stopped from outside" in summary["stages"]["webgpu"]["reason"]
    assert summary["stages"]["train"]["status"] == "skipped"
    assert (tmp_path / "out/logs.tar.gz").exists()


def test_the_bench_plan_fits_its_share():
    configs = stages.bench_configs("ar,eagle,draft,early-exit", "3,4")
    assert configs == 7
    # ample time: every sentence, every repeat
    assert stages.plan_bench(1000, 5, 0.1, configs, 1, 24, 3)[:2] == (24, 3)
    # less: fewer repeats first
    n, repeats, estimate = stages.plan_bench(75, 5, 0.1, configs, 1, 24, 3)
    assert (n, repeats) == (24, 2) and estimate <= 75
    # much less: one repeat on the sentences that fit, but never under one batch
    n, repeats, estimate = stages.plan_bench(30, 5, 0.1, configs, 1, 24, 3)
    assert repeats == 1 and 1 <= n < 24 and estimate <= 30
    assert stages.plan_bench(1, 5, 0.1, configs, 8, 24, 3)[:2] == (8, 1)


def test_out_files_flags_what_would_not_come_back(tmp_path):
    for i in range(9):
        (tmp_path / f"f{i}").write_text("x")
    report = device_run.out_files(tmp_path)
    assert len(report["files"]) == 9 and any("over 8" in p for p in report["problems"])
    big = tmp_path / "f0"
    with open(big, "wb") as f:
        f.truncate(device_run.MAX_OUT_FILE_BYTES + 1)
    assert any(p.startswith("f0:") for p in device_run.out_files(tmp_path)["problems"])


def test_the_train_archive_comes_back_in_parts_without_what_export_does_not_need(tmp_path, monkeypatch):
    ctx = make_ctx(tmp_path)
    run_dir = ctx.work / "voice-run"
    for name, size in {"recipe.json": 10, "drafters/target.pt": 3000, "target/target.pt": 3000, "greedy/meta.json": 10,
                       "greedy/train.tokens.npy": 5000, "checker/ckpt.pt": 2000, "checker/resume.pt": 6000}.items():
        (run_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (run_dir / name).write_bytes(os.urandom(size))
    monkeypatch.setattr(stages, "PART_BYTES", 2048)
    parts = stages.train_archive(ctx, run_dir, ctx.logs / "train.log", 30)
    assert len(parts) > 1 and all((ctx.out / p).stat().st_size <= 2048 for p in parts)
    whole = tmp_path / "whole.tar.gz"
    whole.write_bytes(b"".join((ctx.out / p).read_bytes() for p in parts))
    with tarfile.open(whole) as tar:
        names = {m.name for m in tar.getmembers() if m.isfile()}
    assert names == {"voice-run/recipe.json", "voice-run/drafters/target.pt", "voice-run/greedy/meta.json", "voice-run/checker/ckpt.pt"}
    monkeypatch.setattr(stages, "PART_BYTES", 512)
    with pytest.raises(RuntimeError, match="more than 4 parts"):
        stages.train_archive(ctx, run_dir, ctx.logs / "train.log", 30)


def test_train_without_a_pack_is_skipped_and_says_how_to_make_one(tmp_path):
    ctx = make_ctx(tmp_path, settings=device_run.DEVICE)
    ctx.repo = tmp_path / "tree"  # a tree with no native-models/work/pack-everyday, and an empty carry
    with pytest.raises(stages.Skip, match="prepare.sh.*pack.sh"):
        stages.stage_train(ctx, 300, ctx.logs / "train.log")


def test_carried_archives_unpack(tmp_path):
    src = tmp_path / "src/bin"
    src.mkdir(parents=True)
    (src / "node").write_text("#!/bin/sh\n")
    with tarfile.open(tmp_path / "node.tar.xz", "w:xz") as tar:
        tar.add(src, arcname="bin")
    stages.unpack(tmp_path / "node.tar.xz", tmp_path / "dest")
    assert (tmp_path / "dest/bin/node").read_text() == "#!/bin/sh\n"


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb is not installed")
def test_a_library_the_machine_lacks_comes_from_the_carried_packages(tmp_path, monkeypatch):
    pkg = tmp_path / "pkg"
    (pkg / "DEBIAN").mkdir(parents=True)
    (pkg / "DEBIAN/control").write_text("Package: libfake1\nVersion: 1.0\nArchitecture: amd64\nMaintainer: t <t@t>\nDescription: t\n")
    lib = pkg / "usr/lib/x86_64-linux-gnu/libfake.so.1.2.3"
    lib.parent.mkdir(parents=True)
    lib.write_bytes(b"\x7fELF")
    ctx = make_ctx(tmp_path)
    (ctx.carry / "debs").mkdir()
    subprocess.run(["dpkg-deb", "--build", str(pkg), str(ctx.carry / "debs/libfake1.deb")], check=True, capture_output=True)
    real_run = subprocess.run

    def ldconfig_without_it(cmd, **kwargs):  # the machine's ldconfig lists libc only
        if cmd[:2] == ["sh", "-c"] and "ldconfig" in cmd[2]:
            return subprocess.CompletedProcess(cmd, 0, stdout="\tlibc.so.6 (libc6,x86-64) => /lib/libc.so.6\n", stderr="")
        return real_run(cmd, **kwargs)

    monkeypatch.setattr(stages.subprocess, "run", ldconfig_without_it)
    report = stages.vulkan_libraries(ctx, ctx.logs / "webgpu.log")
    assert report["libvulkan_on_machine"] is False and report["added"] == ["libfake.so.1"]
    assert (ctx.work / "gl-lib/libfake.so.1").resolve() == (ctx.work / "gl/usr/lib/x86_64-linux-gnu/libfake.so.1.2.3").resolve()
    assert ctx.env_extra["LD_LIBRARY_PATH"].split(":")[0] == str(ctx.work / "gl-lib")


def test_the_speaker_stage_without_its_carry_is_skipped_and_says_how_to_make_it(tmp_path):
    ctx = make_ctx(tmp_path, settings=device_run.DEVICE)
    with pytest.raises(stages.Skip, match="pack.sh --only festival,texts"):
        stages.stage_speaker(ctx, 300, ctx.logs / "speaker.log")
    (ctx.carry / stages.SPEAKER_TEXTS).write_text('{"id": "a", "text": "Hello."}\n')
    with pytest.raises(stages.Skip, match="festival.tar.xz.*pack.sh --only festival"):
        stages.stage_speaker(ctx, 300, ctx.logs / "speaker.log")


CARRIED_FESTIVAL = REPO / ".devcarry" / stages.FESTIVAL_ARCHIVE


@pytest.mark.skipif(not CARRIED_FESTIVAL.exists(), reason="no .devcarry/festival.tar.xz: pack.sh --only festival makes it")
def test_the_speaker_stage_renders_with_the_carried_festival_trains_and_brings_back_a_speaker(tmp_path):
    ctx = make_ctx(tmp_path, budget_s=150.0)
    (ctx.carry / stages.FESTIVAL_ARCHIVE).symlink_to(CARRIED_FESTIVAL)
    (ctx.carry / stages.SPEAKER_CODEBOOK).symlink_to(REPO / "native-models/voice/speaker/codebook.npz")
    texts = ["The first short sentence.", "A second one, a little longer than the first.", "Three.", "And the fourth sentence here."]
    (ctx.carry / stages.SPEAKER_TEXTS).write_text("".join(json.dumps({"id": f"t{i}", "text": t}) + "\n" for i, t in enumerate(texts)))
    result = stages.stage_speaker(ctx, 120, ctx.logs / "speaker.log")
    assert result.get("status", "ok") == "ok", result
    assert result["festival"].startswith(str(ctx.work / "festival/bin/festival"))  # the carried copy, not the system's
    assert result["teacher"]["clips"] == 4 and result["teacher"]["val"] == 2
    assert result["teacher"]["codebook"] == str(ctx.carry / stages.SPEAKER_CODEBOOK)
    assert result["train"]["steps"] > 0 and result["export"]["checks"]["chunked_max_diff"] < 1e-5
    with tarfile.open(ctx.out / result["archive"][0]) as tar:
        names = set(tar.getnames())
    assert {"speaker/speaker.json", "speaker/speaker.onnx", "speaker/parity.json", "speaker/codebook.npz",
            "speaker/samples/00.speaker.wav", "speaker/train.json", "speaker/teacher.json"} <= names


# ----------------------------------------------------------------------------------------------------
# slim.sh and the carried voice: the tree a call sends without native-models/voice and tests/fixtures


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "t",
           "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    return subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=check)


def slim(repo: Path, command: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run([str(repo / "native-models/tools/device/slim.sh"), command], env=env, capture_output=True, text=True)


def fake_voice(voice: Path) -> Path:
    """A voice folder of every kind of entry readManifest reads, each file a few random bytes: graphs with the file
    they were derived from, chains, another target build, a speaker and a reading check."""
    graphs = ("full", "trunk", "rest", "exit_head", "draft", "eagle", "layer_skip", "medusa", "seed_prophet")
    manifest = {"format": "spear-t2s/2", "name": "fake", "target": "int8", "graphs": {}, "chains": {},
                "targets": {"float32": {role: {"file": f"{role}.fused.onnx", "sha256": "0" * 64} for role in ("full", "trunk", "rest")}}}
    for role in graphs:
        manifest["graphs"][role] = {"file": f"{role}.int8.onnx", "sha256": "0" * 64, "source": {"file": f"{role}.onnx", "sha256": "0" * 64}}
    for drafter in ("eagle", "draft", "seed_prophet"):
        ref = lambda kind, g: {"file": f"{drafter}_chain.{kind}{g}.onnx", "sha256": "0" * 64}  # noqa: E731
        manifest["chains"][drafter] = {"weights": {"file": f"{drafter}_chain.weights", "sha256": "0" * 64},
                                       "gammas": {str(g): ref("g", g) for g in (2, 3)}, "source": {"file": f"{drafter}.int8.onnx"},
                                       "sampled": {"gammas": {str(g): ref("s", g) for g in (2, 3)}}}
    (voice / "speaker").mkdir(parents=True)
    (voice / "checker").mkdir()
    (voice / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (voice / "speaker/speaker.json").write_text(json.dumps({"graph": {"file": "speaker.onnx"}, "files": {"speaker.onnx": "", "codebook.npz": ""}}))
    names = [f"{role}{kind}.onnx" for role in graphs for kind in (".int8", "", ".fused")]
    names += [f"{d}_chain.{f}" for d in ("eagle", "draft", "seed_prophet") for f in ("weights", "g2.onnx", "g3.onnx", "s2.onnx", "s3.onnx")]
    names += ["speaker/speaker.onnx", "speaker/codebook.npz", "checker/checker.json", "checker/checker.onnx"]
    for name in names:
        (voice / name).write_bytes(os.urandom(64))
    return voice


def test_the_carried_voice_holds_the_graphs_of_the_benched_strategies_under_a_manifest_naming_only_those(tmp_path):
    voice = fake_voice(tmp_path / "voice")
    archive = tmp_path / stages.VOICE_ARCHIVE
    carried = stages.pack_voice(voice, "ar,eagle,draft,early-exit", archive)
    assert carried["graphs"] == ["draft", "eagle", "exit_head", "full", "rest", "trunk"] and carried["chains"] == ["draft", "eagle"]
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        manifest = json.load(tar.extractfile("manifest.json"))
        same = all(tar.extractfile(n).read() == (voice / n).read_bytes() for n in names - {"manifest.json"})
    graphs = {f"{role}.int8.onnx" for role in carried["graphs"]}
    chains = {f"{d}_chain.{f}" for d in ("eagle", "draft") for f in ("weights", "g2.onnx", "g3.onnx", "s2.onnx", "s3.onnx")}
    assert names == {"manifest.json", "speaker/speaker.json", "speaker/speaker.onnx", "speaker/codebook.npz"} | graphs | chains
    assert same  # the files as they are: the engine checks each against the manifest's sha256
    assert sorted(manifest["graphs"]) == carried["graphs"] and sorted(manifest["chains"]) == ["draft", "eagle"]
    assert "targets" not in manifest and manifest["graphs"]["full"] == json.loads((voice / "manifest.json").read_text())["graphs"]["full"]
    assert stages.voice_for(json.loads((voice / "manifest.json").read_text()), "ar")[1] == ["full.int8.onnx"]
    with pytest.raises(ValueError, match="unknown strategy 'eagle3'"):
        stages.voice_for({"graphs": {}}, "ar,eagle3")


def test_the_webgpu_stage_unpacks_the_carried_voice_where_the_tree_lacks_it(tmp_path):
    ctx = make_ctx(tmp_path)
    ctx.repo = tmp_path / "tree"  # a tree sent with slim on: no native-models/voice
    with pytest.raises(RuntimeError, match="no voice: .*slim.sh on"):
        stages.carried_voice(ctx)
    stages.pack_voice(fake_voice(tmp_path / "voice"), "ar,eagle", ctx.carry / stages.VOICE_ARCHIVE)
    assert stages.carried_voice(ctx) == {"from": "unpacked from voice.tar.xz", "graphs": ["eagle", "full"]}
    unpacked = ctx.repo / stages.VOICE_DIR
    assert (unpacked / "eagle_chain.s3.onnx").read_bytes() == (tmp_path / "voice/eagle_chain.s3.onnx").read_bytes()
    assert not (unpacked / "layer_skip.int8.onnx").exists() and not (unpacked / "checker").exists()
    (unpacked / "manifest.json").write_text(json.dumps({"graphs": {"full": {}}}))  # the tree's own voice is kept as it is
    assert stages.carried_voice(ctx) == {"from": "the tree's own", "graphs": ["full"]}


SHIPPED_VOICE = REPO / stages.VOICE_DIR


@pytest.mark.skipif(not (REPO / "node_modules/onnxruntime-node").exists(), reason="node_modules is missing: npm ci")
def test_the_carried_voice_benches_as_the_shipped_one(tmp_path):
    """The stage's bench on the carried voice: every row's units and acceptance equal the shipped voice's."""
    stages.pack_voice(SHIPPED_VOICE, device_run.DEVICE.strategies, tmp_path / stages.VOICE_ARCHIVE)
    stages.unpack(tmp_path / stages.VOICE_ARCHIVE, tmp_path / "voice")
    texts = tmp_path / "texts.txt"
    texts.write_text("The old lighthouse stood at the edge of the cliff.\nPlease water the plants.\n")
    keys = ("strategy", "gamma", "tokens", "acceptance_rate", "tokens_per_target_call", "provider")

    def rows(voice: Path) -> list:
        done = subprocess.run(["node", "bin/spear.mjs", "bench", "--voice", str(voice), "--strategies", device_run.DEVICE.strategies,
                               "--gammas", device_run.DEVICE.gammas, "--batch", "1", "--repeats", "1", "--texts", str(texts), "--json"],
                              cwd=REPO, capture_output=True, text=True, timeout=300,
                              env={**os.environ, "SPEAR_CONFIG_DIR": str(tmp_path / "config")})
        assert done.returncode == 0, done.stderr
        return [{k: r[k] for k in keys} for r in json.loads(done.stdout)]

    carried = rows(tmp_path / "voice")
    assert len(carried) == stages.bench_configs(device_run.DEVICE.strategies, device_run.DEVICE.gammas)
    assert carried == rows(SHIPPED_VOICE)


@pytest.fixture
def slim_repo(tmp_path) -> Path:
    """A repository with the device tools, a tiny voice at native-models/voice and a fixture folder, committed; then a
    tracked file changed and an untracked one added under each, so `git status` has something to keep."""
    repo = tmp_path / "repo"
    (repo / "native-models/tools/device").mkdir(parents=True)
    for name in ("slim.sh", "pack.sh", "run.py", "stages.py"):
        shutil.copy2(DEVICE / name, repo / "native-models/tools/device" / name)
    shutil.copytree(REPO / "tests/fixtures/tiny-voice", repo / "native-models/voice")
    (repo / "tests/fixtures/sub").mkdir(parents=True)
    (repo / "tests/fixtures/sub/a.txt").write_text("a\n")
    (repo / ".gitignore").write_text("/.devcarry/\n__pycache__/\n")  # as the project's
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "init")
    (repo / "tests/fixtures/sub/a.txt").write_text("changed\n")
    (repo / "native-models/voice/new.txt").write_text("untracked\n")
    return repo


def snapshot(repo: Path) -> tuple:
    exclude = repo / git(repo, "rev-parse", "--git-path", "info/exclude").stdout.strip()
    return (git(repo, "status", "--porcelain", "--untracked-files=all").stdout, git(repo, "ls-files", "-s").stdout, git(repo, "ls-files", "-v").stdout,
            exclude.read_bytes() if exclude.exists() else None)


def test_slim_takes_the_voice_out_of_the_tree_and_off_puts_the_index_back_exactly(slim_repo):
    repo = slim_repo
    before = snapshot(repo)
    assert slim(repo, "status").returncode == 1
    on = slim(repo, "on")
    assert on.returncode == 0, on.stdout + on.stderr
    assert git(repo, "ls-files", "--", "native-models/voice", "tests/fixtures").stdout == ""  # out of the index
    sent = git(repo, "ls-files", "--cached", "--others", "--exclude-standard").stdout.split()  # what a device call sends
    assert sent and not [f for f in sent if f.startswith(("native-models/voice/", "tests/fixtures/"))]
    assert (repo / "native-models/voice/manifest.json").exists() and (repo / "tests/fixtures/sub/a.txt").read_text() == "changed\n"
    assert (repo / ".devcarry" / stages.VOICE_ARCHIVE).exists() and "in all, limit 64.0 MiB" in on.stdout
    assert slim(repo, "status").returncode == 0

    again = slim(repo, "on")
    assert again.returncode == 2 and "on already" in again.stderr
    commit = git(repo, "commit", "-qm", "would delete the voice", check=False)
    assert commit.returncode != 0 and "slim is on" in commit.stderr
    assert git(repo, "rev-list", "--count", "HEAD").stdout.strip() == "1"

    off = slim(repo, "off")
    assert off.returncode == 0, off.stderr
    assert snapshot(repo) == before
    assert not (repo / "native-models/voice/.gitignore").exists() and not (repo / ".git/hooks/pre-commit").exists()
    assert slim(repo, "status").returncode == 1


def test_slim_refuses_an_index_it_could_not_put_back(slim_repo):
    repo = slim_repo
    git(repo, "add", "tests/fixtures/sub/a.txt")  # a staged change: git reset would lose it
    before = snapshot(repo)
    refused = slim(repo, "on")
    assert refused.returncode == 2 and "the index differs from HEAD under tests/fixtures" in refused.stderr
    assert snapshot(repo) == before and slim(repo, "status").returncode == 1


def test_slim_in_one_worktree_leaves_the_others_as_they_are(slim_repo, tmp_path):
    main = slim_repo
    linked = tmp_path / "linked"
    git(main, "worktree", "add", "-q", str(linked))
    main_before = snapshot(main)
    assert slim(linked, "on").returncode == 0
    assert snapshot(main) == main_before  # the main worktree still sees its new files under the voice
    (main / "other.txt").write_text("x\n")
    git(main, "add", "other.txt")
    assert git(main, "commit", "-qm", "a commit where slim is off", check=False).returncode == 0
    assert git(linked, "commit", "-qm", "x", "--allow-empty", check=False).returncode != 0
    linked_on = git(linked, "status", "--porcelain").stdout
    assert slim(main, "on").returncode == 0 and slim(main, "off").returncode == 0
    assert git(linked, "status", "--porcelain").stdout == linked_on  # the linked worktree is on still, its hook kept
    assert git(linked, "commit", "-qm", "x", "--allow-empty", check=False).returncode != 0
    assert slim(linked, "off").returncode == 0
    assert not (main / ".git/hooks/pre-commit").exists()


def test_pack_sizes_two_calls_when_the_training_pack_takes_the_carry_over_the_limit(slim_repo):
    """With .devcarry over 64 MiB because of the training pack, pack.sh gives an env,webgpu call and an env,train call
    and fails (exit 3) only when one of them is over."""
    repo = slim_repo
    carry = repo / ".devcarry"
    carry.mkdir()
    mib = 2**20
    for name, size in (("node.tar.xz", 24 * mib), ("node_modules.tar.xz", 20 * mib), ("pack.tar.xz", 30 * mib)):
        with open(carry / name, "wb") as f:
            f.truncate(size)  # sparse: only the sizes count
    env = {**os.environ, "PACK_DIR": str(repo / "no-pack")}

    def pack():
        return subprocess.run(["native-models/tools/device/pack.sh", "--only", "voice"], cwd=repo, capture_output=True, text=True, env=env)

    fits = pack()
    assert fits.returncode == 0, fits.stdout + fits.stderr
    assert "an env,webgpu call" in fits.stdout and "an env,train call" in fits.stdout
    with open(carry / "pack.tar.xz", "wb") as f:
        f.truncate(70 * mib)
    over = pack()
    assert over.returncode == 3 and "over the device tool's limit" in over.stderr


def test_the_carried_voice_maps_strategies_to_graphs_as_the_engine_does():
    """stages.STRATEGY_GRAPHS is the Python twin of electron/core/engine/decode.ts's STRATEGY_GRAPHS: read the latter."""
    source = (REPO / "electron/core/engine/decode.ts").read_text()
    block = re.search(r"STRATEGY_GRAPHS[^=]*= \{(.*?)\};", source, re.S).group(1)
    engine = {name: tuple(re.findall(r"'([a-z_]+)'", roles)) for name, roles in re.findall(r"'?([a-z-]+)'?: \[([^\]]*)\]", block)}
    assert engine == stages.STRATEGY_GRAPHS
