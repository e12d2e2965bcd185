"""Spear Studio's voice in PyTorch: the reading decoder (t2s), its trainer (train_t2s), the speaking network
(speaker), the units (units), the reading check (checker), the corpus tools (corpus), the shared training
parts (training) and the recipe that runs them all (recipe). native-models/README.md maps every file.

Run a module from native-models/ (`cd native-models && python3 -m spear_voice.recipe ...`) or with
`PYTHONPATH=native-models` from the repository root.
"""

import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
WORK = REPO_ROOT / "native-models" / "work"  # corpus, audio, units, packs and runs: git-ignored, never committed


def code_commit(*paths: str) -> str:
    """The last commit that touched `paths` (relative to the repository root), with "-dirty" when they have
    uncommitted changes; "unknown" in a copied tree without git history (say nothing rather than guess)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()

    try:
        commit = git("log", "-1", "--format=%H", "--", *paths)
        if not commit:
            return "unknown"
        return commit + ("-dirty" if git("status", "--porcelain", "--", *paths) else "")
    except OSError:
        return "unknown"
