"""The research scripts are plain scripts in native-models/research/: importable from there."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "native-models" / "research"))
