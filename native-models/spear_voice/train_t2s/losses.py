"""The losses, all on the positions whose next token is a unit or eos: the target's (main head plus its early
exit; options: the seed prophet trained jointly, recycling for the exit head) and the drafters' (draft and
eagle, the target frozen, taught by one target forward per batch)."""

import torch
import torch.nn.functional as F

from ..t2s.model import DraftModel, Eagle, TargetModel, default_positions
from ..t2s.recycle import ExitRecycle, crop_sources, recycled_features
from ..t2s.seed_prophet import SeedProphet, seed_prophet_loss
from .config import TrainConfig
from .unroll import eagle_unrolled


def kl(p_logits, q_logits, tau: float = 1.0):  # (N, V), (N, V) → mean KL(p || q) at temperature tau, float32
    logp = F.log_softmax(p_logits.float() / tau, -1)
    logq = F.log_softmax(q_logits.float() / tau, -1)
    return (logp.exp() * (logp - logq)).sum(-1).mean()


def target_losses(target: TargetModel, ids, mask, cfg: TrainConfig, seed_prophet: SeedProphet | None = None,
                  recycle: ExitRecycle | None = None) -> dict:
    """Main CE + exit_weight * the exit head's loss; with a seed prophet, + its CE (reaching the target through
    h_t times seed_prophet_weight); with recycling, the exit head reads the feature of random step starts."""
    positions, past_len = default_positions(ids)
    hidden, _ = target.trunk(ids, positions, past_len)  # (B, T, D) at the exit layer
    logits, feature, _ = target.rest(hidden, positions, past_len)  # (B, T, V), (B, T, D)
    exit_in = hidden
    if recycle is not None:
        src = crop_sources(ids.shape[0], ids.shape[1], cfg.recycle_max_depth)  # (B, T)
        exit_in = recycle(hidden, recycled_features(feature, src))
    exit_logits, _ = target.exit_head(exit_in, positions, past_len)  # (B, T, V)
    y = ids[:, 1:][mask[:, :-1]]  # (N,) next tokens at loss positions
    main = logits[:, :-1][mask[:, :-1]].float()  # (N, V)
    ex = exit_logits[:, :-1][mask[:, :-1]].float()  # (N, V)
    main_ce = F.cross_entropy(main, y)
    exit_ce = F.cross_entropy(ex, y)
    exit_loss = (1 - cfg.exit_distill) * exit_ce + cfg.exit_distill * kl(main.detach(), ex)
    out = {"loss": main_ce + cfg.exit_weight * exit_loss, "main": main_ce, "exit": exit_ce}
    if seed_prophet is not None:
        sp = seed_prophet_loss(seed_prophet, feature, ids, mask, cfg.seed_prophet_steps, cfg.seed_prophet_weight,
                               cfg.seed_prophet_share)
        out["loss"] = out["loss"] + sp["loss"]  # its own weights learn at full strength; the target at the weight
        out["seed_prophet"] = sp["loss"]
    return out


def drafter_losses(target: TargetModel, draft: DraftModel, eagle: Eagle, ids, mask, cfg: TrainConfig,
                   noise: float) -> dict:
    positions, past_len = default_positions(ids)
    with torch.no_grad():
        hidden, _ = target.trunk(ids, positions, past_len)  # (B, T, D) at the exit layer
        t_logits, t_feature, _ = target.rest(hidden, positions, past_len)  # (B, T, V), (B, T, D)
    m = mask[:, :-1]  # (B, T-1)
    y = ids[:, 1:][m]  # (N,)
    p = t_logits[:, :-1][m].float()  # (N, V) the target's distribution at each loss position

    exit_loss, exit_ce = 0.0, None
    if cfg.distill_exit:  # the exit head alone learns; the trunk under it and the shared LM head stay frozen
        ex = target.exit_head(hidden, positions, past_len)[0][:, :-1][m].float()  # (N, V)
        exit_ce = F.cross_entropy(ex, y)
        exit_loss = (1 - cfg.exit_distill) * exit_ce + cfg.exit_distill * kl(p, ex)

    d = draft(ids)[0][:, :-1][m].float()  # (N, V)
    draft_ce = F.cross_entropy(d, y)
    tau = cfg.distill_temperature
    draft_loss = (1 - cfg.draft_distill) * draft_ce + cfg.draft_distill * tau * tau * kl(p, d, tau)

    eagle_loss, eagle_ce = 0.0, None
    t_feature = t_feature.float()
    for s, (logits, feature) in enumerate(eagle_unrolled(eagle, ids, t_feature, cfg.eagle_unroll, noise), 1):
        ms = m.clone()  # the draft began at i - s + 1, which must itself be a loss position
        if s > 1:
            ms[:, s - 1:] &= m[:, :-(s - 1)]
            ms[:, :s - 1] = False
        reg = F.smooth_l1_loss(feature[:, :-1][ms].float(), t_feature[:, :-1][ms])
        q = logits[:, :-1][ms].float()
        cls = kl(t_logits[:, :-1][ms], q)
        ce = F.cross_entropy(q, ids[:, 1:][ms])
        eagle_loss = eagle_loss + cfg.eagle_step_decay ** (s - 1) * (
            cfg.eagle_reg_weight * reg + cfg.eagle_cls_weight * cls + cfg.eagle_ce_weight * ce)
        if s == 1:
            eagle_ce = ce
    return {"loss": draft_loss + eagle_loss + cfg.exit_weight * exit_loss, "draft": draft_ce, "eagle": eagle_ce,
            "exit": exit_ce, "draft_loss": draft_loss, "eagle_loss": eagle_loss}
