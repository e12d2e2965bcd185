import { test } from 'node:test';
import assert from 'node:assert/strict';
import { droppedCharacters, guessLanguage, otherScripts, textWarnings } from '../../../electron/core/text/language.ts';

const SAMPLES: Record<string, string> = {
  German: 'Der alte Leuchtturm stand am Rand der Klippe. Er beobachtete das unruhige Meer, und die Möwen flogen über ihm.',
  French: 'Le vieux phare se dressait au bord de la falaise. Il regardait la mer agitée, et les mouettes volaient au-dessus.',
  Spanish: 'El viejo faro estaba al borde del acantilado. Miraba el mar inquieto y las gaviotas volaban por encima.',
  Italian: 'Il vecchio faro stava sul bordo della scogliera. Guardava il mare agitato e i gabbiani volavano.',
  Dutch: 'De oude vuurtoren stond aan de rand van de klif. Hij keek naar de onrustige zee en de meeuwen.',
  Portuguese: 'O velho farol ficava na beira do penhasco. Ele olhava o mar agitado e as gaivotas voavam.',
};

test('each sample is named as its language', () => {
  for (const [language, text] of Object.entries(SAMPLES)) assert.equal(guessLanguage(text)?.language, language, text);
});

test('English, also with foreign names and loan words, is not flagged', () => {
  for (const text of [
    'The old lighthouse stood at the edge of the cliff. It watched the restless sea!',
    'We had a café au lait at the Café de la Paix, and déjà vu struck as Le Monde reported the news.',
    'Der Spiegel and Die Zeit are German papers; the article was in both of them.',
    'Hello.',
  ]) {
    assert.equal(guessLanguage(text), null, text);
  }
});

test('letters of another script are counted by script; a few Greek letters (read by name) are too', () => {
  assert.deepEqual(otherScripts('Привет, как дела? This is English.'), [{ script: 'Cyrillic', letters: 13 }]);
  assert.deepEqual(otherScripts('plain ASCII'), []);
  assert.deepEqual(otherScripts('日本語のテキスト'), [
    { script: 'Japanese kana', letters: 5 },
    { script: 'Chinese (Han)', letters: 3 },
  ]);
});

test('dropped characters: emoji and symbols are listed with counts; accents, dashes, quotes and Greek are not', () => {
  assert.deepEqual(droppedCharacters('I love pizza 🍕🍕 and ☃ snowmen.'), [
    { char: '🍕', count: 2 },
    { char: '☃', count: 1 },
  ]);
  assert.deepEqual(droppedCharacters('Café — “naïve” façade, α + β, 5 €, 10 °C…'), []);
});

test('textWarnings: one line each, the language first; dropped letters of a named script are not listed again', () => {
  const warnings = textWarnings('Привет мир! Der Hund und die Katze sind nicht hier, aber ich bin da. ☃');
  assert.equal(warnings.length, 3);
  assert.match(warnings[0], /^the text looks German; the voice reads English/);
  assert.match(warnings[1], /^the text has 9 letters in Cyrillic script; the voice reads English and skips them$/);
  assert.match(warnings[2], /^1 character the voice cannot say will be skipped: ☃ \(U\+2603\)$/);
  assert.deepEqual(textWarnings('The old lighthouse stood at the edge of the cliff.'), []);
  for (const w of warnings) assert.ok(!w.includes('\n'));
});

test('a long list of dropped kinds is cut after eight', () => {
  const symbols = '☀☁☂☃☄★☆☇☈☉';
  const [w] = textWarnings(`The symbols ${symbols} are here.`);
  assert.match(w, /^10 characters the voice cannot say will be skipped: .*, and 2 more kinds$/);
});
