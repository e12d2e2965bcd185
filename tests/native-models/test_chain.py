"""The drafters' chains (spear_voice/t2s/chain.py) are rebuilt byte for byte from the drafter graphs a model
ships: over a copy of tiny-int8 (eagle and draft, int8) and of tiny (with the seed prophet's), the manifest and
every chain file come out as committed."""

import json
import shutil

import pytest

from spear_voice import REPO_ROOT
from spear_voice.t2s.chain import chain_voice

FIXTURES = REPO_ROOT / "tests" / "fixtures"


@pytest.mark.parametrize("name, suffix", [("tiny-int8", ".int8.onnx"), ("tiny", ".onnx")])
def test_chains_are_rebuilt_byte_for_byte(tmp_path, name, suffix):
    committed = FIXTURES / name
    model = tmp_path / name
    shutil.copytree(committed, model)
    chain_voice(model)  # the gammas the manifest already lists
    manifest = json.loads((model / "manifest.json").read_text())
    assert manifest == json.loads((committed / "manifest.json").read_text())
    assert set(manifest["chains"]) == ({"eagle", "draft", "seed_prophet"} if name == "tiny" else {"eagle", "draft"})
    for drafter, chain in manifest["chains"].items():
        assert chain["source"]["file"] == f"{drafter}{suffix}", "built from the graph the drafter ships"
        for ref in [chain["weights"], *chain["gammas"].values(), *chain["sampled"]["gammas"].values()]:
            assert (model / ref["file"]).read_bytes() == (committed / ref["file"]).read_bytes(), ref["file"]
