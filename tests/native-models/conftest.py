"""pytest for native-models: the spear_voice package is imported from native-models/ (no install needed)."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "native-models"))


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    """A corpus folder (read it, do not write to it) of 24 short rows of phoneme ids 1..20 in every split;
    packs derive stand-in units from the phonemes with fake units."""
    corpus = tmp_path_factory.mktemp("corpus")
    rows = [json.dumps({"id": f"r{i}", "text": f"row {i}", "phonemes": [1 + ((i * 7 + j * 3) % 20) for j in range(6 + i % 5)]})
            for i in range(24)]
    for split in ("train", "val", "test"):
        (corpus / f"{split}.jsonl").write_text("\n".join(rows) + "\n")
    return corpus


def pytest_configure(config):
    # NOTE: torch.onnx.export traces the models and warns about constants it records; the exports are
    # checked for parity instead.
    config.addinivalue_line("filterwarnings", "ignore::torch.jit.TracerWarning")
