"""The tools for a voice with fewer units (native-models/research/), on small arrays: relabel_pack.py keeps the
specials and phonemes and maps every unit to its group; remap_checkpoint.py gives each group its
representative's embedding row and the mean of its members' head rows; coarse_units.py, grouping by what the
target confuses, merges the units the target weighs against each other before units merely near in the
codebook."""

import numpy as np
import torch

from coarse_units import groups
from relabel_pack import relabel
from remap_checkpoint import remap

LABEL = np.array([1, 0, 1, 2])  # units 0..3 → groups; ids 0..2 are specials and phonemes (unit offset 3)


def test_relabelling_keeps_ids_below_the_offset_and_maps_each_unit_to_its_group():
    # unit u (id 3 + u) becomes 3 + label[u]
    assert relabel(np.array([0, 2, 3, 4, 5, 6, 1], dtype=np.int16), LABEL, 3).tolist() == [0, 2, 4, 3, 4, 5, 1]


def test_remapping_takes_representative_embeddings_and_mean_head_rows():
    rows = torch.arange(7, dtype=torch.float32)[:, None] * torch.ones(7, 2)  # row i holds i
    state, names = remap({"embed.weight": rows, "lm_head.weight": rows, "other": torch.ones(5, 2)}, 7, LABEL,
                         np.array([1, 2, 3]), 3)
    assert state["embed.weight"][:, 0].tolist() == [0, 1, 2, 4, 5, 6]  # groups 0, 1, 2 take units 1, 2, 3's rows
    assert state["lm_head.weight"][:, 0].tolist() == [0, 1, 2, 4, 4, 6]  # group 1 = mean of units 0 and 2
    assert sorted(names) == ["embed.weight", "lm_head.weight"]


def test_grouping_by_confusion_pairs_what_the_target_confuses():
    # Four units on a line at 0, 1, 10, 11: centroids pair (0, 1) and (10, 11); the target confuses 0 with 10
    # and 1 with 11, so grouping by confusion pairs those instead.
    centroids = np.array([[0.0], [1.0], [10.0], [11.0]])
    confusion = np.diag([1.0, 1.0, 1.0, 1.0])
    confusion[0, 2] = confusion[2, 0] = confusion[1, 3] = confusion[3, 1] = 0.5
    by_centroid, _ = groups(centroids, 2)
    assert by_centroid[0] == by_centroid[1] and by_centroid[2] == by_centroid[3]
    by_confusion, representatives = groups(centroids, 2, confusion)
    assert by_confusion[0] == by_confusion[2] and by_confusion[1] == by_confusion[3] and by_confusion[0] != by_confusion[1]
    assert all(by_confusion[r] == g for g, r in enumerate(representatives))
