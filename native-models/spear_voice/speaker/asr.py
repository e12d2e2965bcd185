"""
Intelligibility by machine: pocketsphinx_continuous (its default US English model) transcribes a
mono WAV (its model is 16 kHz: other rates are resampled with sox first); word error rate against the
sentence text (Levenshtein over normalised words).
"""
import re
import subprocess
import tempfile
import wave
from pathlib import Path


def normalise(text: str) -> list[str]:
    """Lower case, hyphens and slashes split words, everything but letters, digits and apostrophes dropped."""
    text = text.lower().replace('-', ' ').replace('/', ' ')
    return [w.strip("'") for w in re.sub(r"[^a-z0-9' ]", ' ', text).split() if w.strip("'")]


def transcribe(wav_path) -> str:
    with wave.open(str(wav_path), 'rb') as w:
        rate = w.getframerate()
    if rate != 16000:
        with tempfile.TemporaryDirectory() as tmp:
            at16 = Path(tmp) / 'at16k.wav'
            subprocess.run(['sox', str(wav_path), '-r', '16000', str(at16)], check=True)
            return transcribe(at16)
    out = subprocess.run(['pocketsphinx_continuous', '-infile', str(wav_path), '-logfn', '/dev/null'],
                         capture_output=True, text=True, check=True)
    return ' '.join(out.stdout.split())


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def corpus_wer(pairs) -> float:
    """pairs: iterable of (reference text, hypothesis text) -> total edits / total reference words."""
    edits = words = 0
    for ref, hyp in pairs:
        r = normalise(ref)
        edits += edit_distance(r, normalise(hyp))
        words += len(r)
    return edits / max(words, 1)
