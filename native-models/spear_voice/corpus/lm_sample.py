"""Sample everyday English sentences from pocketsphinx's trigram language model.

    python3 -m spear_voice.corpus.lm_sample --n 20000 --seed 1 --min-words 5 --max-words 20 \\
        --out native-models/work/lm/sentences.txt
    python3 -m spear_voice.corpus.lm_sample --check      # parse sanity checks + 10 samples

Training text may only come from what is already on this machine. pocketsphinx ships a trigram LM
estimated from general English text (/usr/share/pocketsphinx/model/en-us/en-us.lm.bin), so sampling
from it gives locally fluent, everyday-register sentences without downloading anything.

The file is sphinxbase's "Trie Language Model" binary (sphinx_lm_convert), laid out as:
  "Trie Language Model" | order (u8) | order x count (i32) | quantisation type (i32)
  | 16-bit quantisation tables (float32 x 65536): bigram prob, bigram backoff, trigram prob
  | (count1 + 1) unigrams of (log prob f32, log backoff f32, first bigram index i32)
  | bit-packed bigram level, (count2 + 1) entries of word | backoff code | prob code | first trigram index
  | bit-packed trigram level, (count3 + 1) entries of word | prob code
  | i32 byte length, NUL-separated words (word id = position).
Each level ends in 8 bytes of padding. Weights are not log10 but sphinxbase's logmath units
(log base 1.0001): only on that scale do the unigram probabilities sum to 1. The header's bigram
count includes slots the converter never filled (6 here); the unigrams' final next pointer gives
the real number and the unused slots are skipped.

The trie is keyed by the *predicted* word first and then the history going backwards: bigram entry
(word h) under unigram w is "h w", trigram entry (word g) under that is "g h w". Sampling needs the
forward view (context -> next words), so the loader inverts it. Where a trigram's bigram had been
pruned, the converter inserted a filler bigram carrying the backed-off probability bo(h) * p(w),
so treating every stored bigram as explicit still gives the model's exact P(w | h).
"""

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np

from .. import WORK
from ..t2s.data import write_atomic

LM_PATH = Path("/usr/share/pocketsphinx/model/en-us/en-us.lm.bin")
HEADER = b"Trie Language Model"
QUANT_BITS = 16
LOGMATH_TO_LOG10 = np.log10(1.0001)
WORD_RE = re.compile(r"[a-z']+")
PRONOUN_I = {"i", "i'm", "i'll", "i've", "i'd"}


def required_bits(max_value):
    """Bits sphinxbase uses to store values up to max_value (its bitarr_required_bits)."""
    return int(max_value).bit_length()


def read_bits(mem, bit_offsets, nbits):
    """Read nbits-wide little-endian fields at the given bit offsets, all at once.

    An unaligned uint64 view with a one-byte stride lets every field be fetched with one gather;
    fields are at most 25 bits and start within a byte, so they always fit in 64 bits, and each
    level's 8 trailing padding bytes keep the last read inside the buffer.
    """
    words64 = np.ndarray((len(mem) - 7,), dtype="<u8", buffer=mem, strides=(1,))
    offsets = np.asarray(bit_offsets, dtype=np.int64)
    raw = words64[offsets >> 3] >> (offsets & 7).astype(np.uint64)
    return (raw & np.uint64((1 << nbits) - 1)).astype(np.int64)


def level_size(entries, entry_bits):
    """Bytes of one bit-packed level: one extra entry for the final next pointer, plus 8 bytes padding."""
    return ((entries + 1) * entry_bits + 7) // 8 + 8


