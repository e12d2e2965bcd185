"""Train the reading decoder (phonemes → semantic units) and its three drafters, then export the voice.

    python3 -m spear_voice.train_t2s pack [--fake-units] [--units DIR --n-units K --unit-rate HZ]
    python3 -m spear_voice.train_t2s train --preset cpu [--budget_s 7000] [--out DIR] [--resume]
    python3 -m spear_voice.train_t2s validate --run DIR --pack PACK
    python3 -m spear_voice.train_t2s export --run DIR [--out native-models/voice]

Two stages, each on its own share of one wall-clock budget:

1. target: the decoder-only target (phonemes are the prefix) and its early-exit head, trained jointly:
   main CE + exit_weight * (exit CE mixed with KL to the main head), on the unit + eos positions only.
2. drafters: with the target frozen, one target forward per batch teaches both drafters:
   - draft: a narrow 2-layer decoder, CE on the data mixed with KL to the target (distillation);
   - eagle (EAGLE, Li et al. 2024; t2s/model.py): regression onto the target's features + KL of its head to the
     target, noise on the input features, unrolled `eagle_unroll` steps on its own predicted features
     with the attention pattern the engine's drafting has (unroll.py).

One idea per file: config.py (the config and its presets), pack.py (the training pack), losses.py, unroll.py
(EAGLE as drafting runs it), train.py (the loop), validate.py, checkpoint.py, init_drafters.py
(fine-tuning drafters), self_distill.py (the target's greedy readings as a pack), export_voice.py, cli.py.
Runs on Debian's torch 1.13 on CPU and torch 2.x on CUDA (bf16 autocast there).
"""
