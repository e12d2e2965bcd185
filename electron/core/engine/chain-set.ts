/**
 * A drafter's chains (the manifest's "chains", native-models/spear_voice/t2s/chain.py): one graph per gamma.
 * Their files are hashed with every other file at load (manifest.ts); each session is created, and its
 * tensor names checked, the first time its gamma drafts. A voice ships chains for gamma 2–8 and two
 * drafters, 14 sessions, and creating them all at load took the shipped voice from ~0.2 to ~1.0 s and
 * ~60 MB for chains that a run mostly never uses.
 */
import type { Graph, GraphCall } from './graph.ts';

export class ChainSet {
  private callLog: ((call: GraphCall) => void) | null = null;
  private readonly opening = new Map<number, Promise<Graph>>();
  private readonly created: Graph[] = [];

  constructor(
    private readonly bytes: ReadonlyMap<number, Uint8Array>,
    /** Creates and checks gamma's session; throws a ModelLoadError naming the file when it is not a valid chain. */
    private readonly open: (gamma: number, bytes: Uint8Array) => Promise<Graph>,
    /** The same drafter's sampled chains (temperature only), when these are its greedy ones and it has them. */
    readonly sampled: ChainSet | null = null,
  ) {}

  /** The graph-call log (decode's `onGraphCall`), given to every chain handed out, sampled ones too. */
  get onCall(): ((call: GraphCall) => void) | null {
    return this.callLog;
  }

  set onCall(log: ((call: GraphCall) => void) | null) {
    this.callLog = log;
    if (this.sampled) this.sampled.onCall = log;
  }

  /** No chains: every draft is a run of the drafter's graph. */
  static empty(): ChainSet {
    return new ChainSet(new Map(), () => Promise.reject(new Error('no chain')));
  }

  /** The gammas there is a chain for, ascending. */
  get gammas(): number[] {
    return [...this.bytes.keys()].sort((a, b) => a - b);
  }

  has(gamma: number): boolean {
    return this.bytes.has(gamma);
  }

  /** Gamma's chain, its session created on the first call (a failure is the same error on every call). */
  async graph(gamma: number): Promise<Graph> {
    let pending = this.opening.get(gamma);
    if (!pending) {
      const bytes = this.bytes.get(gamma);
      if (!bytes) throw new RangeError(`no chain for gamma ${gamma} (there are: ${this.gammas.join(', ') || 'none'})`);
      pending = this.open(gamma, bytes).then((graph) => {
        this.created.push(graph);
        return graph;
      });
      this.opening.set(gamma, pending);
    }
    const graph = await pending;
    graph.onCall = this.onCall;
    return graph;
  }

  /** The chains whose sessions exist, sampled ones included. */
  get opened(): readonly Graph[] {
    return [...this.created, ...(this.sampled?.opened ?? [])];
  }

  async release(): Promise<void> {
    await this.sampled?.release();
    await Promise.allSettled(this.opening.values());
    for (const graph of this.created) await graph.session.release();
    this.created.length = 0;
    this.opening.clear();
  }
}