class TrieLM:
    """A 3-gram trie LM decoded into flat numpy arrays, plus forward indices for sampling.

    Probabilities are kept as linear (not log10) float64 so sampling can sum and cumsum them.
    """

    def __init__(self, path=LM_PATH):
        data = path.read_bytes()
        self.file_size = len(data)
        pos = self._read_header(data)
        pos = self._read_tables(data, pos)
        pos = self._read_unigrams(data, pos)
        pos = self._read_trie(data, pos)
        self.end_pos = self._read_vocab(data, pos)
        self._build_forward()

    def _read_header(self, data):
        if not data.startswith(HEADER):
            raise ValueError(f"not a trie LM: {data[:len(HEADER)]!r}")
        pos = len(HEADER)
        self.order = data[pos]
        if self.order != 3:
            raise ValueError(f"only trigram models are supported, got order {self.order}")
        self.counts = [int(c) for c in np.frombuffer(data, "<i4", self.order, pos + 1)]
        pos += 1 + 4 * self.order
        self.quant_type = int(np.frombuffer(data, "<i4", 1, pos)[0])
        if self.quant_type != 1:
            raise ValueError(f"only 16-bit quantisation (type 1) is supported, got {self.quant_type}")
        return pos + 4

    def _read_tables(self, data, pos):
        """Quantisation tables: the 16-bit codes in the trie index these values (kept as log10)."""
        n = 1 << QUANT_BITS
        tables = np.frombuffer(data, "<f4", 3 * n, pos) * LOGMATH_TO_LOG10
        self.bigram_prob_table, self.bigram_bo_table, self.trigram_prob_table = tables.reshape(3, n)
        return pos + 3 * n * 4

    def _read_unigrams(self, data, pos):
        n = self.counts[0] + 1
        rec = np.frombuffer(data, np.dtype([("p", "<f4"), ("bo", "<f4"), ("next", "<i4")]), n, pos)
        self.uni_logp = rec["p"][:-1] * LOGMATH_TO_LOG10
        self.uni_logbo = rec["bo"][:-1] * LOGMATH_TO_LOG10
        self.uni_next = rec["next"].astype(np.int64)
        return pos + n * 12

    def _read_trie(self, data, pos):
        n1, n2, n3 = self.counts
        word_bits = required_bits(n1)
        next_bits = required_bits(n3)
        bi_bits = word_bits + 2 * QUANT_BITS + next_bits
        tri_bits = word_bits + QUANT_BITS
        bi_size, tri_size = level_size(n2, bi_bits), level_size(n3, tri_bits)
        bi_mem = np.frombuffer(data, np.uint8, bi_size, pos)
        tri_mem = np.frombuffer(data, np.uint8, tri_size, pos + bi_size)

        n2 = int(self.uni_next[-1])
        starts = np.arange(n2 + 1, dtype=np.int64) * bi_bits
        self.bi_word = read_bits(bi_mem, starts[:-1], word_bits)
        self.bi_logbo = self.bigram_bo_table[read_bits(bi_mem, starts[:-1] + word_bits, QUANT_BITS)]
        self.bi_logp = self.bigram_prob_table[read_bits(bi_mem, starts[:-1] + word_bits + QUANT_BITS, QUANT_BITS)]
        self.bi_next = read_bits(bi_mem, starts + word_bits + 2 * QUANT_BITS, next_bits)

        n3 = int(self.bi_next[-1])
        starts = np.arange(n3, dtype=np.int64) * tri_bits
        self.tri_word = read_bits(tri_mem, starts, word_bits)
        self.tri_logp = self.trigram_prob_table[read_bits(tri_mem, starts + word_bits, QUANT_BITS)]

        # Parents: bigram entry i sits under unigram bi_last[i]; trigram k under bigram tri_parent[k].
        self.bi_last = np.repeat(np.arange(n1, dtype=np.int64), np.diff(self.uni_next))
        self.tri_parent = np.repeat(np.arange(n2, dtype=np.int64), np.diff(self.bi_next))
        return pos + bi_size + tri_size

    def _read_vocab(self, data, pos):
        length = int(np.frombuffer(data, "<i4", 1, pos)[0])
        blob = data[pos + 4:pos + 4 + length]
        self.words = blob.decode("latin-1").split("\0")[:-1]
        return pos + 4 + length

    def _build_forward(self):
        """Invert the reversed trie into context -> successors tables, successors sorted by word id.

        Bigram context h: successors w of every bigram "h w". Trigram context (g, h): successors w of
        every trigram "g h w", looked up through the key g * V + h. Bigram "g h" is also indexed by
        that key so its backoff can be checked against the trigram level's leftover mass.
        """
        V = self.counts[0]
        order = np.lexsort((self.bi_last, self.bi_word))
        self.bi_ctx_start = np.searchsorted(self.bi_word[order], np.arange(V + 1))
        self.bi_succ = self.bi_last[order]
        self.bi_succ_p = 10.0 ** self.bi_logp[order]
        self.bi_key_sorted = (self.bi_word * V + self.bi_last)[order]
        self.bi_key_index = order

        g = self.tri_word
        h = self.bi_word[self.tri_parent]
        w = self.bi_last[self.tri_parent]
        order = np.lexsort((w, g * V + h))
        keys = (g * V + h)[order]
        self.tri_ctx_keys, self.tri_ctx_start = np.unique(keys, return_index=True)
        self.tri_ctx_start = np.append(self.tri_ctx_start, len(keys))
        self.tri_succ = w[order]
        self.tri_succ_p = 10.0 ** self.tri_logp[order]

        self.uni_p = 10.0 ** self.uni_logp
        self.uni_cum = np.cumsum(self.uni_p)

    def bigram_successors(self, h):
        s, e = self.bi_ctx_start[h], self.bi_ctx_start[h + 1]
        return self.bi_succ[s:e], self.bi_succ_p[s:e]

    def _find(self, sorted_keys, g, h):
        """Index of the pair key g * V + h in sorted_keys, or None."""
        key = g * self.counts[0] + h
        i = np.searchsorted(sorted_keys, key)
        return i if i < len(sorted_keys) and sorted_keys[i] == key else None

    def trigram_successors(self, g, h):
        i = self._find(self.tri_ctx_keys, g, h)
        if i is None:
            return self.tri_succ[:0], self.tri_succ_p[:0]
        s, e = self.tri_ctx_start[i], self.tri_ctx_start[i + 1]
        return self.tri_succ[s:e], self.tri_succ_p[s:e]

    def bigram_logbo(self, g, h):
        """log10 backoff of context "g h", or None if that bigram is not in the model."""
        i = self._find(self.bi_key_sorted, g, h)
        return None if i is None else self.bi_logbo[self.bi_key_index[i]]


