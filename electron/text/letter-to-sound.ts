/**
 * Letter-to-sound fallback for words the dictionary lacks: greedy longest-match grapheme rules,
 * then stress on the first vowel. Deterministic and small; it only needs to be plausible, since the
 * corpus keeps sentences made of dictionary words and the fallback sees names and jargon.
 */

// Grapheme → phones. Longest graphemes first is enforced by sorting below, not by the order here.
const RULES: Record<string, string> = {
  tion: 'SH AH N', sion: 'ZH AH N', ough: 'AO', augh: 'AO', eigh: 'EY', igh: 'AY',
  tch: 'CH', dge: 'JH', sch: 'S K', chr: 'K R', qu: 'K W', ck: 'K', ch: 'CH', sh: 'SH', th: 'TH',
  ph: 'F', wh: 'W', gh: 'G', ng: 'NG', kn: 'N', wr: 'R', gn: 'N', ps: 'S',
  ee: 'IY', ea: 'IY', oo: 'UW', ou: 'AW', ow: 'OW', oi: 'OY', oy: 'OY', ai: 'EY', ay: 'EY',
  au: 'AO', aw: 'AO', ei: 'EY', ey: 'IY', ie: 'IY', ue: 'UW', ew: 'UW', oa: 'OW', ar: 'AA R',
  er: 'ER', ir: 'ER', ur: 'ER', or: 'AO R', ll: 'L', ss: 'S', tt: 'T', pp: 'P', ff: 'F', mm: 'M',
  nn: 'N', rr: 'R', bb: 'B', dd: 'D', gg: 'G', zz: 'Z', cc: 'K',
  a: 'AE', b: 'B', c: 'K', d: 'D', e: 'EH', f: 'F', g: 'G', h: 'HH', i: 'IH', j: 'JH', k: 'K',
  l: 'L', m: 'M', n: 'N', o: 'AA', p: 'P', q: 'K', r: 'R', s: 'S', t: 'T', u: 'AH', v: 'V', w: 'W',
  x: 'K S', y: 'IY', z: 'Z',
};
const GRAPHEMES = Object.keys(RULES).sort((a, b) => b.length - a.length);
const VOWEL_PHONES = new Set(['AA', 'AE', 'AH', 'AO', 'AW', 'AY', 'EH', 'ER', 'EY', 'IH', 'IY', 'OW', 'OY', 'UH', 'UW']);

/** An unknown word's ARPAbet phones with stress digits on vowels. Non-letters are ignored. */
export function letterToSound(word: string): string[] {
  let letters = word.toLowerCase().replace(/[^a-z]/g, '');
  // A final silent e after a consonant ("-ate", "-ine") is not pronounced.
  if (letters.length > 3 && /[^aeiou]e$/.test(letters)) letters = letters.slice(0, -1);
  const phones: string[] = [];
  let i = 0;
  while (i < letters.length) {
    const grapheme = GRAPHEMES.find((g) => letters.startsWith(g, i)) ?? letters[i];
    const mapped = RULES[grapheme];
    // "c" and "g" before e, i, y are soft.
    if ((grapheme === 'c' || grapheme === 'g') && /[eiy]/.test(letters[i + 1] ?? '')) {
      phones.push(grapheme === 'c' ? 'S' : 'JH');
    } else if (grapheme === 'y' && i === 0) {
      phones.push('Y');
    } else if (mapped) {
      phones.push(...mapped.split(' '));
    }
    i += grapheme.length;
  }
  let stressed = false;
  return phones.map((p) => {
    if (!VOWEL_PHONES.has(p)) return p;
    const digit = stressed ? '0' : '1';
    stressed = true;
    return `${p}${digit}`;
  });
}
