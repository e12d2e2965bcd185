/**
 * Numbers in running text → words: currency, dates, times, percentages, degrees, ordinals, decades,
 * units, versions, ranges, fractions, signs, then whatever digits are left. Rules run in that order
 * because later ones would misread what earlier ones consume ("2020-01-05" is a date, not a range).
 * A pass of normalize.ts; the digit-string → words functions live in numbers.ts.
 */

import { cardinalToWords, decimalToWords, digitsToWords, ordinalToWords, pluralOfWords, yearToWords } from './numbers.ts';

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

const CURRENCIES: Record<string, { one: string; many: string; cent: string; cents: string }> = {
  $: { one: 'dollar', many: 'dollars', cent: 'cent', cents: 'cents' },
  '£': { one: 'pound', many: 'pounds', cent: 'penny', cents: 'pence' },
  '€': { one: 'euro', many: 'euros', cent: 'cent', cents: 'cents' },
  '¥': { one: 'yen', many: 'yen', cent: 'sen', cents: 'sen' },
  '₹': { one: 'rupee', many: 'rupees', cent: 'paisa', cents: 'paise' },
};

const SCALE_WORDS: Record<string, string> = {
  thousand: 'thousand',
  k: 'thousand',
  million: 'million',
  m: 'million',
  mn: 'million',
  billion: 'billion',
  bn: 'billion',
  b: 'billion',
  trillion: 'trillion',
  tn: 'trillion',
};

const UNITS: Record<string, [string, string]> = {
  km: ['kilometer', 'kilometers'],
  m: ['meter', 'meters'],
  cm: ['centimeter', 'centimeters'],
  mm: ['millimeter', 'millimeters'],
  kg: ['kilogram', 'kilograms'],
  g: ['gram', 'grams'],
  mg: ['milligram', 'milligrams'],
  lb: ['pound', 'pounds'],
  lbs: ['pounds', 'pounds'],
  oz: ['ounce', 'ounces'],
  ft: ['foot', 'feet'],
  mi: ['mile', 'miles'],
  mph: ['miles per hour', 'miles per hour'],
  kph: ['kilometers per hour', 'kilometers per hour'],
  'km/h': ['kilometers per hour', 'kilometers per hour'],
  ms: ['millisecond', 'milliseconds'],
  s: ['second', 'seconds'],
  h: ['hour', 'hours'],
  hz: ['hertz', 'hertz'],
  khz: ['kilohertz', 'kilohertz'],
  mhz: ['megahertz', 'megahertz'],
  ghz: ['gigahertz', 'gigahertz'],
  kb: ['kilobyte', 'kilobytes'],
  mb: ['megabyte', 'megabytes'],
  gb: ['gigabyte', 'gigabytes'],
  tb: ['terabyte', 'terabytes'],
  kib: ['kibibyte', 'kibibytes'],
  mib: ['mebibyte', 'mebibytes'],
  gib: ['gibibyte', 'gibibytes'],
  ml: ['milliliter', 'milliliters'],
  l: ['liter', 'liters'],
  v: ['volt', 'volts'],
  w: ['watt', 'watts'],
  kw: ['kilowatt', 'kilowatts'],
};

/** An integer or decimal as written ("1,234", "3.5", ".5") → words; the whole part with commas allowed. */
function numberToWords(written: string): string {
  const [whole, fraction] = written.split('.');
  const digits = whole.replace(/,/g, '');
  if (fraction !== undefined && fraction !== '') return decimalToWords(digits, fraction);
  return cardinalToWords(digits === '' ? '0' : digits);
}

function isOne(written: string): boolean {
  return /^0*1(?:\.0*)?$/.test(written.replace(/,/g, ''));
}

function readMoney(symbol: string, amount: string, scale: string | undefined): string {
  const currency = CURRENCIES[symbol];
  if (scale) return `${numberToWords(amount)} ${SCALE_WORDS[scale.toLowerCase()]} ${currency.many}`;
  const [whole, fraction = ''] = amount.split('.');
  const wholeDigits = whole.replace(/,/g, '') || '0';
  const cents = fraction.length === 2 ? Number(fraction) : fraction === '' ? 0 : -1;
  if (cents < 0) return `${numberToWords(amount)} ${currency.many}`;
  const wholeWords = `${cardinalToWords(wholeDigits)} ${Number(wholeDigits) === 1 ? currency.one : currency.many}`;
  if (cents === 0) return wholeWords;
  const centWords = `${cardinalToWords(String(cents))} ${cents === 1 ? currency.cent : currency.cents}`;
  return Number(wholeDigits) === 0 ? centWords : `${wholeWords} and ${centWords}`;
}

