/**
 * Markdown → text: rendered to HTML by marked (CommonMark and GitHub's tables), then read as HTML,
 * so "# Title" is a heading (a paragraph pause, no "hash"), "*word*" is the word, and a link is its
 * text, not its address.
 */
import { marked } from 'marked';
import { htmlToText } from './html.ts';

export function markdownToText(markdown: string): string {
  // Raw HTML inside Markdown is left to the HTML reader, which drops scripts and styles.
  const html = marked.parse(markdown, { async: false, gfm: true });
  return htmlToText(html);
}
