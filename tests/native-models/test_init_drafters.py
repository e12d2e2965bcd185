"""Fine-tuning drafters (spear_voice/train_t2s/init_drafters.py): a drafter with an added block grows from a
saved one and starts with the same outputs; other shapes start fresh; an EAGLE drafter made for another target keeps
that target's frozen embedding and LM head and loads the rest."""

import dataclasses

import torch

from spear_voice.fixtures import TINY, build
from spear_voice.t2s.model import Eagle, shift_features
from spear_voice.train_t2s.init_drafters import init_drafters


def saved_eagle(tmp_path):
    target, _, eagle = build(TINY)
    torch.save({"model": eagle.state_dict()}, tmp_path / "eagle.pt")
    return target, eagle


def test_an_eagle_with_an_added_block_grows_from_the_saved_one(tmp_path):
    target, eagle = saved_eagle(tmp_path)
    torch.manual_seed(3)
    grown = Eagle(dataclasses.replace(eagle.cfg, n_layers=eagle.cfg.n_layers + 1))
    init_drafters(tmp_path, {"eagle": grown})
    assert len(grown.blocks) == 2
    ids = torch.randint(4, TINY.vocab_size, (2, 9), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        feature = shift_features(target(ids)[2])
        assert float((grown(ids, feature)[0] - eagle(ids, feature)[0]).abs().max()) <= 1e-6
    last = grown.blocks[-1]
    assert float(last.attn.wq.weight.abs().sum()) > 0, "the added block keeps its random input projections"
    assert float(last.attn.wo.weight.abs().sum() + last.mlp.w_down.weight.abs().sum()) == 0


def test_an_eagle_of_other_shapes_starts_fresh(tmp_path):
    _, eagle = saved_eagle(tmp_path)
    wider = Eagle(dataclasses.replace(eagle.cfg, d_model=eagle.cfg.d_model * 2, mlp_hidden=0))
    before = {k: v.clone() for k, v in wider.state_dict().items()}
    init_drafters(tmp_path, {"eagle": wider})
    assert all(torch.equal(before[k], v) for k, v in wider.state_dict().items())


def test_an_eagle_beside_a_retrained_target_keeps_that_targets_frozen_copies(tmp_path):
    target, eagle = saved_eagle(tmp_path)
    other = Eagle.from_target(target, n_layers=eagle.cfg.n_layers)
    with torch.no_grad():
        other.lm_head.weight.mul_(2.0)
        other.embed.weight.mul_(2.0)
    frozen = (other.lm_head.weight.clone(), other.embed.weight.clone())
    init_drafters(tmp_path, {"eagle": other})
    assert torch.equal(other.lm_head.weight, frozen[0]) and torch.equal(other.embed.weight, frozen[1])
    trained = eagle.state_dict()
    assert all(torch.equal(v, trained[k]) for k, v in other.state_dict().items() if not k.startswith(("lm_head", "embed")))
