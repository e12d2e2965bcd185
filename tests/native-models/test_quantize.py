"""Int8 drafters (spear_voice/t2s/quantize.py): quantising a copy of the tiny fixture twice gives the committed
tiny-int8 entries, so the quantiser is reproducible and idempotent. (The int8 graphs' outputs are checked in
ONNX Runtime by tests/native-models/quantize.test.ts.)"""

import json
import shutil

import pytest

from spear_voice import REPO_ROOT
from spear_voice.t2s.quantize import DRAFTER_ROLES, main, quantize_voice

FIXTURES = REPO_ROOT / "tests" / "fixtures"


def test_quantizing_twice_gives_the_committed_int8_graphs(tmp_path):
    model = tmp_path / "tiny"
    shutil.copytree(FIXTURES / "tiny", model)
    for _ in range(2):
        quantize_voice(model)
    made = json.loads((model / "manifest.json").read_text())
    committed = json.loads((FIXTURES / "tiny-int8" / "manifest.json").read_text())
    for role in (r for r in DRAFTER_ROLES if r != "seed_prophet"):
        assert made["graphs"][role] == committed["graphs"][role], f"{role}: a different int8 graph"
    # tiny-int8 has no seed prophet; tiny's is quantised as the others.
    prophet = made["graphs"]["seed_prophet"]
    assert (prophet["file"], prophet["source"]["file"]) == ("seed_prophet.int8.onnx", "seed_prophet.onnx")
    for role in ("full", "trunk", "rest"):
        assert made["graphs"][role] == committed["graphs"][role], f"{role}: the target graphs must stay the float32 export"


def test_the_command_line_refuses_a_role_that_is_not_a_drafter(capsys):
    with pytest.raises(SystemExit):
        main([str(FIXTURES / "tiny"), "--roles", "draft,full"])
    assert "full is not a drafter role" in capsys.readouterr().err