function readTime(hours: string, minutes: string, seconds: string | undefined, meridiem: string | undefined): string {
  const h = cardinalToWords(String(Number(hours)));
  const m = Number(minutes);
  let words = m === 0 ? (meridiem ? h : `${h} o'clock`) : `${h} ${m < 10 ? `oh ${cardinalToWords(String(m))}` : cardinalToWords(String(m))}`;
  if (seconds !== undefined) words += ` and ${cardinalToWords(String(Number(seconds)))} seconds`;
  if (meridiem) words += ` ${meridiem.replace(/\./g, '').toUpperCase().split('').join(' ')}`;
  return words;
}

function readFraction(numerator: string, denominator: string): string {
  const top = cardinalToWords(numerator);
  const plural = numerator !== '1';
  if (denominator === '2') return `${top} ${plural ? 'halves' : 'half'}`;
  if (denominator === '4') return `${top} ${plural ? 'quarters' : 'quarter'}`;
  if (Number(denominator) > 1 && Number(denominator) <= 20 && !denominator.startsWith('0')) {
    const ordinal = ordinalToWords(denominator);
    return `${top} ${plural ? `${ordinal}s` : ordinal}`;
  }
  return `${top} over ${cardinalToWords(denominator)}`;
}

/** A bare integer: four digits from 1100 to 2099 read as a year, anything else as a cardinal. */
function readInteger(digits: string): string {
  if (/^(?:1[1-9]\d\d|20\d\d)$/.test(digits)) return yearToWords(digits);
  return cardinalToWords(digits);
}

const NUM = String.raw`\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+`;

