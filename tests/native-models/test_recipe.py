"""The recipe (spear_voice/recipe.py): how it splits one budget among its stages, how it resumes a stopped run,
and the cpu preset end to end on a tiny pack (the model shrunk with --set), stopped after the greedy readings
and resumed to the exported voice."""

import json

import pytest

from spear_voice import recipe
from spear_voice.recipe import PRESETS, RecipeOptions, main, open_run, parse_overrides, spent_s, stage_budget, stages_to_run

TINY_MODEL = ["d_model=64", "n_layers=3", "n_heads=2", "exit_layer=1", "draft_d_model=32", "draft_n_heads=1",
              "batch_tokens=2048", "eval_sentences=32"]


# ----------------------------------------------------------------------------------------------------
# Planning


def test_each_budgeted_stage_gets_its_share_of_what_is_left():
    cpu = PRESETS["cpu"]
    budgeted = ["target", "greedy", "drafters", "checker"]
    assert sum(cpu.shares.values()) == pytest.approx(1.0)
    # At the start: the target's share of the budget less the reserve for pack and export
    assert stage_budget("target", 7000, 0, ["pack", *budgeted, "export"], cpu) == pytest.approx(0.45 * 6700)
    # Later stages share what the earlier ones left, in proportion to their shares
    left = 7000 - 3500 - cpu.reserve_s
    assert stage_budget("drafters", 7000, 3500, ["drafters", "checker", "export"], cpu) == pytest.approx(left * 0.35 / 0.45)
    assert stage_budget("checker", 7000, 6000, ["checker", "export"], cpu) == pytest.approx(1000 - cpu.reserve_s)
    # However late, a stage still gets its minimum
    assert stage_budget("checker", 7000, 7000, ["checker"], cpu) == recipe.MIN_STAGE_S


def test_the_state_says_what_is_left_and_what_was_spent():
    state = {"stages": {"pack": {"status": "done", "elapsed_s": 3.0}, "target": {"status": "done", "elapsed_s": 100.0},
                        "greedy": {"status": "running", "planned_s": 40.0}}}
    assert stages_to_run(state, list(recipe.STAGES)) == ["greedy", "drafters", "checker", "export"]
    assert stages_to_run(state, ["target", "export"]) == ["export"]
    assert spent_s(state) == 143.0  # a stopped stage counts as its plan


def test_runs_are_not_overwritten_and_resume_only_what_exists(tmp_path):
    with pytest.raises(SystemExit, match="nothing to resume"):
        open_run(tmp_path, {}, resume=True)
    with pytest.raises(SystemExit, match="--preset and --budget-s"):
        open_run(tmp_path, {"pack": "P"}, resume=False)
    with pytest.raises(SystemExit, match="--pack, or --corpus"):
        open_run(tmp_path, {"preset": "cpu", "budget_s": 10.0}, resume=False)
    state = open_run(tmp_path, {"preset": "cpu", "budget_s": 10.0, "pack": "P"}, resume=False)
    recipe.save_state(tmp_path, state)
    with pytest.raises(SystemExit, match="already holds a recipe run"):
        open_run(tmp_path, {"preset": "cpu", "budget_s": 10.0, "pack": "P"}, resume=False)
    with pytest.raises(SystemExit, match="other budget_s"):
        open_run(tmp_path, {"budget_s": 20.0}, resume=True)
    assert open_run(tmp_path, {"preset": "cpu"}, resume=True)["options"] == {**vars(RecipeOptions()), "budget_s": 10.0, "pack": "P"}


def test_set_parses_config_fields_by_their_type():
    assert parse_overrides(["d_model=64", "lr=3e-4", "keep_best=true"]) == {"d_model": 64, "lr": 3e-4, "keep_best": True}
    with pytest.raises(SystemExit, match="d_modle=64"):
        parse_overrides(["d_modle=64"])


def test_a_stopped_stage_resumes_with_its_plan_and_finished_ones_are_skipped(tmp_path, monkeypatch):
    calls = []

    def fake_stage(stage, out, o, preset, budget_s, resume, speaker, voice_out):
        calls.append((stage, round(budget_s, 1), resume))
        if stage == "drafters" and len(calls) < 6:
            raise KeyboardInterrupt  # the machine went away mid-stage

    monkeypatch.setattr(recipe, "run_stage", fake_stage)
    state = open_run(tmp_path, {"preset": "cpu", "budget_s": 1300.0, "pack": "P"}, resume=False)
    with pytest.raises(KeyboardInterrupt):
        recipe.run(tmp_path, state, list(recipe.STAGES), None, tmp_path / "voice")
    saved = json.loads((tmp_path / "recipe.json").read_text())
    assert [c[0] for c in calls] == ["pack", "target", "greedy", "drafters"]
    assert calls[1] == ("target", 450.0, False)  # 0.45 of 1300 - 300
    assert saved["stages"]["drafters"]["status"] == "running"
    planned = saved["stages"]["drafters"]["planned_s"]

    calls.clear()
    calls.extend([None] * 5)  # the next drafters call succeeds
    recipe.run(tmp_path, open_run(tmp_path, {}, resume=True), list(recipe.STAGES), None, tmp_path / "voice")
    assert [c[0] for c in calls[5:]] == ["drafters", "checker", "export"]
    assert calls[5] == ("drafters", planned, True)  # the same budget, continued from its checkpoints
    assert calls[6][2] is False  # a stage never started starts afresh
    saved = json.loads((tmp_path / "recipe.json").read_text())
    assert all(st["status"] == "done" for st in saved["stages"].values())
    assert saved["stages"]["drafters"]["elapsed_s"] >= planned


# ----------------------------------------------------------------------------------------------------
# End to end


def test_the_cpu_preset_makes_a_voice_from_a_corpus_stopped_and_resumed(tiny_corpus, tmp_path, capsys):
    out = tmp_path / "run"
    sets = [a for s in TINY_MODEL for a in ("--set", s)]
    main(["--preset", "cpu", "--budget-s", "320", "--out", str(out), "--corpus", str(tiny_corpus), "--fake-units",
          "--n-units", "64", "--stages", "pack,target,greedy", *sets])
    state = json.loads((out / "recipe.json").read_text())
    assert [s for s, st in state["stages"].items() if st["status"] == "done"] == ["pack", "target", "greedy"]
    assert (out / "pack/meta.json").exists() and (out / "target/target.pt").exists() and (out / "greedy/meta.json").exists()

    capsys.readouterr()
    main(["--resume", "--out", str(out)])
    log = capsys.readouterr().out
    assert "== drafters" in log and "== target" not in log and "== greedy" not in log  # finished stages are not run again
    state = json.loads((out / "recipe.json").read_text())
    assert all(st["status"] == "done" for st in state["stages"].values()) and len(state["stages"]) == 6
    manifest = json.loads((out / "voice/manifest.json").read_text())
    assert manifest["voice"]["default_strategy"] == "eagle"
    assert manifest["training"]["config"]["d_model"] == 64
    assert manifest["training"]["drafters"]["exit_head"]["config"]["distill_exit"] is True
    assert manifest["training"]["stages"]["target"]["done"]
    assert manifest["training"]["validation"]["tokens"] > 0
    assert (out / "voice/checker/checker.json").exists()
    assert {p.name for p in out.iterdir()} == {"recipe.json", "pack", "target", "greedy", "drafters", "checker", "voice", "voice-parity"}
