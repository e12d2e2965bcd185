"""Fit a drafters run into what a lent GPU machine sends back (at most 8 files of 16 MiB), and undo it here.

    python3 native-models/gpu/bundle.py pack RUN_DIR OUT.tar      # on the GPU machine, after distill.sh
    /usr/bin/python3 native-models/gpu/bundle.py unpack OUT.tar BASE_TARGET DEST_DIR   # here

A drafters run with --distill_exit rewrites target.pt only in its exit head, so the bundle carries that
head alone (exit.pt) beside draft.pt, prophet.pt and the logs; `unpack` puts it back into the base target
(the target.pt the run started from, checked by sha256) and leaves a folder `train_t2s.py export` reads.
"""

import hashlib
import io
import sys
import tarfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from train_t2s import load_checkpoint, save  # noqa: E402

EXIT_PREFIXES = ("exit_blocks.", "exit_norm.")
SMALL = ("draft.pt", "prophet.pt", "eval.json", "config.json", "log.jsonl", "train.out")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pack(run: Path, out: Path) -> None:
    ckpt = load_checkpoint(run / "target.pt")
    head = {"format": "spear-exit-head/1", "state": ckpt["state"], "train_config": ckpt["train_config"],
            "code_commit": ckpt["code_commit"], "units_source": ckpt["units_source"],
            "model": {k: v for k, v in ckpt["model"].items() if k.startswith(EXIT_PREFIXES)}}
    buf = io.BytesIO()
    torch.save(head, buf)
    with tarfile.open(out, "w") as tar:
        info = tarfile.TarInfo("exit.pt")
        info.size = buf.getbuffer().nbytes
        buf.seek(0)
        tar.addfile(info, buf)
        for name in SMALL:
            if (run / name).exists():
                tar.add(run / name, arcname=name)
    print(f"{out}: {out.stat().st_size / 1e6:.1f} MB")


def unpack(bundle: Path, base_target: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(bundle) as tar:
        tar.extractall(dest)
    head = load_checkpoint(dest / "exit.pt")
    target = load_checkpoint(base_target)
    missing = [k for k in target["model"] if k.startswith(EXIT_PREFIXES) and k not in head["model"]]
    if missing or not head["model"]:
        raise ValueError(f"{bundle}: exit head does not fit {base_target} (missing {missing[:3]})")
    for k, v in head["model"].items():
        target["model"][k] = v.to(target["model"][k].dtype)
    target["stage"] = "drafters"
    # The rest of the target is the base's; the exit head says where it came from (export_voice records it).
    target["exit_head"] = {"state": head["state"], "config": head.get("train_config"), "code_commit": head.get("code_commit"),
                           "units_source": head.get("units_source")}
    save(dest / "target.pt", target)
    (dest / "exit.pt").unlink()
    print(f"{dest}: target.pt ({base_target}, sha256 {sha256(base_target)[:16]}, exit head from the bundle), "
          + ", ".join(sorted(p.name for p in dest.iterdir())))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "pack":
        pack(Path(sys.argv[2]), Path(sys.argv[3]))
    elif len(sys.argv) == 5 and sys.argv[1] == "unpack":
        unpack(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
    else:
        sys.exit(__doc__)
