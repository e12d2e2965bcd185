import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeText } from '../../../electron/core/text/normalize.ts';

const OUTPUT_ALPHABET = /^[A-Za-z' ,.?!]*$/;

function cases(table: ReadonlyArray<readonly [string, string]>): void {
  for (const [input, expected] of table) assert.equal(normalizeText(input), expected, `input: ${JSON.stringify(input)}`);
}

test('cardinals, decimals and grouped numbers', () => {
  cases([
    ['I have 3 cats.', 'I have three cats.'],
    ['It was 1,000,000 dollars.', 'It was one million dollars.'],
    ['There are 365 days.', 'There are three hundred sixty five days.'],
    ['Pi is 3.14.', 'Pi is three point one four.'],
    ['0.5 and .5', 'zero point five and zero point five'],
    ['007', 'zero zero seven'],
    ['Room 101', 'Room one hundred one'],
    ['-5 degrees', 'minus five degrees'],
  ]);
});

test('ordinals, years, decades', () => {
  cases([
    ['The 21st century, the 2nd and 3rd.', 'The twenty first century, the second and third.'],
    ['11th 12th 13th 101st', 'eleventh twelfth thirteenth one hundred first'],
    ['In 1999.', 'In nineteen ninety nine.'],
    ['2000 2005 2019 1905 1900', 'two thousand two thousand five twenty nineteen nineteen oh five nineteen hundred'],
    ['the 1990s and the 80s', 'the nineteen nineties and the eighties'],
    ['100s of files', 'hundreds of files'],
  ]);
});

test('percentages, currency, times, ranges, fractions, units, dates', () => {
  cases([
    ['Up 50%.', 'Up fifty percent.'],
    ['3.5%', 'three point five percent'],
    ['$5.20', 'five dollars and twenty cents'],
    ['$1', 'one dollar'],
    ['$0.99', 'ninety nine cents'],
    ['$3.5 million', 'three point five million dollars'],
    ['€10.50 or £20', 'ten euros and fifty cents or twenty pounds'],
    ['10:30', 'ten thirty'],
    ['10:05', 'ten oh five'],
    ['10:00', "ten o'clock"],
    ["It's 9am.", "It's nine A M."],
    ['3-5 days', 'three to five days'],
    ['pages 10\u201320', 'pages ten to twenty'],
    ['I ate 1/2 a pie and 3/4 of a cake.', 'I ate one half a pie and three quarters of a cake.'],
    ['approx. 5 kg', 'approximately five kilograms'],
    ['It is 20\u00B0C.', 'It is twenty degrees Celsius.'],
    ['2020-01-05', 'january fifth, twenty twenty'],
    ['Call 555-1234.', 'Call five five five, one two three four.'],
    ['version 1.2.3', 'version one point two point three'],
  ]);
});

test('abbreviations', () => {
  cases([
    ['Dr. Who', 'doctor Who'],
    ['Mr. and Mrs. Smith', 'mister and missus Smith'],
    ['Ms. Smith', 'miz Smith'],
    ['e.g. this', 'for example this'],
    ['i.e. that', 'that is that'],
    ['apples, pears, etc.', 'apples, pears, et cetera.'],
    ['cats vs. dogs', 'cats versus dogs'],
    ['St. Louis is on Main St.', 'saint Louis is on Main street.'],
    ['No. 5', 'number five'],
    ['Wait 10 sec. See Sec. 3.', 'Wait ten seconds. See section three.'],
    ['Say no.', 'Say no.'],
    ['Set it to ch.', 'Set it to C H.'],
    ['See Ch. 5 and Fig. 2.', 'See chapter five and figure two.'],
    ['J. K. Rowling', 'J K Rowling'],
    ['The U.S. Army', 'The U S Army'],
  ]);
});

test('symbols are read as words', () => {
  cases([
    ['A & B', 'A and B'],
    ['2 + 2 = 4', 'two plus two equals four'],
    ['a/b', 'a slash b'],
    ['20\u00B0', 'twenty degrees'],
    ['#1', 'number one'],
    ['x^2 and x\u00B2', 'x to the power of two and x squared'],
    ['C++ and C#', 'C plus plus and C sharp'],
  ]);
});

test('URLs and e-mail addresses are spelled', () => {
  cases([
    ['Visit https://www.example.com/docs now.', 'Visit W W W dot example dot com slash docs now.'],
    ['Mail john.smith@example.org.', 'Mail john dot smith at example dot org.'],
  ]);
});

test('acronyms: spelled unless the dictionary lists them', () => {
  cases([
    ['the XYZW and HTTPS', 'the X Y Z W and H T T P S'],
    ['NASA', 'NASA'],
    ['mp3', 'M P three'],
    ['LibreOffice and OpenSSL', 'Libre Office and Open S S L'],
    ['McDonald', 'McDonald'],
  ]);
});

test('unicode: quotes, dashes, accents, other scripts, emoji', () => {
  cases([
    ['\u201CHi\u201D \u2014 \u2018there\u2019', 'Hi, there'],
    ['naïve café résumé Straße', 'naive cafe resume Strasse'],
    ['Hello 😀 world 👍🏽!', 'Hello world!'],
    ['Привет мир hello 你好', 'hello'],
    ['αβγ', 'alpha beta gamma'],
    ['ＡＢＣ１２３', 'ABC one hundred twenty three'],
    ['\uFB01ne', 'fine'],
  ]);
});

test('list markers are layout, not speech; an initial is kept', () => {
  cases([
    ['- item one', 'item one'],
    ['3. Install it.', 'Install it.'],
    ['b) choose', 'choose'],
    ['A. Smith wrote it.', 'A Smith wrote it.'],
  ]);
});

test('empty, whitespace-only, punctuation-only and control characters', () => {
  cases([
    ['', ''],
    ['   \n\t  ', ''],
    ['...', ''],
    ['?!', ''],
    ['\u0000\u0007tab\there', 'tab here'],
    ['What... no', 'What, no'],
    ['ok?!', 'ok?'],
  ]);
});

test('every character has a defined outcome: the output stays in the closed alphabet', () => {
  // Every BMP code point (minus lone surrogates) and a sample of astral ones, in chunks.
  const chars: string[] = [];
  for (let cp = 0; cp < 0x10000; cp++) if (cp < 0xd800 || cp > 0xdfff) chars.push(String.fromCodePoint(cp));
  for (let cp = 0x10000; cp < 0x110000; cp += 97) chars.push(String.fromCodePoint(cp));
  for (let i = 0; i < chars.length; i += 512) {
    const chunk = chars.slice(i, i + 512).join(' ');
    const out = normalizeText(chunk);
    assert.match(out, OUTPUT_ALPHABET, `chunk at ${i}`);
  }
});

test('normalisation is idempotent', () => {
  const inputs = [
    'Dr. Smith paid $5.20 for 3 apples at 10:30 on the 3rd of May, 1999.',
    'It rose 45% in 2019-2021, e.g. from 1,234 to 5,678.5 units.',
    'Visit https://www.example.com/docs or mail john.smith@example.org!',
    'The USB and NASA teams use HTTP & FTP; temp was 20\u00B0C approx. 😀 \u201CQuoted\u201D \u2014 dashed.',
    'A B C, and a dog. I? O! U S B.',
  ];
  for (const input of inputs) {
    const once = normalizeText(input);
    assert.equal(normalizeText(once), once, input);
  }
});

test('fuzz: random mixes of digits, symbols, abbreviations and emoji stay in the alphabet and are idempotent', () => {
  const pieces = [...'abcXYZ 0123456789.,;:!?-\u2013\u2014/\\$%&@#+=\u00B0()[]"\'\u2019\u201C\u201D\u2026\u00E9\n\t'];
  pieces.push('😀', 'I', 'A', 'km', 'pm', 'Dr.', 'etc.', 'co', 'mt', 'www.', 'http://', '.com', '1st', '19', 's');
  let seed = 42;
  const random = (): number => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  for (let k = 0; k < 5000; k++) {
    let input = '';
    for (let n = 1 + Math.floor(random() * 12); n > 0; n--) input += pieces[Math.floor(random() * pieces.length)];
    const out = normalizeText(input);
    assert.match(out, OUTPUT_ALPHABET, JSON.stringify(input));
    assert.equal(normalizeText(out), out, JSON.stringify(input));
  }
});

test('a 50,000-character word is cut into pieces, in linear time', () => {
  const word = 'a'.repeat(50_000);
  const out = normalizeText(word);
  const pieces = out.split(' ');
  assert.equal(pieces.length, Math.ceil(50_000 / 64));
  assert.ok(pieces.every((p) => p.length <= 64));
  // A long run of digits and one of mixed symbols also finish and stay in the alphabet.
  assert.match(normalizeText('9'.repeat(50_000)), OUTPUT_ALPHABET);
  assert.match(normalizeText('@x.'.repeat(20_000)), OUTPUT_ALPHABET);
});

test('object-prototype names are ordinary words', () => {
  assert.equal(normalizeText('constructor toString __proto__'), 'constructor to String proto');
});
