/**
 * Preview playback with one <audio> element: a sentence alone, or the document sentence after
 * sentence (starting while later sentences still decode, waiting where the decoder has not arrived).
 * Each sentence plays from a WAV blob built here from its PCM. Writes what is heard into the store.
 */
import { encodeWav } from './lib/wav.ts';
import { useStudio } from './store/state.ts';

let element: HTMLAudioElement | null = null;
const urls = new Map<number, string>();
let gapTimer: ReturnType<typeof setTimeout> | null = null;
let frame: number | null = null;

function urlFor(sentence: number): string | null {
  const audio = useStudio.getState().audio[sentence];
  if (!audio) return null;
  let url = urls.get(sentence);
  if (!url) {
    url = URL.createObjectURL(new Blob([encodeWav(audio.samples, audio.sampleRate)], { type: 'audio/wav' }));
    urls.set(sentence, url);
  }
  return url;
}

/** Forget every blob (a new job's audio replaces the old). */
export function resetPlayer(): void {
  stop();
  for (const url of urls.values()) URL.revokeObjectURL(url);
  urls.clear();
  if (element) {
    element.removeAttribute('src');
    element.load();
  }
}

export function attachAudioElement(audio: HTMLAudioElement | null): void {
  if (element === audio) return;
  element = audio;
  if (!audio) return;
  audio.addEventListener('ended', onEnded);
  audio.addEventListener('pause', () => useStudio.setState({ playing: false }));
  audio.addEventListener('play', () => useStudio.setState({ playing: true, waiting: false }));
}

function trackPosition(): void {
  if (frame !== null) cancelAnimationFrame(frame);
  const tick = (): void => {
    const s = useStudio.getState();
    if (element && s.heard !== null && s.audio[s.heard]) {
      const a = s.audio[s.heard];
      useStudio.setState({ position: a.offsetSamples / a.sampleRate + element.currentTime });
    }
    frame = s.playing || s.waiting ? requestAnimationFrame(tick) : null;
  };
  frame = requestAnimationFrame(tick);
}

async function playFrom(sentence: number, mode: 'document' | 'sentence', offsetSeconds = 0): Promise<void> {
  if (!element) return;
  if (gapTimer) clearTimeout(gapTimer);
  const url = urlFor(sentence);
  if (!url) {
    // Not decoded yet: wait for it (the store subscription below resumes).
    useStudio.setState({ mode, heard: sentence, waiting: true, playing: false });
    return;
  }
  useStudio.setState({ mode, heard: sentence, waiting: false });
  if (element.getAttribute('src') !== url) element.src = url;
  element.currentTime = offsetSeconds;
  try {
    await element.play();
  } catch (error) {
    if ((error as Error).name !== 'AbortError') throw error;
  }
  trackPosition();
}

function onEnded(): void {
  const s = useStudio.getState();
  if (s.mode !== 'document' || s.heard === null) {
    useStudio.setState({ playing: false, mode: null });
    return;
  }
  const next = s.heard + 1;
  if (next >= s.jobSentences.length) {
    useStudio.setState({ playing: false, mode: null, heard: null });
    return;
  }
  // Keep the pipeline's pause between sentences.
  const current = s.audio[s.heard];
  const following = s.audio[next];
  const gap = current && following ? Math.max(0, (following.offsetSamples - current.offsetSamples - current.samples.length) / current.sampleRate) : 0;
  gapTimer = setTimeout(() => void playFrom(next, 'document'), gap * 1000);
}

export function playSentence(sentence: number): Promise<void> {
  return playFrom(sentence, 'sentence');
}

/** From the start, or from `seconds` into the document. */
export function playDocument(seconds = 0): Promise<void> {
  const s = useStudio.getState();
  let sentence = 0;
  let offset = 0;
  for (const [key, a] of Object.entries(s.audio)) {
    const start = a.offsetSamples / a.sampleRate;
    if (start <= seconds && Number(key) >= sentence) {
      sentence = Number(key);
      offset = Math.min(seconds - start, a.samples.length / a.sampleRate);
    }
  }
  return playFrom(sentence, 'document', offset);
}

export function togglePlayback(): void {
  const s = useStudio.getState();
  if (!element) return;
  if (s.playing) {
    element.pause();
  } else if (s.mode && s.heard !== null && element.getAttribute('src') && !element.ended) {
    void element.play().then(trackPosition);
  } else {
    void playDocument();
  }
}

export function stop(): void {
  if (gapTimer) clearTimeout(gapTimer);
  element?.pause();
  useStudio.setState({ playing: false, mode: null, heard: null, waiting: false, position: 0 });
}

// Resume document playback when the sentence it waits for arrives.
useStudio.subscribe((state, previous) => {
  if (state.waiting && state.heard !== null && state.audio !== previous.audio && state.audio[state.heard]) {
    void playFrom(state.heard, state.mode ?? 'document');
  }
});

// ---------------------------------------------------------------- short clips (a word heard from the lexicon)

let clip: HTMLAudioElement | null = null;

/** Plays a WAV file on its own element, beside the document's; a new clip stops the previous one. */
export async function playClip(wav: Uint8Array<ArrayBuffer>): Promise<void> {
  if (clip) {
    clip.pause();
    URL.revokeObjectURL(clip.src);
  }
  const url = URL.createObjectURL(new Blob([wav], { type: 'audio/wav' }));
  const audio = new Audio(url);
  clip = audio;
  audio.addEventListener('ended', () => URL.revokeObjectURL(url), { once: true });
  await audio.play();
}
