"""The drafters' chains (spear_voice/t2s/chain.py) are rebuilt byte for byte from the drafter graphs a model
ships: over a copy of tiny-int8, the manifest and every chain file come out as committed."""

import json
import shutil

from spear_voice import REPO_ROOT
from spear_voice.t2s.chain import chain_voice
from spear_voice.t2s.contract import CHAINED_DRAFTERS

TINY_INT8 = REPO_ROOT / "tests" / "fixtures" / "tiny-int8"


def test_chains_are_rebuilt_byte_for_byte(tmp_path):
    model = tmp_path / "tiny-int8"
    shutil.copytree(TINY_INT8, model)
    chain_voice(model)  # the gammas the manifest already lists
    manifest = json.loads((model / "manifest.json").read_text())
    assert manifest == json.loads((TINY_INT8 / "manifest.json").read_text())
    for drafter in CHAINED_DRAFTERS:
        chain = manifest["chains"][drafter]
        assert chain["source"]["file"] == f"{drafter}.int8.onnx", "built from the graph the drafter ships"
        for ref in [chain["weights"], *chain["gammas"].values(), *chain["sampled"]["gammas"].values()]:
            assert (model / ref["file"]).read_bytes() == (TINY_INT8 / ref["file"]).read_bytes(), ref["file"]
