"""Fine-tuning drafters (spear_voice/train_t2s/init_drafters.py): a drafter with an added block grows from a
saved one and starts with the same outputs; other shapes start fresh; a prophet made for another target keeps
that target's frozen embedding and LM head and loads the rest."""

import dataclasses

import torch

from spear_voice.fixtures import TINY, build
from spear_voice.t2s.model import Prophet, shift_features
from spear_voice.train_t2s.init_drafters import init_drafters


def saved_prophet(tmp_path):
    target, _, prophet = build(TINY)
    torch.save({"model": prophet.state_dict()}, tmp_path / "prophet.pt")
    return target, prophet


def test_a_prophet_with_an_added_block_grows_from_the_saved_one(tmp_path):
    target, prophet = saved_prophet(tmp_path)
    torch.manual_seed(3)
    grown = Prophet(dataclasses.replace(prophet.cfg, n_layers=prophet.cfg.n_layers + 1))
    init_drafters(tmp_path, {"prophet": grown})
    assert len(grown.blocks) == 2
    ids = torch.randint(4, TINY.vocab_size, (2, 9), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        feature = shift_features(target(ids)[2])
        assert float((grown(ids, feature)[0] - prophet(ids, feature)[0]).abs().max()) <= 1e-6
    last = grown.blocks[-1]
    assert float(last.attn.wq.weight.abs().sum()) > 0, "the added block keeps its random input projections"
    assert float(last.attn.wo.weight.abs().sum() + last.mlp.w_down.weight.abs().sum()) == 0


def test_a_prophet_of_other_shapes_starts_fresh(tmp_path):
    _, prophet = saved_prophet(tmp_path)
    wider = Prophet(dataclasses.replace(prophet.cfg, d_model=prophet.cfg.d_model * 2, mlp_hidden=0))
    before = {k: v.clone() for k, v in wider.state_dict().items()}
    init_drafters(tmp_path, {"prophet": wider})
    assert all(torch.equal(before[k], v) for k, v in wider.state_dict().items())


def test_a_prophet_beside_a_retrained_target_keeps_that_targets_frozen_copies(tmp_path):
    target, prophet = saved_prophet(tmp_path)
    other = Prophet.from_target(target, n_layers=prophet.cfg.n_layers)
    with torch.no_grad():
        other.lm_head.weight.mul_(2.0)
        other.embed.weight.mul_(2.0)
    frozen = (other.lm_head.weight.clone(), other.embed.weight.clone())
    init_drafters(tmp_path, {"prophet": other})
    assert torch.equal(other.lm_head.weight, frozen[0]) and torch.equal(other.embed.weight, frozen[1])
    trained = prophet.state_dict()
    assert all(torch.equal(v, trained[k]) for k, v in other.state_dict().items() if not k.startswith(("lm_head", "embed")))
