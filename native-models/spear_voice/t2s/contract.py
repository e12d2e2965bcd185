"""ONNX tensor names and graph roles of the model contract (docs/model-contract.md).

The TypeScript twin is electron/core/engine/tensor-names.ts; the two must agree name for name and in order.
"""

INPUT_IDS = "input_ids"
HIDDEN_IN = "hidden_in"
POSITIONS = "positions"
PAST_LEN = "past_len"
LOGITS = "logits"
HIDDEN_OUT = "hidden_out"
DRAFTS = "drafts"  # a chain's drafts (t2s/chain.py)
# A sampled chain's own inputs and output (t2s/chain.py): one uniform per draft, the reciprocal of
# the temperature, and each step's logits, from which the engine computes the q it verifies against.
UNIFORMS = "uniforms"
INV_TEMPERATURE = "inv_temperature"
DRAFT_LOGITS = "draft_logits"
# An optional input of `full`, (B, T, T) bool: new token t attends new token t' iff tree_mask[b, t, t']
# (the fused `full` reads it, t2s/fused.py; the engine feeds the causal mask or a draft tree's).
TREE_MASK = "tree_mask"
OPTIONAL_INPUTS = {"full": (TREE_MASK,)}
# An exit head with recycling (t2s/recycle.py, its manifest entry says "recycle": true) also reads, after
# hidden_in, the target's final feature of each position's step start: (B, T, F) float32.
RECYCLE_IN = "recycle_in"

MANIFEST_FORMAT = "spear-t2s/2"
MANIFEST_FILE = "manifest.json"


def past_key(layer: int) -> str:
    return f"past_key_{layer}"


def past_value(layer: int) -> str:
    return f"past_value_{layer}"


def new_key(layer: int) -> str:
    return f"new_key_{layer}"


def new_value(layer: int) -> str:
    return f"new_value_{layer}"


GRAPH_ROLES = ("full", "trunk", "rest", "exit_head", "draft", "eagle", "layer_skip", "medusa", "seed_prophet")

# What each role reads and writes besides its cache (the cache names follow from cache_layers).
ROLE_IO = {
    "full": {"inputs": (INPUT_IDS, POSITIONS, PAST_LEN), "outputs": (LOGITS, HIDDEN_OUT)},
    "trunk": {"inputs": (INPUT_IDS, POSITIONS, PAST_LEN), "outputs": (HIDDEN_OUT,)},
    "rest": {"inputs": (HIDDEN_IN, POSITIONS, PAST_LEN), "outputs": (LOGITS, HIDDEN_OUT)},
    "exit_head": {"inputs": (HIDDEN_IN, POSITIONS, PAST_LEN), "outputs": (LOGITS,)},
    "layer_skip": {"inputs": (INPUT_IDS, POSITIONS, PAST_LEN), "outputs": (LOGITS,)},  # the target's kept layers (t2s/layer_skip.py)
    "draft": {"inputs": (INPUT_IDS, POSITIONS, PAST_LEN), "outputs": (LOGITS,)},
    "eagle": {"inputs": (INPUT_IDS, HIDDEN_IN, POSITIONS, PAST_LEN), "outputs": (LOGITS, HIDDEN_OUT)},
    # No cache and no positions: logits (B, T, heads, V) from the target's hidden state alone (t2s/medusa.py).
    "medusa": {"inputs": (HIDDEN_IN,), "outputs": (LOGITS,)},
    # Its own cache within one step, positions from 0 at the start token (t2s/seed_prophet_export.py).
    "seed_prophet": {"inputs": (INPUT_IDS, HIDDEN_IN, POSITIONS, PAST_LEN), "outputs": (LOGITS,)},
}


def expected_names(role: str, cache_layers: int, recycle: bool = False) -> tuple[list[str], list[str]]:
    """The full, ordered (inputs, outputs) name lists of a graph of this role with this many cache layers
    (`recycle`: an exit head with recycling)."""
    inputs = list(ROLE_IO[role]["inputs"])
    if recycle:
        assert role == "exit_head", f"only the exit head recycles, not {role}"
        inputs.insert(inputs.index(HIDDEN_IN) + 1, RECYCLE_IN)
    outputs = list(ROLE_IO[role]["outputs"])
    for i in range(cache_layers):
        inputs += [past_key(i), past_value(i)]
        outputs += [new_key(i), new_value(i)]
    return inputs, outputs


# The manifest's "chains": a drafter's gamma drafts (greedy, or sampled) in one call, built from its graph (t2s/chain.py).
CHAINED_DRAFTERS = ("eagle", "draft", "seed_prophet")


def chain_names(drafter: str, cache_layers: int, sampled: bool = False) -> tuple[list[str], list[str]]:
    """A chain reads what its drafter's graph reads and writes its drafts, each step's logits (the
    engine's q when sampling, and the drafter's confidence for adaptive gamma) and the catch-up's cache;
    a sampled chain also reads one uniform per draft and the temperature's reciprocal."""
    inputs, outputs = expected_names(drafter, cache_layers)
    cache = [o for o in outputs if o not in (LOGITS, HIDDEN_OUT)]
    if sampled:
        return inputs + [UNIFORMS, INV_TEMPERATURE], [DRAFTS, DRAFT_LOGITS] + cache
    return inputs, [DRAFTS, DRAFT_LOGITS] + cache
