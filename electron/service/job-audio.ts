/**
 * A job's audio as it arrives, one block per sentence at its offset in the document's audio; kept
 * so the user can preview and export after (or while) the job decodes.
 */
export interface SentenceAudio {
  samples: Float32Array;
  sampleRate: number;
  offsetSamples: number;
}

export class JobAudio {
  private readonly sentences = new Map<number, SentenceAudio>();

  add(sentence: number, audio: SentenceAudio): void {
    const first = this.sentences.values().next().value;
    if (first && first.sampleRate !== audio.sampleRate) {
      throw new Error(`sentence ${sentence} has ${audio.sampleRate} Hz audio, the job's earlier sentences ${first.sampleRate} Hz`);
    }
    this.sentences.set(sentence, audio);
  }

  get count(): number {
    return this.sentences.size;
  }

  /** One sentence's samples, or the whole document's (gaps between sentences stay silent). */
  assemble(sentence?: number): { samples: Float32Array; sampleRate: number } | undefined {
    if (sentence !== undefined) {
      const one = this.sentences.get(sentence);
      return one && { samples: one.samples, sampleRate: one.sampleRate };
    }
    let length = 0;
    let sampleRate = 0;
    for (const a of this.sentences.values()) {
      length = Math.max(length, a.offsetSamples + a.samples.length);
      sampleRate = a.sampleRate;
    }
    if (this.sentences.size === 0) return undefined;
    const samples = new Float32Array(length);
    for (const a of this.sentences.values()) samples.set(a.samples, a.offsetSamples);
    return { samples, sampleRate };
  }
}
