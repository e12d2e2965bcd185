"""Deterministic random models for tests and benchmarks, exported through the project's own exporter.

    /usr/bin/python3 native-models/make_fixtures.py                 # tests/fixtures/tiny, tiny-noexit, tiny-int8, tiny-voice
    /usr/bin/python3 native-models/make_fixtures.py --bench tests/fixtures/bench   # realistic size
    /usr/bin/python3 native-models/make_fixtures.py --seed-prophet tests/fixtures/tiny-seed-prophet   # only that one
    /usr/bin/python3 native-models/make_fixtures.py --recycle tests/fixtures/tiny-recycle   # only that one
    /usr/bin/python3 native-models/make_fixtures.py --speaker-24k tests/fixtures/tiny-speaker-24k   # only that one

(native-models/make_fixtures.py runs this module's main; `npm run fixtures` is the first line.)

Random weights are scaled so the target's logits have std ~2 (peaked, not one-hot), and every drafter
is built from the target's own weights plus noise, so drafts are correlated with the target but not
equal to it: acceptance is neither ~0 (useless for engine tests) nor ~1 (hides rejection paths).
"""

import argparse
import json
import math
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from . import REPO_ROOT
from .speaker.neural_export import make_fixture as make_neural_speaker
from .t2s.chain import chain_voice
from .t2s.export import export_model
from .t2s.layer_skip import SkipPlan, add_layer_skip
from .t2s.medusa import MedusaHeads, add_medusa
from .t2s.model import DecoderConfig, DraftModel, Eagle, TargetConfig, TargetModel, shift_features
from .t2s.quantize import quantize_voice
from .t2s.recycle import ExitRecycle, add_exit_head
from .t2s.seed_prophet import SeedProphet
from .t2s.seed_prophet_export import add_seed_prophet, export_seed_prophet

SPECIAL = {"pad": 0, "bos": 1, "sep": 2, "eos": 3}


@dataclass
class FixtureConfig:
    name: str = "tiny-random"  # manifest name
    seed: int = 1234  # one seed for every random draw, so the files are byte-for-byte reproducible
    vocab_size: int = 16  # V, including the 4 special tokens
    context: int = 128  # manifest context
    d_model: int = 32  # target width
    n_heads: int = 2  # target heads
    n_layers: int = 4  # target blocks
    mlp_hidden: int = 64  # SwiGLU width 2 D keeps the committed files small; 0 = the model's 8/3 D default
    exit_layer: int = 2  # early exit after this many blocks
    exit_blocks: int = 1  # blocks owned by the exit head
    draft_d_model: int = 16  # the draft is narrower than the target
    draft_n_heads: int = 2
    draft_n_layers: int = 1
    eagle_n_layers: int = 1
    eagle_d_model: int = 0  # 0 = the target's width; narrower makes kv_dim != hidden_dim in the EAGLE graph
    logit_std: float = 2.0  # target logits are scaled to this std over random contexts
    drafter_noise: float = 0.5  # relative noise added to weights copied from the target into drafters


TINY = FixtureConfig()
# Voice-shaped: specials + the app's phoneme inventory + 32 units, for pipeline tests that must not wait
# for the trained voice (the manifest gains the vocab ranges and a "voice" section after export).
TINY_VOICE_UNITS = 32
FIXTURE_CHAIN_GAMMAS = (2, 3, 4)  # tiny and tiny-int8 carry chains (the others test models without)
FIXTURE_MEDUSA_HEADS = 3  # fewer than the engine's default gamma 4, so the tests meet the heads' limit


def fixture_layer_skip(n_layers: int) -> SkipPlan:
    """Every fixture's layer_skip graph: the first block whole, the second's attention, the last's MLP
    ("Fa-m" for 4 blocks), so whole blocks and both kinds of sublayer are skipped."""
    return SkipPlan.parse("Fa" + "-" * (n_layers - 3) + "m")
# No exit blocks, and an EAGLE drafter narrower than the target (its cache width differs from the features it reads).
TINY_NOEXIT = FixtureConfig(name="tiny-noexit-random", vocab_size=12, exit_blocks=0, eagle_d_model=16)
# Bench: a 1024-unit vocabulary is broad, so its logits get a wider spread to stay peaked (top-1 ~0.3),
# and its drafters less noise (measured acceptance: exit 0.59, eagle 0.38, draft 0.18).
BENCH = FixtureConfig(name="bench-random", vocab_size=1024, context=1024, d_model=256, n_heads=4, n_layers=8,
                      mlp_hidden=0, exit_layer=2, exit_blocks=0, draft_d_model=128, draft_n_heads=2,
                      draft_n_layers=2, logit_std=3.0, drafter_noise=0.2)