/** Every digit in the text → words (see the file comment for the order of the rules). */
export const readNumbers = (text: string): string =>
  text
    // Currency, optionally with a scale: "$5.20", "€3 million", "$1.5bn".
    .replace(
      new RegExp(String.raw`([$£€¥₹])\s?(${NUM})(?:\s?(thousand|million|billion|trillion|mn|bn|tn|[kKmMbB])\b)?`, 'g'),
      (_m, symbol: string, amount: string, scale: string | undefined) => ` ${readMoney(symbol, amount, scale)} `,
    )
    // ISO dates and US dates.
    .replace(/\b(\d{4})-(\d{2})-(\d{2})\b/g, (m, y: string, mo: string, d: string) =>
      Number(mo) >= 1 && Number(mo) <= 12 && Number(d) >= 1 && Number(d) <= 31 ? `${MONTHS[Number(mo) - 1]} ${ordinalToWords(d)}, ${yearToWords(y)}` : m,
    )
    .replace(/\b(\d{1,2})\/(\d{1,2})\/(\d{4}|\d{2})\b/g, (m, mo: string, d: string, y: string) =>
      Number(mo) >= 1 && Number(mo) <= 12 && Number(d) >= 1 && Number(d) <= 31
        ? `${MONTHS[Number(mo) - 1]} ${ordinalToWords(d)}, ${y.length === 4 ? yearToWords(y) : cardinalToWords(y)}`
        : m,
    )
    // A minus sign before a number: "-5", "(-3.5".
    .replace(/(^|[\s(=])-(?=\.?\d)/g, '$1 minus ')
    // Phone numbers "555-1234", "800-555-1234": digit by digit in their groups.
    .replace(/(?<![\d-])(?:\d{3}-)?\d{3}-\d{4}(?![\d-])/g, (m) => ` ${m.split('-').map(digitsToWords).join(', ')} `)
    // Times: "10:30", "7:05 pm", "12:00:30".
    .replace(
      /\b(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s?([ap]\.m\.|[ap]m)(?![a-z]))?/gi,
      (m, h: string, mi: string, sec: string | undefined, mer: string | undefined) =>
        Number(h) <= 24 && Number(mi) < 60 ? ` ${readTime(h, mi, sec, mer)} ` : m,
    )
    .replace(
      /\b(\d{1,2})\s?([ap]\.m\.|[ap]m)(?![a-z])/gi,
      (_m, h: string, mer: string) => ` ${cardinalToWords(String(Number(h)))} ${mer.replace(/\./g, '').toUpperCase().split('').join(' ')} `,
    )
    // Percentages and degrees.
    .replace(new RegExp(String.raw`(${NUM})\s?%`, 'g'), (_m, n: string) => ` ${numberToWords(n)} percent `)
    .replace(
      new RegExp(String.raw`(${NUM})\s?°\s?([CFK])\b`, 'g'),
      (_m, n: string, scale: string) => ` ${numberToWords(n)} ${isOne(n) ? 'degree' : 'degrees'} ${{ C: 'Celsius', F: 'Fahrenheit', K: 'Kelvin' }[scale]} `,
    )
    .replace(new RegExp(String.raw`(${NUM})\s?°`, 'g'), (_m, n: string) => ` ${numberToWords(n)} ${isOne(n) ? 'degree' : 'degrees'} `)
    .replace(/°/g, ' degrees ')
    // Ordinals "1st", "22nd"; decades "1990s", "'90s", "80s".
    .replace(/\b(\d+)(?:st|nd|rd|th)\b/gi, (_m, n: string) => ` ${ordinalToWords(n)} `)
    .replace(/(?<!\d)(?:(1[1-9]|20)(\d0)|'?([1-9]0))'?s\b/g, (_m, century: string | undefined, decade: string | undefined, short: string | undefined) =>
      century !== undefined && decade !== undefined ? ` ${pluralOfWords(yearToWords(century + decade))} ` : ` ${pluralOfWords(cardinalToWords(short ?? ''))} `,
    )
    // Plural numbers: "100s of files" → "hundreds of files".
    .replace(
      /\b(\d+)'?s\b/g,
      (_m, n: string) => ` ${/^10*$/.test(n) && n.length >= 3 ? pluralOfWords(cardinalToWords(n).replace(/^one /, '')) : pluralOfWords(readInteger(n))} `,
    )
    // Numbers with a unit written against them or after one space: "5km", "3 GB".
    .replace(
      new RegExp(String.raw`(${NUM})\s?(km/h|[kKmMgG]i?[bB]|[kKmMgG]?[hH]z|km|cm|mm|kg|mg|ml|lbs?|oz|ft|mph|kph|ms|kw|kW|[mg])(?![A-Za-z\d])`, 'g'),
      (_m, n: string, unit: string) => {
        const names = UNITS[unit.toLowerCase()];
        return names ? ` ${numberToWords(n)} ${isOne(n) ? names[0] : names[1]} ` : ` ${numberToWords(n)} ${unit} `;
      },
    )
    // Version-like runs "1.2.3" → "one point two point three".
    .replace(
      /(?<![\d.])\d+(?:\.\d+){2,}(?!\.?\d)/g,
      (m) =>
        ` ${m
          .split('.')
          .map((p) => cardinalToWords(p))
          .join(' point ')} `,
    )
    // Ranges "3-5", "1990-1995" (after dates, so "2020-01-05" is already a date).
    .replace(/(^|[^\d.,-])(\d+)\s?-\s?(\d+)(?![\d-]|[.,]\d)/g, (_m, pre: string, a: string, b: string) => `${pre} ${readInteger(a)} to ${readInteger(b)} `)
    // Fractions "3/4".
    .replace(/\b24\/7\b/g, ' twenty four seven ')
    .replace(/\b(\d+)\/(\d+)\b/g, (_m, a: string, b: string) => ` ${readFraction(a, b)} `)
    // "#1" → "number one"; "~5" → "about five"; "x^2" → "x to the power of two".
    .replace(/#\s?(?=\d)/g, ' number ')
    .replace(/~\s?(?=\d)/g, ' about ')
    .replace(/\^/g, ' to the power of ')
    // Letters against digits: "mp3" → "mp 3", "3D" → "3 D".
    .replace(/([A-Za-z])(?=\d)/g, '$1 ')
    .replace(/(\d)(?=[A-Za-z])/g, '$1 ')
    // What is left: decimals, grouped integers, plain integers (years in 1100–2099).
    .replace(new RegExp(NUM, 'g'), (n) => {
      const words = n.includes('.') || n.includes(',') ? numberToWords(n) : readInteger(n);
      return ` ${words} `;
    });
