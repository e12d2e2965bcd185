"""spear_voice.units.groups: the codebook's centroids in K groups, written into the voice manifest."""
import json

import numpy as np
import pytest

from spear_voice.units.groups import add_groups, unit_groups


def test_groups_cover_every_unit_and_use_every_group():
    rng = np.random.default_rng(0)
    centroids = np.concatenate([rng.normal(c, 0.01, size=(8, 4)) for c in range(6)])  # six tight clusters
    labels = unit_groups(centroids, 6)
    assert labels.shape == (48,) and set(labels) == set(range(6))
    for c in range(6):  # each tight cluster is one group
        assert len(set(labels[c * 8:(c + 1) * 8])) == 1
    with pytest.raises(ValueError):
        unit_groups(centroids, 49)


def test_add_groups_writes_the_manifest_and_checks_the_unit_count(tmp_path):
    (tmp_path / "speaker").mkdir()
    np.savez(tmp_path / "speaker" / "codebook.npz", centroids=np.random.default_rng(1).normal(size=(12, 3)))
    (tmp_path / "manifest.json").write_text(json.dumps({"vocab": {"units": {"offset": 5, "count": 12}}, "voice": {"unit_rate": 25}}))
    add_groups(tmp_path, 4)
    groups = json.loads((tmp_path / "manifest.json").read_text())["voice"]["unit_groups"]
    assert groups["k"] == 4 and len(groups["labels"]) == 12 and max(groups["labels"]) == 3
    (tmp_path / "manifest.json").write_text(json.dumps({"vocab": {"units": {"offset": 5, "count": 13}}}))
    with pytest.raises(ValueError, match="13 units"):
        add_groups(tmp_path, 4)
