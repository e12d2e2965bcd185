import { describe, expect, it, vi } from 'vitest';
import { draftsApply, specTrDrafts } from '../../renderer/src/actions.ts';
import { initialState } from '../../renderer/src/store/state.ts';

const base = initialState().tuning;

describe('drafts per step (SpecTr) in the studio', () => {
  it('asks for K only where it applies: a drafter, sampling', () => {
    expect(base.drafts).toBe(1);
    expect(specTrDrafts({ ...base, strategy: 'eagle', temperature: 0.8, drafts: 3 })).toBe(3);
    expect(specTrDrafts({ ...base, strategy: 'eagle', temperature: 0, drafts: 3 })).toBe(1);
    expect(specTrDrafts({ ...base, strategy: 'ar', temperature: 0.8, drafts: 3 })).toBe(1);
    // The field is enabled exactly where K is sent.
    expect(draftsApply({ ...base, strategy: 'medusa', temperature: 1 })).toBe(true);
    expect(draftsApply({ ...base, strategy: 'medusa', temperature: 0 })).toBe(false);
    expect(draftsApply({ ...base, strategy: 'ar', temperature: 1 })).toBe(false);
  });

  it('synthesize sends drafts when sampling with K > 1, and not when greedy', async () => {
    const sent: unknown[] = [];
    vi.stubGlobal('window', { spear: { synthesize: async (_doc: string, options: unknown) => (sent.push(options), 'j1') } });
    const studio = await import('../../renderer/src/store/state.ts');
    const { synthesize } = await import('../../renderer/src/actions.ts');
    studio.useStudio.setState({ text: 'Hello there.', status: 'idle', tuning: { ...base, strategy: 'eagle', temperature: 0.8, drafts: 3 } });
    await synthesize();
    expect(sent[0]).toMatchObject({ strategy: 'eagle', temperature: 0.8, drafts: 3 });
    studio.useStudio.setState({ status: 'idle', tuning: { ...base, strategy: 'eagle', temperature: 0, drafts: 3 } });
    await synthesize();
    expect(sent[1]).not.toHaveProperty('drafts');
    vi.unstubAllGlobals();
    vi.resetModules();
  });
});

describe("medusa's tree in the studio", () => {
  it('a tree only for medusa; its depth is the draft length; it turns off SpecTr drafts', async () => {
    const { treeOf, treeDepth, MEDUSA_TREES } = await import('../../renderer/src/actions.ts');
    expect(base.tree).toBe('chain');
    expect(treeOf({ ...base, strategy: 'medusa', tree: 'chain' })).toBeNull();
    expect(treeOf({ ...base, strategy: 'eagle', tree: 'sparse4' })).toBeNull();
    expect(treeOf({ ...base, strategy: 'medusa', tree: 'sparse4' })).toEqual(MEDUSA_TREES.sparse4.spec);
    expect(treeDepth([2, 1])).toBe(2);
    expect(treeDepth([[0], [1], [0, 0], [0, 1]])).toBe(2);
    expect(treeDepth([[0], [0, 0], [0, 0, 1]])).toBe(3);
    expect(draftsApply({ ...base, strategy: 'medusa', tree: 'top2-top1', temperature: 1 })).toBe(false);
  });

  it('synthesize sends the tree and no gamma', async () => {
    const sent: unknown[] = [];
    vi.stubGlobal('window', { spear: { synthesize: async (_doc: string, options: unknown) => (sent.push(options), 'j1') } });
    const studio = await import('../../renderer/src/store/state.ts');
    const { synthesize } = await import('../../renderer/src/actions.ts');
    studio.useStudio.setState({ text: 'Hello there.', status: 'idle', tuning: { ...base, strategy: 'medusa', tree: 'top2-top1', adaptive: true } });
    await synthesize();
    expect(sent[0]).toMatchObject({ strategy: 'medusa', tree: [2, 1] });
    expect(sent[0]).not.toHaveProperty('gamma');
    expect(sent[0]).not.toHaveProperty('maxGamma');
    expect(studio.useStudio.getState().gamma).toBe(2);
    vi.unstubAllGlobals();
    vi.resetModules();
  });
});

describe("the decoding panel and the voice's trees", () => {
  it('offers medusa’s trees, disabled where the service says the voice verifies chains only', async () => {
    const { renderToStaticMarkup } = await import('react-dom/server');
    const { MedusaTreeSelect } = await import('../../renderer/src/components/TuningPanel.tsx');
    const html = (treesOff: boolean) => renderToStaticMarkup(<MedusaTreeSelect value="chain" treesOff={treesOff} onChange={() => {}} />);
    expect(html(true)).toMatch(/<option value="top2-top1" disabled=""/);
    expect(html(true)).toMatch(/<option value="sparse4" disabled=""/);
    expect(html(true)).not.toMatch(/<option value="chain"[^>]*disabled/);
    expect(html(false)).not.toContain('disabled');
  });
});
