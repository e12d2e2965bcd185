"""The offline greedy replay (native-models/research/analyze_drafting.py) walks a sequence as the engine does
(tokens, target calls, drafted); leaves, branches and the hesitation breakdown count as documented."""

import numpy as np
import torch

from analyze_drafting import hesitation, leaves_at_least_sure, leaves_below, replay, replay_branch, replay_leaves

T, STEPS = 6, 4  # 5 tokens to generate (positions 1..5), drafting depths 1..4
ALL_RIGHT = [True] * STEPS
NEVER = [False] * STEPS


def by_depth(values, dtype):
    return torch.tensor(values, dtype=dtype)[:, None].expand(STEPS, T).clone()


def row(match, conf=None, second=None):
    """One sequence: whether EAGLE's draft matches at each depth, its confidence, and whether its
    second choice would have."""
    c = torch.ones(STEPS, T) if conf is None else conf
    s = by_depth(second if second is not None else NEVER, torch.bool)
    return (0, T, {"eagle": (by_depth(match, torch.bool), c), "eagle_second": (s, c)})


def sure(p):
    return torch.full((STEPS, T), p)


UNSURE_FIRST = by_depth([0.1, 0.9, 0.9, 0.9], torch.float32)


def test_chains_count_tokens_target_calls_and_drafts():
    # Always right, gamma 2: 3 tokens per call, then the last 2.
    assert list(replay([row(ALL_RIGHT)], "eagle", 2)) == [5, 2, 4]
    # Never right: one token per target call, gamma drafted each time.
    assert list(replay([row(NEVER)], "eagle", 3)) == [5, 5, 15]
    # Only each draft's first token right: 2 tokens per call (3 calls: 2 + 2 + 1).
    assert list(replay([row([True, False, False, False])], "eagle", 3)) == [5, 3, 9]
    # Drafting stops after the first draft whose confidence is below theta; it is still verified.
    assert list(replay([row(ALL_RIGHT, sure(0.1))], "eagle", 3, 0.5)) == [5, 3, 3]


def test_leaves_count_tokens_calls_and_verified_positions():
    # The chain breaks at depth 1 every time and the second choice there is right: the leaf and the target's
    # token after it, 2 per call (2 + 2 + 1); every unsure depth carries a leaf (3 drafts + 3 leaves per call).
    assert list(replay_leaves([row(NEVER, sure(0.1), ALL_RIGHT)], 3, leaves_below(0.5))) == [5, 3, 18]
    # A sure eagle gets no leaves: one token per call, as the plain chain.
    assert list(replay_leaves([row(NEVER, sure(0.9), ALL_RIGHT)], 3, leaves_below(0.5))) == [5, 5, 15]
    # Leaves verified but wrong: nothing gained, their positions still paid.
    assert list(replay_leaves([row(NEVER, sure(0.1), NEVER)], 3, leaves_below(0.5))) == [5, 5, 30]
    # A budget of one leaf goes to the least sure depth: there (depth 1) it rescues each call; at depth 3,
    # where the chain never gets, it gains nothing.
    assert list(replay_leaves([row(NEVER, UNSURE_FIRST, ALL_RIGHT)], 3, leaves_at_least_sure(1))) == [5, 3, 12]
    elsewhere = by_depth([0.9, 0.9, 0.1, 0.9], torch.float32)
    assert list(replay_leaves([row(NEVER, elsewhere, ALL_RIGHT)], 3, leaves_at_least_sure(1))) == [5, 5, 20]


def test_a_branch_from_the_least_sure_depth_counts_its_drafts():
    # (tokens, calls, verified, drafted): the least sure depth (1) branches; the chain breaks there, the second
    # choice is right and the branch's deeper drafts are right too: 4 tokens, then the last 1. Each call
    # verifies 3 + 3 positions and drafts 3 + 2 more, plus 2 for the extra call.
    assert list(replay_branch([row([False, True, True, True], UNSURE_FIRST, ALL_RIGHT)], 3, 0.5)) == [5, 2, 12, 14]
    assert list(replay_branch([row([False, True, True, True], sure(0.9), ALL_RIGHT)], 3, 0.5)) == [5, 5, 15, 15]


def test_hesitation_separates_repeats_from_codebook_neighbours():
    # Units 0..3 on a line at 0, 1, 2 and 10 (unit ids from 2); steps 0 and 2 are unsure (p < 0.5). Step 0 chose
    # between units 0 and 1 (neighbours); step 2 between units 2 and 1 (neighbours), one of them the unit just
    # fed (a repeat).
    ids = torch.tensor([1, 2, 3, 4])
    top2 = torch.tensor([[2, 3], [3, 4], [4, 3]])
    data = [(0, 4, {"target": (torch.ones(1, 4, dtype=torch.bool), torch.tensor([[0.3, 0.9, 0.4, 1.0]])),
                    "target_top2": (ids, top2)})]
    out = hesitation(data, np.array([[0.0], [1.0], [2.0], [10.0]]), 2)
    assert out["hesitant_steps"] == 2
    assert out["share_top2_has_repeat"] == 0.5
    assert out["second_among_nearest"][1] == 1
    assert out["median_rank"] == 1