class Sampler:
    """Draws next words from a TrieLM with exact Katz-style backoff.

    At each level the explicit successors S of the context are drawn with their own probabilities;
    the remaining mass 1 - sum(p(S)) goes to the next lower level restricted to words outside S
    (drawn by rejection). In a normalised backoff model that remaining mass divided by the lower
    level's mass outside S *is* the backoff weight, so this reproduces P(w | a b) exactly while
    never having to touch the whole vocabulary. Words that may not appear in a sentence are
    rejected at the top, which conditions the distribution on them not occurring.
    """

    MAX_ROUNDS = 50

    def __init__(self, lm, rng):
        self.lm = lm
        self.rng = rng
        self.bos = lm.words.index("<s>")
        self.eos = lm.words.index("</s>")
        self.allowed = np.array([bool(WORD_RE.fullmatch(w)) for w in lm.words])
        self.allowed[self.eos] = True

    def _draw_unigrams(self, k):
        u = self.rng.random(k) * self.lm.uni_cum[-1]
        return np.minimum(np.searchsorted(self.lm.uni_cum, u, side="right"), len(self.lm.uni_p) - 1)

    def _draw(self, levels, k):
        """k draws from the backoff distribution whose explicit levels are `levels` (highest first)."""
        if not levels:
            return self._draw_unigrams(k)
        succ, p = levels[0]
        mass = min(p.sum(), 1.0)
        u = self.rng.random(k)
        explicit = u < mass
        out = np.empty(k, dtype=np.int64)
        if explicit.any():
            cum = np.cumsum(p)
            out[explicit] = succ[np.minimum(np.searchsorted(cum, u[explicit], side="right"), len(succ) - 1)]
        need = int((~explicit).sum())
        if need:
            out[~explicit] = self._draw_outside(levels[1:], succ, need)
        return out

    def _draw_outside(self, lower, exclude, need):
        """`need` draws from the lower levels, rejecting words in the sorted array `exclude`."""
        got = []
        for _ in range(self.MAX_ROUNDS):
            cand = self._draw(lower, max(4 * need, 16))
            cand = cand[~is_member(cand, exclude)]
            got.append(cand)
            if sum(len(c) for c in got) >= need:
                return np.concatenate(got)[:need]
        raise RuntimeError("backoff rejection did not converge")

    def next_word(self, g, h):
        levels = []
        if g is not None:
            levels.append(self.lm.trigram_successors(g, h))
        levels.append(self.lm.bigram_successors(h))
        for _ in range(self.MAX_ROUNDS):
            cand = self._draw(levels, 8)
            ok = cand[self.allowed[cand]]
            if len(ok):
                return int(ok[0])
        raise RuntimeError("no allowed word drawn")

    def sentence(self, max_words):
        """One sentence as a list of words, or None if it ran past max_words (rejected, not cut)."""
        g, h, out = None, self.bos, []
        while True:
            w = self.next_word(g, h)
            if w == self.eos:
                return out
            out.append(self.lm.words[w])
            if len(out) > max_words:
                return None
            g, h = h, w


