"""The exporter (spear_voice/t2s/export.py) rerun from PyTorch: it proves its own graphs (PyTorch invariants,
then ONNX Runtime parity, raising on a miss) and writes the same graphs as the committed fixture."""

import json

from spear_voice import REPO_ROOT
from spear_voice.fixtures import TINY, make

FIXTURES = REPO_ROOT / "tests" / "fixtures"


def test_the_tiny_fixture_exports_again_byte_for_byte(tmp_path, capfd):
    make(TINY, tmp_path, "the export test", chains=True, seed_prophet=True)  # as make_fixtures.py makes tiny
    assert "every output within 0.0001" in capfd.readouterr().out
    fresh = json.loads((tmp_path / "manifest.json").read_text())
    committed = json.loads((FIXTURES / "tiny" / "manifest.json").read_text())
    for role, entry in committed["graphs"].items():
        assert fresh["graphs"][role]["sha256"] == entry["sha256"], f"{role}.onnx differs from the committed fixture"
    for drafter, chain in committed["chains"].items():
        assert fresh["chains"][drafter] == chain, f"{drafter}'s chains differ from the committed fixture"
