/**
 * Numbers as English words: cardinals, ordinals, years, decimals and digit strings.
 * Pure functions over digit strings (not JS numbers), so 25-digit inputs stay exact.
 */

const ONES = [
  'zero',
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
  'ten',
  'eleven',
  'twelve',
  'thirteen',
  'fourteen',
  'fifteen',
  'sixteen',
  'seventeen',
  'eighteen',
  'nineteen',
];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];
// Index i names 1000^i. Beyond the last scale a number is read digit by digit.
const SCALES = ['', 'thousand', 'million', 'billion', 'trillion', 'quadrillion'];

const ORDINAL_WORDS: Record<string, string> = {
  one: 'first',
  two: 'second',
  three: 'third',
  five: 'fifth',
  eight: 'eighth',
  nine: 'ninth',
  twelve: 'twelfth',
};

/** "7" → "seven" … one word per digit, "0" read as "zero". */
export function digitsToWords(digits: string): string {
  return [...digits]
    .filter((c) => c >= '0' && c <= '9')
    .map((c) => ONES[Number(c)])
    .join(' ');
}

function underThousand(n: number): string {
  const words: string[] = [];
  const hundreds = Math.floor(n / 100);
  const rest = n % 100;
  if (hundreds > 0) words.push(ONES[hundreds], 'hundred');
  if (rest >= 20) {
    words.push(TENS[Math.floor(rest / 10)]);
    if (rest % 10 > 0) words.push(ONES[rest % 10]);
  } else if (rest > 0) {
    words.push(ONES[rest]);
  }
  return words.join(' ');
}

/**
 * A non-negative integer given as digits ("1234" → "one thousand two hundred thirty four").
 * Leading zeros ("007") and integers of 19 digits or more are read digit by digit.
 */
export function cardinalToWords(digits: string): string {
  if (!/^\d+$/.test(digits)) return digitsToWords(digits);
  if (digits.length > 1 && digits.startsWith('0')) return digitsToWords(digits);
  if (digits.length > SCALES.length * 3) return digitsToWords(digits);
  if (/^0+$/.test(digits)) return 'zero';
  const groups: number[] = [];
  for (let end = digits.length; end > 0; end -= 3) {
    groups.unshift(Number(digits.slice(Math.max(0, end - 3), end)));
  }
  const words: string[] = [];
  groups.forEach((group, i) => {
    if (group === 0) return;
    const scale = SCALES[groups.length - 1 - i];
    words.push(underThousand(group));
    if (scale) words.push(scale);
  });
  return words.join(' ');
}

/** The ordinal of a cardinal reading: "twenty one" → "twenty first". */
export function ordinalOfWords(cardinal: string): string {
  const words = cardinal.split(' ');
  const last = words[words.length - 1];
  let ordinal: string;
  if (ORDINAL_WORDS[last]) ordinal = ORDINAL_WORDS[last];
  else if (last.endsWith('y')) ordinal = `${last.slice(0, -1)}ieth`;
  else ordinal = `${last}th`;
  words[words.length - 1] = ordinal;
  return words.join(' ');
}

/** "21" → "twenty first". */
export function ordinalToWords(digits: string): string {
  return ordinalOfWords(cardinalToWords(digits.replace(/^0+(?=\d)/, '')));
}

function twoDigits(n: number): string {
  return n < 10 ? `oh ${ONES[n]}` : underThousand(n);
}

/**
 * A four-digit year as it is usually said: 1999 → "nineteen ninety nine", 1905 → "nineteen oh five",
 * 1900 → "nineteen hundred", 2000 → "two thousand", 2005 → "two thousand five", 2019 → "twenty nineteen".
 */
export function yearToWords(digits: string): string {
  const year = Number(digits);
  if (!/^\d{4}$/.test(digits) || digits.startsWith('0')) return cardinalToWords(digits);
  const century = Math.floor(year / 100);
  const rest = year % 100;
  if (year >= 2000 && year < 2010) return cardinalToWords(digits);
  if (rest === 0) return century % 10 === 0 ? cardinalToWords(digits) : `${underThousand(century)} hundred`;
  return `${underThousand(century)} ${twoDigits(rest)}`;
}

/** "3.14" → "three point one four"; the integer part as a cardinal, the fraction digit by digit. */
export function decimalToWords(integerDigits: string, fractionDigits: string): string {
  const whole = integerDigits === '' ? 'zero' : cardinalToWords(integerDigits.replace(/,/g, ''));
  return `${whole} point ${digitsToWords(fractionDigits)}`;
}

/** The plural of a number word used as a noun: "nineties", "sixes", "hundreds". */
export function pluralOfWords(words: string): string {
  const parts = words.split(' ');
  const last = parts[parts.length - 1];
  if (last.endsWith('y')) parts[parts.length - 1] = `${last.slice(0, -1)}ies`;
  else if (last.endsWith('x') || last.endsWith('s')) parts[parts.length - 1] = `${last}es`;
  else parts[parts.length - 1] = `${last}s`;
  return parts.join(' ');
}
