import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { strToU8, zipSync } from 'fflate';
import { DocumentImportError, documentFormatOf, importDocument } from '../../../electron/core/import/index.ts';
import { htmlToText } from '../../../electron/core/import/html.ts';
import { markdownToText } from '../../../electron/core/import/markdown.ts';
import { prepareDocument } from '../../../electron/core/text/index.ts';
import { EPUB_CHAPTERS, HTML, makeEpub, makePdf, MARKDOWN, PDF_PAGES, PLAIN } from '../../helpers/documents.ts';

test('HTML: the body text, no script, style, head or navigation; one paragraph per block', () => {
  assert.equal(htmlToText(HTML), PLAIN);
  assert.equal(htmlToText('<p>a<br>b</p><ul><li>one</li><li>two</li></ul><table><tr><td>x</td><td>y</td></tr></table>'), 'a\nb\n\none\n\ntwo\n\nx, y');
  assert.equal(htmlToText('<p>Tom &amp; Jerry &lt;3 &eacute;t&eacute;</p>'), 'Tom & Jerry <3 été');
  assert.equal(htmlToText('<div>unclosed <b>bold <p>next'), 'unclosed bold\n\nnext');
});

test('Markdown: headings are paragraphs, emphasis and links are their words', () => {
  assert.equal(markdownToText(MARKDOWN), PLAIN);
});

test('EPUB: chapters in spine order, each chapter heading a paragraph; nothing left on disk', async () => {
  const before = (await readdir(tmpdir())).filter((f) => f.startsWith('spear-epub-')).length;
  const doc = await importDocument(makeEpub(EPUB_CHAPTERS), 'book.epub');
  assert.equal(doc.format, 'epub');
  assert.equal(doc.text, PLAIN);
  assert.equal(doc.title, 'Test');
  const reversed = await importDocument(makeEpub(EPUB_CHAPTERS, ['two', 'one']), 'book.epub');
  assert.ok(reversed.text.startsWith('Chapter Two\n\nThe keeper'), 'the spine decides the order, not the manifest');
  assert.equal((await readdir(tmpdir())).filter((f) => f.startsWith('spear-epub-')).length, before);
});

test('PDF: the text layer, paragraphs from line gaps, lines joined, pages run on', async () => {
  const doc = await importDocument(makePdf(PDF_PAGES), 'book.pdf');
  assert.equal(doc.format, 'pdf');
  assert.equal(doc.text, PLAIN);
  const hyphen = await importDocument(makePdf([['A word split by a hyphen at the exam-', 'ple here, and the page'], ['breaks mid-sentence.']]), 'x.pdf');
  assert.equal(hyphen.text, 'A word split by a hyphen at the example here, and the page breaks mid-sentence.');
});

test('every format gives the same sentences and phonemes as the plain text', async () => {
  const reference = prepareDocument(PLAIN).map((s) => [s.text, s.phonemeIds.join()]);
  const docs = [
    await importDocument(strToU8(HTML), 'page.html'),
    await importDocument(strToU8(MARKDOWN), 'notes.md'),
    await importDocument(makeEpub(EPUB_CHAPTERS), 'book.epub'),
    await importDocument(makePdf(PDF_PAGES), 'book.pdf'),
    await importDocument(strToU8(PLAIN), 'plain.txt'),
  ];
  for (const doc of docs)
    assert.deepEqual(
      prepareDocument(doc.text).map((s) => [s.text, s.phonemeIds.join()]),
      reference,
      doc.format,
    );
});

test('formats by extension, else by signature; a damaged file is one line naming it', async () => {
  assert.equal(documentFormatOf('a.HTM'), 'html');
  assert.equal(documentFormatOf('noext', strToU8('%PDF-1.7 ...')), 'pdf');
  assert.equal(documentFormatOf('noext', makeEpub(EPUB_CHAPTERS)), 'epub');
  assert.equal(documentFormatOf('noext', strToU8('<!DOCTYPE html><p>x')), 'html');
  assert.equal(documentFormatOf('noext', strToU8('just text')), null);
  await assert.rejects(
    importDocument(strToU8('%PDF-1.4 garbage'), 'broken.pdf'),
    (e: Error) => e instanceof DocumentImportError && /^broken\.pdf: cannot be read as a PDF file \(/.test(e.message) && !e.message.includes('\n'),
  );
  await assert.rejects(
    importDocument(strToU8('PK\u0003\u0004 nope'), 'broken.epub'),
    (e: Error) => e instanceof DocumentImportError && /^broken\.epub: cannot be read as an EPUB file \(not a ZIP archive/.test(e.message),
  );
  await assert.rejects(
    importDocument(zipSync({ 'a.txt': strToU8('x') }), 'other.epub'),
    /other\.epub: cannot be read as an EPUB file \(no META-INF\/container\.xml/,
  );
  await assert.rejects(importDocument(new Uint8Array([0x63, 0xe9]), 'latin.md'), /latin\.md: is not valid UTF-8 text/);
});
