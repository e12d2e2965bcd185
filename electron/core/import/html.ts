/**
 * HTML → the text a reader would read: the body's text, without script, style or other non-text
 * elements, one paragraph per block element (p, li, headings, table rows, …), so that headings and
 * sections become paragraph pauses. Parsing is htmlparser2's (entities decoded, broken markup
 * tolerated); this file only decides what is a paragraph.
 */
import { Parser } from 'htmlparser2';

/** Elements whose content is never read. */
const SKIPPED = new Set(['script', 'style', 'noscript', 'template', 'head', 'title', 'svg', 'math', 'iframe', 'object', 'canvas', 'select', 'button', 'nav']);
/** Elements that start and end a paragraph. */
const BLOCKS = new Set([
  'p',
  'div',
  'section',
  'article',
  'main',
  'header',
  'footer',
  'aside',
  'blockquote',
  'pre',
  'address',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'hgroup',
  'ul',
  'ol',
  'li',
  'dl',
  'dt',
  'dd',
  'table',
  'thead',
  'tbody',
  'tfoot',
  'tr',
  'caption',
  'figure',
  'figcaption',
  'hr',
  'body',
  'html',
  'details',
  'summary',
  'form',
  'fieldset',
  'legend',
  'center',
]);
/** Elements after which a line ends (within the paragraph). */
const LINE_BREAKS = new Set(['br']);
/** Cells are separated by a comma pause, not run together. */
const CELLS = new Set(['td', 'th']);

/** One paragraph per block, whitespace collapsed, blank lines between paragraphs. */
export function htmlToText(html: string, options: { xml?: boolean } = {}): string {
  const paragraphs: string[] = [];
  let current = '';
  let skipDepth = 0;
  const skipStack: string[] = [];
  const endParagraph = (): void => {
    const text = current
      .replace(/[ \t\r\f\v\u00a0]+/g, ' ')
      .replace(/ *\n */g, '\n')
      .trim();
    if (text !== '') paragraphs.push(text);
    current = '';
  };
  const parser = new Parser(
    {
      onopentag(name) {
        if (skipDepth > 0 || SKIPPED.has(name)) {
          // Void elements never close; only count elements that do.
          skipStack.push(name);
          skipDepth++;
          return;
        }
        if (BLOCKS.has(name)) endParagraph();
        else if (LINE_BREAKS.has(name)) current += '\n';
        else if (CELLS.has(name) && current.trim() !== '') current += ', ';
      },
      ontext(text) {
        if (skipDepth === 0) current += text.replace(/\s+/g, ' ');
      },
      onclosetag(name) {
        if (skipDepth > 0) {
          if (skipStack[skipStack.length - 1] === name) {
            skipStack.pop();
            skipDepth--;
          }
          return;
        }
        if (BLOCKS.has(name)) endParagraph();
      },
    },
    { decodeEntities: true, xmlMode: options.xml ?? false, recognizeSelfClosing: true },
  );
  parser.write(html);
  parser.end();
  endParagraph();
  return paragraphs.join('\n\n');
}