def is_member(values, sorted_set):
    """Vectorised membership test against a sorted array."""
    if len(sorted_set) == 0:
        return np.zeros(len(values), dtype=bool)
    i = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[i] == values


def format_sentence(words):
    """Capitalised first letter, the pronoun I in capitals, a final period."""
    words = [w.capitalize() if w in PRONOUN_I else w for w in words]
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def segment_sums(values, starts):
    """Sum of values within each [starts[i], starts[i+1]) segment, empty segments included."""
    cum = np.concatenate([[0.0], np.cumsum(values)])
    return cum[starts[1:]] - cum[starts[:-1]]


def sanity_checks(lm, rng):
    """Print the checks that show the bit layout was decoded right; return True if all pass."""
    n1, n2, n3 = lm.counts
    results = []

    def check(name, ok, detail):
        results.append(ok)
        print(f"  [{'ok' if ok else 'FAIL'}] {name}: {detail}")

    print(f"counts: {lm.counts}, quantisation type {lm.quant_type}")
    check("file fully consumed", lm.end_pos == lm.file_size, f"parsed {lm.end_pos} of {lm.file_size} bytes")
    check("vocabulary size", len(lm.words) == n1, f"{len(lm.words)} words, count1 {n1}")
    specials = [w for w in ("<s>", "</s>", "<unk>", "the", "and") if w in lm.words]
    check("special/common words present", {"<s>", "</s>", "the"} <= set(specials), f"{specials}")
    print(f"  first words: {lm.words[:8]}")
    total = lm.uni_p.sum()
    check("unigram probs sum to 1", bool((lm.uni_logp <= 0).all()) and abs(total - 1) < 0.02,
          f"max log10 p {lm.uni_logp.max():.3f}, sum 10**p = {total:.5f}")
    for name, nxt, count in (("unigram->bigram", lm.uni_next, n2), ("bigram->trigram", lm.bi_next, n3)):
        check(f"{name} pointers", bool((np.diff(nxt) >= 0).all()) and nxt[0] == 0 and 0 <= count - nxt[-1] < 100,
              f"monotone from {nxt[0]} to {nxt[-1]} (header count {count})")
    check("word ids < count1", int(lm.bi_word.max()) < n1 and int(lm.tri_word.max()) < n1,
          f"max bigram word {lm.bi_word.max()}, max trigram word {lm.tri_word.max()}")
    for name, words, parents in (("bigram", lm.bi_word, lm.bi_last), ("trigram", lm.tri_word, lm.tri_parent)):
        same = parents[1:] == parents[:-1]
        bad = int((words[1:][same] <= words[:-1][same]).sum())
        check(f"{name} siblings sorted by word id", bad <= 10,
              f"{bad} out-of-order pairs of {len(words)} (a few converter quirks are tolerated: "
              "the forward index is built by sorting, not from this order)")
    for name, p, starts in (("bigram", lm.bi_succ_p, lm.bi_ctx_start), ("trigram", lm.tri_succ_p, lm.tri_ctx_start)):
        sums = segment_sums(p, starts)
        over = int((sums > 1.001).sum())
        check(f"{name} successor mass <= 1", over == 0,
              f"{len(sums)} contexts, max sum {sums.max():.4f}, median {np.median(sums[sums > 0]):.4f}, {over} over 1.001")
    check_backoffs(lm, rng, check)
    return all(results)


