/**
 * Tiny documents made in memory for import tests: a PDF with a text layer (one line per entry, a blank
 * entry leaves a paragraph's gap), an EPUB (a ZIP with its container, package and chapters), and
 * HTML. Written by hand here so the tests need no binary fixtures; the importers read them through
 * their libraries (unpdf, @lingo-reader/epub-parser, htmlparser2).
 */
import { strToU8, zipSync } from 'fflate';

/**
 * A PDF of `pages`, each a list of lines in Helvetica 12 pt; '' leaves a blank line, and a line that
 * starts with '# ' is a heading in 18 pt.
 */
export function makePdf(pages: string[][]): Uint8Array {
  const objects: string[] = [];
  const add = (body: string): number => objects.push(body);
  const catalog = add('');
  const pagesObj = add('');
  const font = add('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>');
  const kids: number[] = [];
  for (const lines of pages) {
    const pdfString = (s: string): string => s.replace(/[\\()]/g, (c) => `\\${c}`);
    let y = 760;
    const ops: string[] = ['BT'];
    for (const line of lines) {
      const heading = line.startsWith('# ');
      if (line !== '') ops.push(`/F1 ${heading ? 18 : 12} Tf 1 0 0 1 72 ${y} Tm (${pdfString(heading ? line.slice(2) : line)}) Tj`);
      y -= heading ? 24 : 16;
    }
    ops.push('ET');
    const stream = ops.join('\n');
    const content = add(`<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`);
    kids.push(add(`<< /Type /Page /Parent ${pagesObj} 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 ${font} 0 R >> >> /Contents ${content} 0 R >>`));
  }
  objects[catalog - 1] = `<< /Type /Catalog /Pages ${pagesObj} 0 R >>`;
  objects[pagesObj - 1] = `<< /Type /Pages /Kids [${kids.map((k) => `${k} 0 R`).join(' ')}] /Count ${kids.length} >>`;
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root ${catalog} 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return strToU8(out);
}

/** An EPUB 3 whose spine lists `chapters` in the order given by `spineOrder` (default: as given). */
export function makeEpub(chapters: Array<{ id: string; title: string; body: string }>, spineOrder = chapters.map((c) => c.id)): Uint8Array {
  const files: Record<string, Uint8Array | [Uint8Array, { level: 0 }]> = {
    mimetype: [strToU8('application/epub+zip'), { level: 0 }],
    'META-INF/container.xml': strToU8(
      '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>',
    ),
    'OEBPS/content.opf': strToU8(
      `<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">test</dc:identifier><dc:title>Test</dc:title><dc:language>en</dc:language></metadata><manifest>${chapters
        .map((c) => `<item id="${c.id}" href="${c.id}.xhtml" media-type="application/xhtml+xml"/>`)
        .join('')}</manifest><spine>${spineOrder.map((id) => `<itemref idref="${id}"/>`).join('')}</spine></package>`,
    ),
  };
  for (const c of chapters) {
    files[`OEBPS/${c.id}.xhtml`] = strToU8(
      `<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>${c.title}</title><style>p { color: red }</style></head><body><h1>${c.title}</h1>${c.body}</body></html>`,
    );
  }
  return zipSync(files);
}

/** A short book as plain text; HTML, MARKDOWN, EPUB_CHAPTERS and PDF_PAGES dress the same text. */
export const PLAIN = [
  'Chapter One',
  'The old lighthouse stood at the edge of the cliff. It watched the restless sea.',
  'A second paragraph starts here, and it goes on for a while.',
  'Chapter Two',
  'The keeper lit the lamp at dusk.',
].join('\n\n');

export const HTML = `<!doctype html><html><head><title>Not read</title><style>p { color: red }</style>
<script>document.write("not read either")</script></head>
<body><nav><a href="/">Home</a></nav>
<h1>Chapter One</h1>
<p>The old lighthouse stood at the edge of the cliff.
   It watched the <em>restless</em> sea.</p>
<p>A second paragraph starts here, and it goes on for a&nbsp;while.</p>
<h2>Chapter Two</h2><p>The keeper lit the lamp at dusk.</p><noscript>Enable JavaScript</noscript></body></html>`;

export const MARKDOWN = `# Chapter One

The old lighthouse stood at the edge of the cliff.
It watched the *restless* sea.

A second paragraph starts here, and it goes on for a [while](https://example.com/while).

## Chapter Two

The keeper lit the lamp at **dusk**.
`;

export const EPUB_CHAPTERS = [
  {
    id: 'one',
    title: 'Chapter One',
    body: '<p>The old lighthouse stood at the edge of the cliff. It watched the restless sea.</p><p>A second paragraph starts here, and it goes on for a while.</p><script>x()</script>',
  },
  { id: 'two', title: 'Chapter Two', body: '<p>The keeper lit the lamp at dusk.</p>' },
];

export const PDF_PAGES = [
  [
    '# Chapter One',
    'The old lighthouse stood at the edge of the cliff. It',
    'watched the restless sea.',
    '',
    'A second paragraph starts here, and it goes on for',
    'a while.',
  ],
  ['# Chapter Two', 'The keeper lit the lamp at dusk.'],
];