def scaled_init(model: torch.nn.Module, n_layers: int, gen: torch.Generator) -> None:
    """Unit-variance init (std 1/sqrt(fan_in), embeddings std 1) so attention and MLPs matter at this
    tiny width; residual output projections shrink by 1/sqrt(2 n_layers) to keep the stream bounded."""
    for name, p in model.named_parameters():
        if p.dim() < 2:
            continue
        std = 1.0 if "embed" in name else 1.0 / math.sqrt(p.shape[1])
        if name.endswith(("wo.weight", "w_down.weight")):
            std /= math.sqrt(2 * n_layers)
        p.data.copy_(torch.randn(p.shape, generator=gen) * std)


def noisy(w: torch.Tensor, noise: float, gen: torch.Generator) -> torch.Tensor:
    return w + noise * w.std() * torch.randn(w.shape, generator=gen)


def build(fc: FixtureConfig) -> tuple[TargetModel, DraftModel, Eagle]:
    gen = torch.Generator().manual_seed(fc.seed)
    torch.manual_seed(fc.seed)  # module constructors draw from the global generator; scaled_init overwrites
    target = TargetModel(TargetConfig(vocab_size=fc.vocab_size, context=fc.context, d_model=fc.d_model,
                                      n_heads=fc.n_heads, n_layers=fc.n_layers, mlp_hidden=fc.mlp_hidden,
                                      exit_layer=fc.exit_layer, exit_blocks=fc.exit_blocks))
    scaled_init(target, fc.n_layers, gen)
    # The exit head's blocks start as noisy copies of the blocks that follow the exit layer.
    for i, block in enumerate(target.exit_blocks):
        source = target.blocks[fc.exit_layer + i]
        for p, q in zip(block.parameters(), source.parameters()):
            p.data.copy_(noisy(q.data, fc.drafter_noise, gen) if p.dim() >= 2 else q.data)
    # Scale the head so logits have the wanted spread over contexts the target could see.
    with torch.no_grad():
        logits = target(torch.randint(0, fc.vocab_size, (8, 64), generator=gen))[0]
        target.lm_head.weight.mul_(fc.logit_std / float(logits.std()))

    draft = DraftModel(DecoderConfig(vocab_size=fc.vocab_size, context=fc.context, d_model=fc.draft_d_model,
                                     n_heads=fc.draft_n_heads, n_layers=fc.draft_n_layers,
                                     mlp_hidden=fc.mlp_hidden // 2))
    scaled_init(draft, fc.draft_n_layers, gen)
    with torch.no_grad():  # the draft sees the first draft_d_model dims of the target's embedding and head
        d = fc.draft_d_model
        draft.embed.weight.copy_(noisy(target.embed.weight[:, :d], fc.drafter_noise, gen))
        draft.lm_head.weight.copy_(noisy(target.lm_head.weight[:, :d], fc.drafter_noise, gen)
                                   * math.sqrt(fc.d_model / d))

    eagle = Eagle.from_target(target, n_layers=fc.eagle_n_layers, d_model=fc.eagle_d_model or None)
    scaled_init(eagle.blocks, fc.eagle_n_layers, gen)
    with torch.no_grad():  # fc starts near "pass the token embedding through", plus a little of the feature
        D, W = fc.d_model, eagle.cfg.d_model
        w = torch.cat([fc.drafter_noise * torch.randn(D, D, generator=gen) / math.sqrt(D), torch.eye(D)], dim=1)
        eagle.fc.weight.copy_(w[:W])
        if eagle.up is not None:  # a narrow eagle writes its width back into the first W feature dims
            eagle.up.weight.copy_(torch.eye(D)[:, :W])
    return target, draft, eagle


def acceptance(target: TargetModel, draft: DraftModel, eagle: Eagle, fc: FixtureConfig) -> dict:
    """Mean sum_x min(p(x), q(x)) over positions of sequences sampled from the target: the expected
    per-token acceptance rate of speculative sampling (Leviathan et al. 2023, section 3.1)."""
    gen = torch.Generator().manual_seed(fc.seed + 1)
    B, T = 16, 48
    ids = torch.full((B, 1), SPECIAL["bos"])
    with torch.no_grad():
        for _ in range(T - 1):
            p = target(ids)[0][:, -1].softmax(-1)
            ids = torch.cat([ids, torch.multinomial(p, 1, generator=gen)], 1)
        logits, exit_logits, feature = target(ids)
        p = logits.softmax(-1)
        drafts = {"exit_head": exit_logits, "draft": draft(ids)[0], "eagle": eagle(ids, shift_features(feature))[0]}
        # EAGLE at position i predicts the target's distribution at i (feature i → head), which
        # is what p[:, i] is, so every drafter compares to p at the same index.
        return {k: round(float(torch.minimum(p, q.softmax(-1)).sum(-1).mean()), 3) for k, q in drafts.items()} | {
            "target_logit_std": round(float(logits.std()), 3),
            "target_top1_prob": round(float(p.max(-1).values.mean()), 3)}


def fixture_medusa(target: TargetModel, fc: FixtureConfig) -> MedusaHeads:
    """Medusa heads from the target's LM head plus noise, with random residual blocks: drafts are
    correlated with the target's guesses but often wrong, so both verification paths run. Drawn from a
    generator of their own, so adding them changes none of the other fixture files."""
    gen = torch.Generator().manual_seed(fc.seed + 2)
    heads = MedusaHeads.from_lm_head(target.lm_head.weight.data, FIXTURE_MEDUSA_HEADS)
    with torch.no_grad():
        heads.w.copy_(torch.randn(heads.w.shape, generator=gen) / math.sqrt(fc.d_model))
        heads.proj.copy_(noisy(heads.proj, fc.drafter_noise, gen))
    return heads


def add_fixture_medusa(target: TargetModel, fc: FixtureConfig, out_dir: Path) -> None:
    add_medusa(out_dir, fixture_medusa(target, fc), {"kind": "random-init", "seed": fc.seed + 2})


def add_fixture_seed_prophet(target: TargetModel, fc: FixtureConfig, out_dir: Path) -> None:
    """The `seed_prophet` graph in a fixture's manifest (float32, as its other drafters)."""
    add_seed_prophet(out_dir, fixture_seed_prophet(target, fc), {"kind": "random-init", "seed": fc.seed + 2}, int8=False)


def phoneme_count() -> int:
    """Size of the app's PHONEME_INVENTORY (electron/core/text/phonemes.ts), asked of the TypeScript side."""
    out = subprocess.run(["node", "--import", "tsx", "-e",
                          "import('./electron/core/text/index.ts').then((m) => console.log(m.PHONEME_INVENTORY.length))"],
                         cwd=REPO_ROOT, check=True, capture_output=True, text=True)
    return int(out.stdout.strip())


def make(fc: FixtureConfig, out_dir: Path, how: str, vocab: dict | None = None, voice: dict | None = None,
         chains: bool = False, seed_prophet: bool = False) -> None:
    target, draft, eagle = build(fc)
    stats = acceptance(target, draft, eagle, fc)
    print(f"{out_dir}: {stats}")
    export_model(target, draft, eagle, out_dir, name=fc.name, vocab=vocab or {"size": fc.vocab_size, "special": SPECIAL},
                 stop_token=SPECIAL["eos"], training={"kind": "random-init", "fixture": asdict(fc),
                                                       "expected_acceptance": stats})
    add_layer_skip(out_dir, fixture_layer_skip(fc.n_layers))
    add_fixture_medusa(target, fc, out_dir)
    if voice:
        manifest_path = out_dir / "manifest.json"
        manifest = json.loads(manifest_path.read_text())
        manifest["voice"] = voice
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    if seed_prophet:  # after every other random draw: it reseeds torch's global generator
        add_fixture_seed_prophet(target, fc, out_dir)
    if chains:
        chain_voice(out_dir, FIXTURE_CHAIN_GAMMAS)
    shown = out_dir.relative_to(REPO_ROOT) if out_dir.is_relative_to(REPO_ROOT) else out_dir
    (out_dir / "README.md").write_text(f"Random model `{fc.name}` (seed {fc.seed}), made by `/usr/bin/python3 {how}`; "
                                       f"parity/ holds ONNX Runtime reference cases: "
                                       f"`node native-models/tools/check_parity.mjs {shown}/parity`.\n")


def make_int8(out_dir: Path, how: str) -> None:
    """The tiny model with its drafters' weights in int8, as the shipped voice has them."""
    make(TINY, out_dir, how)
    quantize_voice(out_dir)
    chain_voice(out_dir, FIXTURE_CHAIN_GAMMAS)  # from the int8 drafters, as the shipped voice's


def fixture_seed_prophet(target: TargetModel, fc: FixtureConfig, d_model: int = 16, n_layers: int = 1) -> SeedProphet:
    """The seed prophet of a fixture's target (t2s/seed_prophet.py). Its embedding and head start as noisy copies
    of the target's first d_model dims (as the draft's), so its drafts are correlated with the target's choices."""
    gen = torch.Generator().manual_seed(fc.seed + 2)
    torch.manual_seed(fc.seed + 2)
    prophet = SeedProphet.for_target(target.cfg, d_model=d_model, n_layers=n_layers, n_heads=max(1, d_model // target.cfg.head_dim))
    scaled_init(prophet, n_layers, gen)
    with torch.no_grad():
        prophet.embed.weight.copy_(noisy(target.embed.weight[:, :d_model], fc.drafter_noise, gen))
        prophet.lm_head.weight.copy_(noisy(target.lm_head.weight[:, :d_model], fc.drafter_noise, gen) * math.sqrt(fc.d_model / d_model))
        prophet.start.weight.copy_(torch.eye(fc.d_model)[:d_model])  # the start token: h_t's first d_model dims
    return prophet


def make_seed_prophet(out_dir: Path, how: str, fc: FixtureConfig = TINY) -> None:
    """The tiny target's seed prophet alone: its graph, its manifest entry and parity cases (tiny's manifest
    names the same graph as its `seed_prophet`)."""
    prophet = fixture_seed_prophet(build(fc)[0], fc)
    export_seed_prophet(prophet, out_dir, training={"kind": "random-init", "fixture": fc.name, "seed": fc.seed + 2})
    shown = out_dir.relative_to(REPO_ROOT) if out_dir.is_relative_to(REPO_ROOT) else out_dir
    (out_dir / "README.md").write_text(f"The seed prophet (random, seed {fc.seed + 2}) of the target in tests/fixtures/tiny, made by "
                                       f"`/usr/bin/python3 {how}`; `seed_prophet.json` is its manifest entry; parity/ holds ONNX "
                                       f"Runtime reference cases: `node native-models/tools/check_parity.mjs {shown}/parity`.\n")


def make_recycle(out_dir: Path, how: str, fc: FixtureConfig = TINY) -> None:
    """The tiny target with an exit head that recycles (t2s/recycle.py), and only the graphs early exit and
    the baseline run (full, trunk, rest, exit_head), the target's fused (t2s/fused.py) beside the exported.
    W is random (its own generator), as large as the exit layer's hidden states, so the recycled feature
    changes the drafts."""
    from .t2s.fused import fuse_voice
    target, draft, eagle = build(fc)
    export_model(target, draft, eagle, out_dir, name=f"{fc.name}-recycle", vocab={"size": fc.vocab_size, "special": SPECIAL},
                 stop_token=SPECIAL["eos"], training={"kind": "random-init", "fixture": asdict(fc)})
    manifest_path = out_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for role in ("draft", "eagle"):
        (out_dir / manifest["graphs"].pop(role)["file"]).unlink()
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    for f in (out_dir / "parity").iterdir():
        f.unlink()
    (out_dir / "parity").rmdir()
    gen = torch.Generator().manual_seed(fc.seed + 3)
    recycle = ExitRecycle(target.cfg)
    with torch.no_grad():
        recycle.proj.weight.copy_(torch.randn(recycle.proj.weight.shape, generator=gen) / math.sqrt(fc.d_model))
    add_exit_head(out_dir, target, recycle, {"kind": "random-init", "seed": fc.seed + 3})
    fuse_voice(str(out_dir))
    (out_dir / "README.md").write_text(f"Random model `{fc.name}` (seed {fc.seed}) with an exit head that recycles (random W, seed "
                                       f"{fc.seed + 3}; spear_voice/t2s/recycle.py) and its target graphs fused beside the exported "
                                       f"ones, made by `/usr/bin/python3 {how}`.\n")


def make_speaker(out_dir: Path, how: str, rate: int = 24000) -> None:
    """A random speaker (spear_voice/speaker/) of tiny-voice's units at `rate` Hz, exported by the speaker's own
    exporter: what the app does with a speaker whose audio is not 16 kHz."""
    import numpy as np
    from .speaker.export import export_speaker
    from .speaker.features import GEOMETRIES, N_MELS
    from .speaker.model import Speaker, SpeakerConfig
    torch.manual_seed(7)
    cfg = SpeakerConfig(n_units=TINY_VOICE_UNITS, n_mels=N_MELS[rate], d_unit=16, unit_dilations=[1, 2], d_frame=8, frame_layers=1)
    model = Speaker(cfg)
    with torch.no_grad():                                                # speech-like levels: log-mel around -4, f0 near 200 Hz
        model.target_mean.copy_(torch.tensor([-4.0] * cfg.n_mels + [math.log(200.0), 0.0]))
        model.target_std.copy_(torch.tensor([1.0] * cfg.n_mels + [0.1, 1.0]))
        model.lookup.weight.normal_(0.0, 0.5)
    out_dir.mkdir(parents=True, exist_ok=True)
    codebook = out_dir / "stand-in-codebook.npz"                         # the unit extractor is not under test
    np.savez(codebook, centroids=np.zeros((TINY_VOICE_UNITS, 1), dtype=np.float32))
    ckpt = {"model": model.state_dict(), "model_config": asdict(cfg), "train_config": {}, "step": 0,
            "features": {**asdict(GEOMETRIES[rate]), "n_mels": cfg.n_mels}}
    export_speaker(ckpt, codebook, out_dir, source=how)
    codebook.unlink()
    (out_dir / "README.md").write_text(f"A random {rate} Hz speaker (seed 7) of tiny-voice's {TINY_VOICE_UNITS} units, "
                                       f"made by `/usr/bin/python3 {how}`.\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", type=Path, help="write only the realistic-size random model to this folder")
    parser.add_argument("--tiny", type=Path, help="write only the tiny model to this folder (the export test)")
    parser.add_argument("--tiny-int8", type=Path, help="write only the tiny model with int8 drafters to this folder")
    parser.add_argument("--seed-prophet", type=Path, help="write only the tiny target's seed prophet to this folder")
    parser.add_argument("--recycle", type=Path, help="write only the tiny target with a recycling exit head to this folder")
    parser.add_argument("--speaker-24k", type=Path, help="write only the random 24 kHz speaker to this folder")
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    if args.tiny:
        make(TINY, args.tiny.resolve(), f"native-models/make_fixtures.py --tiny {args.tiny}", chains=True, seed_prophet=True)
        return
    if args.tiny_int8:
        make_int8(args.tiny_int8.resolve(), f"native-models/make_fixtures.py --tiny-int8 {args.tiny_int8}")
        return
    if args.seed_prophet:
        make_seed_prophet(args.seed_prophet.resolve(), f"native-models/make_fixtures.py --seed-prophet {args.seed_prophet}")
        return
    if args.recycle:
        make_recycle(args.recycle.resolve(), f"native-models/make_fixtures.py --recycle {args.recycle}")
        return
    if args.speaker_24k:
        make_speaker(args.speaker_24k.resolve(), f"native-models/make_fixtures.py --speaker-24k {args.speaker_24k}")
        return
    if args.bench:
        make(BENCH, args.bench.resolve(), f"native-models/make_fixtures.py --bench {args.bench}", chains=True)
        return
    fixtures = REPO_ROOT / "tests" / "fixtures"
    make(TINY, fixtures / "tiny", "native-models/make_fixtures.py", chains=True, seed_prophet=True)
    make(TINY_NOEXIT, fixtures / "tiny-noexit", "native-models/make_fixtures.py")
    make_int8(fixtures / "tiny-int8", "native-models/make_fixtures.py")
    phonemes = phoneme_count()
    size = 4 + phonemes + TINY_VOICE_UNITS
    make(FixtureConfig(name="tiny-voice-random", vocab_size=size), fixtures / "tiny-voice", "native-models/make_fixtures.py",
         vocab={"size": size, "special": SPECIAL, "phonemes": {"offset": 4, "count": phonemes},
                "units": {"offset": 4 + phonemes, "count": TINY_VOICE_UNITS}},
         voice={"max_units": {"per_phoneme": 1.0, "base": 4}, "unit_rate": 25, "default_strategy": "early-exit",
                "default_gamma": 4, "default_temperature": 0})
    make_seed_prophet(fixtures / "tiny-seed-prophet", "native-models/make_fixtures.py")
    make_recycle(fixtures / "tiny-recycle", "native-models/make_fixtures.py")
    make_neural_speaker(fixtures / "tiny-neural-speaker", "native-models/make_fixtures.py")
    make_speaker(fixtures / "tiny-speaker-24k", "native-models/make_fixtures.py")


if __name__ == "__main__":
    main()
