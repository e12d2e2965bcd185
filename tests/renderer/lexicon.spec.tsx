import { afterEach, describe, expect, it, vi } from 'vitest';
import { renderToStaticMarkup } from 'react-dom/server';
import type { LexiconInfo, StudioApi } from '../../electron/ipc-contract.ts';
import { fromBase64, toBase64 } from '../../renderer/src/lib/files.ts';
import { LexiconView, type LexiconViewProps } from '../../renderer/src/components/LexiconPanel.tsx';

const NGUYEN = { word: 'Nguyen', phonemes: ['W', 'IH1', 'N'], respelling: 'win' };
const SIOBHAN = { word: 'Siobhan', phonemes: ['SH', 'IH0', 'V', 'AO1', 'N'] };

/** A fresh store and actions over `api` (window.spear), as the preload would provide it. */
async function studio(api: Partial<StudioApi>) {
  vi.stubGlobal('window', { spear: api });
  const { useStudio } = await import('../../renderer/src/store/state.ts');
  const actions = await import('../../renderer/src/actions.ts');
  return { useStudio, actions };
}

const VIEW: LexiconViewProps = { entries: null, notice: null, error: null, hearing: null, busy: false };
const render = (props: Partial<LexiconViewProps>): string => renderToStaticMarkup(<LexiconView {...VIEW} {...props} />);

afterEach(() => {
  vi.unstubAllGlobals();
  vi.resetModules();
});

describe('the lexicon panel', () => {
  it('lists each word with its phones and its respelling, with Hear and Remove for each', () => {
    expect(render({})).toContain('Loading your pronunciations');
    expect(render({ entries: [] })).toContain('No pronunciations of yours yet.');
    const html = render({ entries: [NGUYEN, SIOBHAN] });
    expect(html.match(/data-testid="lexicon-entry"/g)).toHaveLength(2);
    expect(html).toContain('<span class="lexicon-word">Nguyen</span><code>W IH1 N</code><span class="muted small">“win”</span>');
    expect(html).toContain('<span class="lexicon-word">Siobhan</span><code>SH IH0 V AO1 N</code><span class="lexicon-actions">');
    expect(html).toContain('aria-label="Hear Siobhan"');
    expect(html).toContain('aria-label="Remove Nguyen"');
  });

  it('shows the file notice and the last error; Hear waits while the document is being read or a word is', () => {
    const shown = { entries: [NGUYEN], notice: 'lexicon: /x/lexicon.json: 1 entry skipped', error: 'the vowel AH needs a stress digit' };
    let html = render(shown);
    expect(html).toContain('1 entry skipped');
    expect(html).toMatch(/role="alert"[^>]*>the vowel AH needs a stress digit/);
    const hearDisabled = /<button[^>]*disabled=""[^>]*aria-label="Hear Nguyen"/;
    expect(html).not.toMatch(hearDisabled);
    html = render({ ...shown, busy: true });
    expect(html).toMatch(hearDisabled);
    expect(html).toContain('hear words when it has finished');
    html = render({ ...shown, hearing: 'Nguyen' });
    expect(html).toMatch(hearDisabled);
    expect(html).toContain('Reading…');
  });
});

describe('lexicon actions', () => {
  it('load, add and remove write what the service answers into the store', async () => {
    let saved: LexiconInfo = { entries: [NGUYEN], notice: null };
    const add = vi.fn(async (word: string, pronunciation: string) => {
      saved = { entries: [NGUYEN, { word, phonemes: pronunciation.split(' ') }], notice: null };
      return saved;
    });
    const { useStudio, actions } = await studio({
      getLexicon: async () => saved,
      addLexiconEntry: add,
      removeLexiconEntry: async () => ({ entries: [NGUYEN], notice: null }),
    });
    await actions.loadLexicon();
    expect(useStudio.getState().lexicon).toEqual([NGUYEN]);
    expect(await actions.addLexiconEntry('  Siobhan ', ' SH IH0 V AO1 N ')).toBe(true);
    expect(add).toHaveBeenCalledWith('Siobhan', 'SH IH0 V AO1 N');
    expect(useStudio.getState().lexicon).toEqual([NGUYEN, SIOBHAN]);
    await actions.removeLexiconEntry('Siobhan');
    expect(useStudio.getState().lexicon).toEqual([NGUYEN]);
  });

  it('a refused entry is shown in words, without the class name or the "lexicon:" prefix; empty fields never reach the service', async () => {
    const add = vi.fn(async (): Promise<LexiconInfo> => {
      throw new Error(
        `Error invoking remote method 'spear:addLexiconEntry': LexiconEntryError: lexicon: "Foo": the vowel AH needs a stress digit: AH1 (stressed), AH2 (secondary) or AH0 (unstressed)`,
      );
    });
    const { useStudio, actions } = await studio({ addLexiconEntry: add });
    expect(await actions.addLexiconEntry('Foo', 'F AH')).toBe(false);
    expect(useStudio.getState().lexiconError).toBe('"Foo": the vowel AH needs a stress digit: AH1 (stressed), AH2 (secondary) or AH0 (unstressed)');
    expect(await actions.addLexiconEntry('Foo', '   ')).toBe(false);
    expect(add).toHaveBeenCalledTimes(1);
    expect(useStudio.getState().lexiconError).toMatch(/Give a word and how to say it/);
  });

  it('hearing a word asks for it with the typed pronunciation and plays the WAV it gets back', async () => {
    const wav = new Uint8Array([82, 73, 70, 70, 1, 2, 3, 250]);
    const played: string[] = [];
    vi.stubGlobal(
      'Audio',
      class {
        constructor(readonly src: string) {}
        addEventListener() {}
        pause() {}
        async play() {
          played.push(this.src);
        }
      },
    );
    let release: () => void = () => undefined;
    const first = new Promise<void>((resolve) => (release = resolve));
    const hear = vi.fn(async (word: string) => {
      await first;
      return { word, phonemes: ['W', 'IH1', 'N'], wavBase64: toBase64(wav.buffer) };
    });
    const { useStudio, actions } = await studio({ hearWord: hear });
    const hearing = actions.hearWord('Nguyen', ' win ');

    expect(useStudio.getState().hearing).toBe('Nguyen');
    // A second request while one is read is ignored, not queued.
    await actions.hearWord('Siobhan');
    expect(hear).toHaveBeenCalledTimes(1);
    release();

    await hearing;

    expect(hear).toHaveBeenCalledWith('Nguyen', 'win');
    expect(played).toHaveLength(1);
    expect(played[0]).toMatch(/^blob:/);
    expect(useStudio.getState().hearing).toBeNull();
    // Without a typed pronunciation the service reads with the lexicon (null).
    await actions.hearWord('Nguyen', '');
    expect(hear).toHaveBeenLastCalledWith('Nguyen', null);
  });

  it('base64 from the service decodes to the same bytes', () => {
    const bytes = new Uint8Array(70_000).map((_, i) => (i * 7) % 256);
    expect(fromBase64(toBase64(bytes.buffer))).toEqual(bytes);
  });
});
