/**
 * EPUB → text: the chapters in spine (reading) order, each read as HTML, a chapter break as a
 * paragraph break. The container, the package and the ZIP are @lingo-reader/epub-parser's; it copies
 * the book's images and styles into a folder, which is a temporary one here, removed afterwards.
 */
import { initEpubFile } from '@lingo-reader/epub-parser';
import { unzipSync } from 'fflate';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { htmlToText } from './html.ts';

/**
 * Refuses what is not a readable EPUB before the parser sees it. NOTE: @lingo-reader/epub-parser 0.4
 * never settles on a damaged ZIP (its JSZip rejection is left unhandled), so the ZIP's directory and
 * the EPUB's container file are checked here first, with fflate.
 */
function checkEpub(bytes: Uint8Array): void {
  let names: string[];
  try {
    names = Object.keys(unzipSync(bytes, { filter: (f) => f.name === 'mimetype' || f.name.toLowerCase() === 'meta-inf/container.xml' }));
  } catch (error) {
    throw new Error(`not a ZIP archive: ${(error as Error).message}`);
  }
  if (!names.some((n) => n.toLowerCase() === 'meta-inf/container.xml')) throw new Error('no META-INF/container.xml: not an EPUB');
}

export async function epubToText(bytes: Uint8Array): Promise<{ text: string; title?: string }> {
  checkEpub(bytes);
  const resources = await mkdtemp(path.join(tmpdir(), 'spear-epub-'));
  try {
    const epub = await initEpubFile(new Uint8Array(bytes), resources);
    try {
      const chapters: string[] = [];
      for (const item of epub.getSpine()) {
        // Non-linear items (pop-up notes, covers) are outside the reading order.
        if (item.linear === 'no') continue;
        const { html } = await epub.loadChapter(item.id);
        const text = htmlToText(html);
        if (text !== '') chapters.push(text);
      }
      const title = epub.getMetadata()?.title;
      return { text: chapters.join('\n\n'), ...(typeof title === 'string' && title.trim() ? { title: title.trim() } : {}) };
    } finally {
      epub.destroy();
    }
  } finally {
    await rm(resources, { recursive: true, force: true });
  }
}
