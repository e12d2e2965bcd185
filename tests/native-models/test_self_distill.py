"""Self-distillation data and the narrow eagle, in PyTorch on the tiny random fixture model: the batched,
in-place-cache greedy reader (spear_voice/train_t2s/self_distill.py) writes exactly the tokens that
step-by-step uncached greedy decoding gives, row by row, whatever the batch's prompt lengths and caps; and a
eagle narrower than the target drafts the same through its training-time unrolling as through the cached
API the engine uses."""

import numpy as np
import torch

from spear_voice.fixtures import TINY, TINY_NOEXIT, build
from spear_voice.t2s.model import Eagle
from spear_voice.train_t2s.self_distill import greedy_batch
from spear_voice.train_t2s.unroll import check_eagle_unrolled

EOS = 3


@torch.no_grad()
def uncached_greedy(target, prompt: np.ndarray, cap: int) -> list[int]:
    ids, out = torch.tensor(prompt.astype(np.int64))[None], []
    for _ in range(cap):
        token = int(target(ids)[0][0, -1].argmax())
        if token == EOS:
            break
        out.append(token)
        ids = torch.cat([ids, torch.tensor([[token]])], 1)
    return out


def test_batched_greedy_readings_equal_uncached_greedy_decoding_row_by_row():
    torch.manual_seed(0)
    target, _, _ = build(TINY)
    target.eval()
    gen = torch.Generator().manual_seed(5)
    prompts = [np.asarray([1] + torch.randint(4, 16, (n,), generator=gen).tolist() + [2], dtype=np.int16) for n in (3, 7, 1, 5)]
    caps = [9, 4, 12, 1]
    got = greedy_batch(target, prompts, caps)
    assert got == [uncached_greedy(target, p, cap) for p, cap in zip(prompts, caps)]
    assert any(len(row) > 1 for row in got), "some row decodes several tokens"
    assert all(len(row) <= cap for row, cap in zip(got, caps))


def test_a_narrow_eagle_unrolls_as_it_drafts():
    narrow = Eagle.from_target(build(TINY_NOEXIT)[0], d_model=16)
    assert (narrow.cfg.d_model, narrow.feature_dim) == (16, 32)
    assert check_eagle_unrolled(narrow, 3) <= 1e-4
