/**
 * Prose paragraphs out of a man page's roff source (man macros only; mdoc pages are skipped by the
 * caller). Only running text survives: no-fill blocks (.nf/.EX — code, examples), tags of .TP/.IP
 * items (option names) and the SYNOPSIS/FILES/… sections are dropped.
 */

const SKIPPED_SECTIONS = new Set([
  'NAME',
  'SYNOPSIS',
  'SEE ALSO',
  'AUTHOR',
  'AUTHORS',
  'COPYRIGHT',
  'FILES',
  'EXAMPLES',
  'EXAMPLE',
  'ENVIRONMENT',
  'EXIT STATUS',
  'RETURN VALUE',
  'REPORTING BUGS',
  'VERSION',
  'COLOPHON',
  'LICENSE',
  'SYNTAX',
  'USAGE',
]);

const SPECIAL_CHARS: Record<string, string> = {
  em: ' -- ',
  en: '-',
  lq: '"',
  rq: '"',
  oq: "'",
  cq: "'",
  aq: "'",
  dq: '"',
  bu: '',
  co: '(c)',
  hy: '-',
  mi: '-',
  ti: '~',
  ha: '^',
  rs: '\\',
  Fo: '"',
  Fc: '"',
  bq: '"',
  lh: '',
  rh: '',
};

/** Inline roff escapes → plain text. */
export function stripEscapes(line: string): string {
  return line
    .replace(/\\\\/g, '\u0000')
    .replace(/\\f(?:\[[^\]]*\]|\(..|.)/g, '')
    .replace(/\\s[+-]?(?:\(\d\d|\[\d+\]|\d)/g, '')
    .replace(/\\\*(?:\[([^\]]*)\]|\((..)|(.))/g, (_m, long?: string, two?: string, one?: string) => SPECIAL_CHARS[long ?? two ?? one ?? ''] ?? '')
    .replace(/\\\((..)/g, (_m, name: string) => SPECIAL_CHARS[name] ?? '')
    .replace(/\\\[([^\]]*)\]/g, (_m, name: string) => SPECIAL_CHARS[name] ?? '')
    .replace(/\\[nk](?:\[[^\]]*\]|\(..|.)/g, '')
    .replace(/\\[hvwlLoxXzZ]'[^']*'/g, '')
    .replace(/\\-/g, '-')
    .replace(/\\e/g, '\u0000') // a literal backslash, restored last like "\\"
    .replace(/\\[&|^c%:)dut]/g, '')
    .replace(/\\[ 0~]/g, ' ')
    .replace(/\\"/g, '')
    .replace(/\\./g, '')
    .replace(/\u0000/g, '\\');
}

function macroArgs(rest: string): string[] {
  return (rest.match(/"[^"]*"|\S+/g) ?? []).map((a) => a.replace(/^"|"$/g, ''));
}

/** The prose paragraphs of a man page. */
export function manPageParagraphs(source: string): string[] {
  const paragraphs: string[] = [];
  let current: string[] = [];
  let section = '';
  let noFill = false;
  let inMacroDefinition = false;
  let skipNextText = false;
  const flush = (): void => {
    if (current.length > 0 && !SKIPPED_SECTIONS.has(section)) paragraphs.push(current.join(' ').replace(/\s+/g, ' ').trim());
    current = [];
  };
  const lines = source.replace(/\\\n/g, '').split('\n');
  for (const raw of lines) {
    if (inMacroDefinition) {
      if (raw.startsWith('..')) inMacroDefinition = false;
      continue;
    }
    const control = /^[.'][ \t]*(\S*)[ \t]*(.*)$/.exec(raw);
    if (control) {
      const [, name, rest] = control;
      if (name.startsWith('\\"') || name === '') continue;
      switch (name) {
        case 'de':
        case 'de1':
        case 'am':
        case 'ig':
          inMacroDefinition = true;
          continue;
        case 'SH':
          flush();
          section = stripEscapes(macroArgs(rest).join(' ')).toUpperCase().trim();
          continue;
        case 'SS':
        case 'PP':
        case 'P':
        case 'LP':
        case 'sp':
        case 'HP':
        case 'RS':
        case 'RE':
        case 'br':
        case 'in':
        case 'ti':
        case 'bp':
          flush();
          continue;
        case 'TP':
        case 'TQ':
          flush();
          skipNextText = true;
          continue;
        case 'IP':
          flush();
          continue;
        case 'nf':
        case 'EX':
          flush();
          noFill = true;
          continue;
        case 'fi':
        case 'EE':
          noFill = false;
          continue;
        case 'B':
        case 'I':
        case 'SM':
        case 'SB':
          if (noFill) continue;
          if (skipNextText) {
            skipNextText = false;
            continue;
          }
          current.push(stripEscapes(macroArgs(rest).join(' ')));
          continue;
        case 'BR':
        case 'IR':
        case 'RB':
        case 'RI':
        case 'BI':
        case 'IB':
          if (noFill) continue;
          if (skipNextText) {
            skipNextText = false;
            continue;
          }
          current.push(stripEscapes(macroArgs(rest).join('')));
          continue;
        default:
          continue;
      }
    }
    if (noFill) continue;
    if (skipNextText) {
      skipNextText = false;
      continue;
    }
    if (raw.trim() === '') {
      flush();
      continue;
    }
    current.push(stripEscapes(raw));
  }
  flush();
  return paragraphs;
}
