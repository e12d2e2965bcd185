"""The trainer's one config: every field a command-line flag (`--lr 3e-4`), every checkpoint a copy of it."""

from dataclasses import dataclass


@dataclass
class TrainConfig:
    # data and output
    pack: str = "native-models/work/pack"  # made by `python3 -m spear_voice.train_t2s pack`
    out: str = "native-models/work/run"  # checkpoints, log.jsonl, eval.json
    stages: str = "target,drafters"  # which stages to run, in order
    resume: bool = False  # continue the run in `out` from its checkpoints (skips finished stages)
    target_from: str = ""  # drafters stage only: start from this trained target.pt (copied into `out`)
    init_from: str = ""  # drafters stage only: start the draft and eagle from this folder's draft.pt / eagle.pt where shapes fit, or grown by added blocks
    target_init: str = ""  # target stage only: start from this trained target.pt (exit head included) instead of random weights: fine-tuning on a new pack
    # target (shipped size: ONNX weights are stored as float16, so the six graphs stay ~30 MB)
    d_model: int = 256  # width; AR decoding of 6 x d256 runs ~400 tokens/s on one CPU core
    n_layers: int = 6  # target blocks
    n_heads: int = 4  # head_dim 64
    mlp_hidden: int = 0  # 0 = 8/3 d_model (Llama)
    exit_layer: int = 2  # early exit reads the residual after this many blocks
    exit_blocks: int = 1  # blocks owned by the exit head (LayerSkip-style head on top)
    exit_weight: float = 0.3  # loss = main + exit_weight * exit (LayerSkip weighs early exits below the main head)
    exit_distill: float = 0.5  # exit loss = (1 - this) * CE(data) + this * KL(main || exit), main detached
    distill_exit: bool = False  # drafters stage: also retrain the exit head (its blocks and norm; trunk and LM head frozen)
    dropout: float = 0.0  # residual dropout on attention/MLP outputs (hooks; not in the model code or export)
    exit_recycle: bool = False  # target stage: recycling (t2s/recycle.py): the exit head also reads Linear(feature of the step start)
    recycle_max_depth: int = 8  # random crops of 1..this many tokens while training with exit_recycle; validation reports depths 1..this
    # seed prophet (t2s/seed_prophet.py): its own decoder on the target's h_t, trained jointly in the target stage
    seed_prophet: bool = False  # train it beside the target (its checkpoint: seed_prophet.pt)
    seed_prophet_weight: float = 0.0  # its CE reaches the target through h_t times this (0: detached h_t, target unaffected)
    seed_prophet_steps: int = 5  # tokens predicted from one h_t: x_{t+1} .. x_{t+steps} (drafts up to steps - 1)
    seed_prophet_share: float = 1.0  # share of start positions it trains on per batch (each costs `steps` tokens of it)
    seed_prophet_d_model: int = 128  # its width
    seed_prophet_n_layers: int = 2  # its blocks
    seed_prophet_n_heads: int = 2  # head_dim 64 at width 128
    # draft
    draft_d_model: int = 192  # narrow: one draft step costs ~1/8 of a target step
    draft_n_layers: int = 2  # blocks of the draft
    draft_n_heads: int = 3  # head_dim 64
    draft_distill: float = 0.7  # draft loss = (1 - this) * CE(data) + this * tau^2 * KL(target || draft)
    distill_temperature: float = 1.0  # tau; 1 matches what acceptance compares (sum min(p, q) of the unsoftened p, q)
    # eagle
    eagle_n_layers: int = 1  # one decoder layer, as in EAGLE (Li et al. 2024)
    eagle_d_model: int = 0  # width of EAGLE's own blocks; 0 = the target's (narrower = cheaper drafting step)
    eagle_n_heads: int = 0  # 0 = width / the target's head_dim
    eagle_ce_weight: float = 0.0  # + this * CE(data next token) per unrolled step (self-distilled data: the target's argmax)
    eagle_unroll: int = 2  # training steps fed EAGLE's own predicted features (drafting does this)
    eagle_step_decay: float = 0.7  # loss weight of unrolled step s is decay^(s-1)
    eagle_reg_weight: float = 1.0  # smooth-L1 onto the target's feature (EAGLE: 1.0)
    eagle_cls_weight: float = 1.0  # KL of its head to the target's (EAGLE: 0.1 CE on unnormalised features; at 0.3
    # EAGLE's val top-1 reached 0.19 where the draft's reached 0.85, same 56 CPU steps)
    feature_noise: float = 0.1  # Gaussian noise on input features, in units of each feature's RMS (EAGLE: U(-0.1, 0.1))
    # optimisation
    batch_tokens: int = 8192  # padded tokens per batch (B x T)
    lr: float = 1e-3  # peak learning rate (AdamW), every stage
    min_lr_ratio: float = 0.1  # cosine decays to lr * this
    warmup: float = 0.03  # share of a stage spent warming up linearly
    weight_decay: float = 0.1  # on matrices only (nanoGPT)
    beta1: float = 0.9  # AdamW
    beta2: float = 0.98  # AdamW; below 0.999 for short runs with a large learning rate
    grad_clip: float = 1.0  # max global gradient norm per trained model
    # budget: the whole run gets budget_s; the target stage target_share of it, the drafters the rest
    max_steps: int = 0  # stop each stage after this many steps (the schedule then follows steps, not the clock); 0: the clock alone
    budget_s: float = 6600.0  # CPU: 1 h 50 min of training and evaluations
    target_share: float = 0.6  # of budget_s (less reserve_s) for the target stage when one run trains both
    reserve_s: float = 0.0  # kept back from budget_s for start-up and the final save
    # runtime
    code_commit: str = ""  # the commit of this code, for a copied tree where git cannot tell (the recipe passes it on)
    device: str = "auto"  # auto: cuda if available, else cpu
    threads: int = 2  # CPU intra-op threads (torch 1.13 on Debian defaults to 1)
    seed: int = 1337  # weights, batch order (per epoch) and noise
    eval_every_s: float = 900.0  # validation every this many seconds, and at the end of each stage
    eval_every_steps: int = 0  # also validate every this many steps (step-budgeted research runs); 0: by the clock alone
    eval_sentences: int = 256  # validation rows used (all of val is ~230)
    ckpt_every_s: float = 300.0  # checkpoint every this many seconds, and at the end of each stage
    save_optimizer: bool = True  # resumable checkpoints (False: weights only, a third of the size)
    ckpt_dtype: str = "float32"  # weights in checkpoints; float16 halves them (exact after export's rounding)
    keep_best: bool = False  # target stage: keep the weights with the best validation main CE (long GPU runs)
    log_every_s: float = 20.0  # progress line when stdout is not a terminal


PRESETS = {
    "cpu": {},
    # A GPU for minutes: the shipped size, many epochs, so regularise and keep the best target.
    "gpu": dict(batch_tokens=32768, lr=2e-3, dropout=0.1, budget_s=420.0, target_share=0.5, eval_every_s=20.0,
                ckpt_every_s=60.0, keep_best=True, log_every_s=10.0, threads=8, eagle_unroll=3),
    # End-to-end check of every code path in a minute.
    "smoke": dict(d_model=64, n_layers=3, n_heads=2, exit_layer=1, draft_d_model=32, draft_n_heads=1,
                  batch_tokens=2048, lr=3e-3, budget_s=60.0, eval_every_s=20.0, ckpt_every_s=15.0, eval_sentences=32),
}


def make_config(preset: str = "cpu", **overrides) -> TrainConfig:
    """A preset's config with some fields changed; an unknown preset or field is refused by name."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r} (one of {', '.join(PRESETS)})")
    return TrainConfig(**{**PRESETS[preset], **overrides})