def check_backoffs(lm, rng, check):
    """Stored backoff weights should equal the leftover mass the sampler actually uses.

    For a bigram context h: bo(h) = (1 - sum_S p2) / (1 - sum_S p1). For a trigram context (g h):
    bo(g h) = (1 - sum_S p3) / (1 - sum_S P(w | h)). Agreement shows backoff codes and tables are
    read from the right bits; quantisation keeps it from being exact.
    """
    V = lm.counts[0]
    bi_err, tri_err = [], []
    for h in rng.choice(np.flatnonzero(np.diff(lm.bi_ctx_start) > 0), 300, replace=False):
        succ, p = lm.bigram_successors(h)
        denom = 1 - lm.uni_p[succ].sum()
        if denom > 1e-3 and p.sum() < 0.999:
            bi_err.append(abs(np.log10((1 - p.sum()) / denom) - lm.uni_logbo[h]))
    for i in rng.choice(len(lm.tri_ctx_keys), 300, replace=False):
        g, h = divmod(int(lm.tri_ctx_keys[i]), V)
        succ, p = lm.trigram_successors(g, h)
        b_succ, b_p = lm.bigram_successors(h)
        hit = is_member(succ, b_succ)
        lower = 10 ** lm.uni_logbo[h] * lm.uni_p[succ]
        lower[hit] = b_p[np.searchsorted(b_succ, succ[hit])]
        logbo = lm.bigram_logbo(g, h)
        if logbo is not None and 1 - lower.sum() > 1e-3 and p.sum() < 0.999:
            tri_err.append(abs(np.log10((1 - p.sum()) / (1 - lower.sum())) - logbo))
    for name, err in (("bigram", bi_err), ("trigram", tri_err)):
        err = np.array(err)
        check(f"{name} backoff = leftover mass", np.median(err) < 0.01,
              f"{len(err)} random contexts, |log10 diff| median {np.median(err):.4f}, 95th pct {np.percentile(err, 95):.4f}")


def sample_sentences(sampler, n, min_words, max_words, max_tries):
    """Up to n distinct sentences of min..max words; counts why the others were dropped."""
    seen, kept = set(), []
    stats = {"tries": 0, "too_long": 0, "too_short": 0, "duplicate": 0}
    while len(kept) < n and stats["tries"] < max_tries:
        stats["tries"] += 1
        words = sampler.sentence(max_words)
        if words is None:
            stats["too_long"] += 1
        elif len(words) < min_words:
            stats["too_short"] += 1
        else:
            text = format_sentence(words)
            if text in seen:
                stats["duplicate"] += 1
            else:
                seen.add(text)
                kept.append(text)
    return kept, stats


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lm", type=Path, default=LM_PATH)
    ap.add_argument("--n", type=int, default=20000, help="distinct sentences to write")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--min-words", type=int, default=5)
    ap.add_argument("--max-words", type=int, default=20)
    ap.add_argument("--max-tries", type=int, default=0, help="sentences to sample at most (default 20 * n)")
    ap.add_argument("--out", type=Path, default=WORK / "lm/sentences.txt")
    ap.add_argument("--check", action="store_true", help="print parse sanity checks and 10 samples, write nothing")
    args = ap.parse_args()
    if not 1 <= args.min_words <= args.max_words:
        ap.error("need 1 <= --min-words <= --max-words")

    t0 = time.time()
    lm = TrieLM(args.lm)
    print(f"loaded {args.lm} in {time.time() - t0:.1f}s")
    rng = np.random.default_rng(args.seed)
    sampler = Sampler(lm, rng)

    if args.check:
        ok = sanity_checks(lm, rng)
        print("samples:")
        for text in sample_sentences(sampler, 10, args.min_words, args.max_words, 1000)[0]:
            print("  " + text)
        sys.exit(0 if ok else 1)

    t0 = time.time()
    kept, stats = sample_sentences(sampler, args.n, args.min_words, args.max_words, args.max_tries or 20 * args.n)
    elapsed = time.time() - t0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out, "".join(line + "\n" for line in kept))  # an interrupted run leaves no partial list
    print(f"sampled {stats['tries']} sentences in {elapsed:.1f}s: {stats['too_long']} over {args.max_words} words, "
          f"{stats['too_short']} under {args.min_words}, {stats['duplicate']} duplicates")
    print(f"wrote {len(kept)} sentences to {args.out}")
    if len(kept) < args.n:
        print(f"warning: only {len(kept)} of {args.n} requested (raise --max-tries)", file=sys.stderr)


if __name__ == "__main__":
    main()
