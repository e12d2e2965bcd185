/**
 * Compressed audio formats as streams of bytes: 16-bit mono PCM in, file bytes out, in order, with a
 * patch to the file's first bytes at the end where the format keeps totals there (FLAC's STREAMINFO).
 *
 * - MP3: LAME (@breezystack/lamejs), 48 kbit/s.
 * - FLAC: libFLAC 1.3 compiled to JavaScript (libflacjs), compression level 5: lossless.
 * - Ogg Opus: libopus 1.4 compiled to WebAssembly (opusscript), 24 kbit/s, 20 ms frames, in an Ogg
 *   stream written by ogg.ts (RFC 7845).
 */
import { Mp3Encoder } from '@breezystack/lamejs';
import { createRequire } from 'node:module';
import { OggStreamWriter } from './ogg.ts';

export interface StreamEncoder {
  /** Bytes that open the file (headers), written before any audio. */
  start(): Uint8Array;
  /** Bytes for these samples (may be empty: encoders buffer whole frames). */
  encode(pcm: Int16Array): Uint8Array;
  /** The last bytes, and bytes to write over the file's start once everything is known. */
  finish(): { tail: Uint8Array; patch?: { offset: number; bytes: Uint8Array } };
  /** Frees the encoder's native memory (after finish, or instead of it). */
  release(): void;
}

const require = createRequire(import.meta.url);
const EMPTY = new Uint8Array(0);

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

// ------------------------------------------------------------------------------------------ MP3

/** MP3 bit rate for mono speech: transparent enough, a fifth of WAV's size at 16 kHz; at 24 kHz the band above 9 kHz survives. */
export const MP3_KBPS = 48;

export function mp3Encoder(sampleRate: number): StreamEncoder {
  const lame = new Mp3Encoder(1, sampleRate, MP3_KBPS);
  return {
    start: () => EMPTY,
    encode: (pcm) => lame.encodeBuffer(pcm),
    finish: () => ({ tail: lame.flush() }),
    release: () => undefined,
  };
}

// ------------------------------------------------------------------------------------------ FLAC

/** The subset of libflacjs's API used here (its own typings are for a global `Flac`). */
interface LibFlac {
  isReady(): boolean;
  on(event: 'ready', listener: () => void): void;
  create_libflac_encoder(sampleRate: number, channels: number, bps: number, compression: number, totalSamples?: number, verify?: boolean): number;
  init_encoder_stream(
    encoder: number,
    write: (data: Uint8Array, bytes: number, samples: number, frame: number) => void,
    metadata?: (info: FlacStreamInfo | undefined) => void,
  ): number;
  FLAC__stream_encoder_process_interleaved(encoder: number, buffer: Int32Array, samples: number): boolean;
  FLAC__stream_encoder_finish(encoder: number): boolean;
  FLAC__stream_encoder_delete(encoder: number): void;
  FLAC__stream_encoder_get_state(encoder: number): number;
}

interface FlacStreamInfo {
  min_blocksize: number;
  max_blocksize: number;
  min_framesize: number;
  max_framesize: number;
  total_samples: number;
  md5sum: string;
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
}

/** FLAC's default compression level (libFLAC's, and the `flac` tool's). */
export const FLAC_COMPRESSION = 5;

let libFlac: Promise<LibFlac> | null = null;

/**
 * Loads libFLAC once. NOTE: the asm.js build, not the WebAssembly one: libflacjs's WebAssembly loader
 * (emscripten 1.39) fetches its .wasm by a file path, which Node's fetch refuses.
 */
function loadLibFlac(): Promise<LibFlac> {
  libFlac ??= new Promise((resolve) => {
    const flac = (require('libflacjs') as (variant?: string) => LibFlac)();
    if (flac.isReady()) resolve(flac);
    else flac.on('ready', () => resolve(flac));
  });
  return libFlac;
}

/** STREAMINFO's 34 bytes (FLAC format, METADATA_BLOCK_STREAMINFO), from the encoder's final totals. */
export function streamInfoBytes(info: FlacStreamInfo): Uint8Array {
  const out = new Uint8Array(34);
  const view = new DataView(out.buffer);
  view.setUint16(0, info.min_blocksize);
  view.setUint16(2, info.max_blocksize);
  out.set([(info.min_framesize >> 16) & 0xff, (info.min_framesize >> 8) & 0xff, info.min_framesize & 0xff], 4);
  out.set([(info.max_framesize >> 16) & 0xff, (info.max_framesize >> 8) & 0xff, info.max_framesize & 0xff], 7);
  // 20 bits sample rate, 3 bits channels - 1, 5 bits bits-per-sample - 1, 36 bits total samples.
  const packed = (BigInt(info.sampleRate) << 44n) | (BigInt(info.channels - 1) << 41n) | (BigInt(info.bitsPerSample - 1) << 36n) | BigInt(info.total_samples);
  view.setBigUint64(10, packed);
  for (let i = 0; i < 16; i++) out[18 + i] = parseInt(info.md5sum.slice(2 * i, 2 * i + 2), 16) || 0;
  return out;
}

export async function flacEncoder(sampleRate: number): Promise<StreamEncoder> {
  const flac = await loadLibFlac();
  // total samples 0: not known yet; STREAMINFO is patched with the real totals at the end.
  const id = flac.create_libflac_encoder(sampleRate, 1, 16, FLAC_COMPRESSION, 0, false);
  if (!id) throw new Error('libFLAC could not create an encoder');
  let pending: Uint8Array[] = [];
  let info: FlacStreamInfo | undefined;
  const status = flac.init_encoder_stream(
    id,
    (data, bytes) => pending.push(data.slice(0, bytes)),
    (m) => (info = m),
  );
  if (status !== 0) {
    flac.FLAC__stream_encoder_delete(id);
    throw new Error(`libFLAC could not start an encoder (init status ${status})`);
  }
  let released = false;
  const take = (): Uint8Array => {
    const out = concat(pending.length ? pending : [EMPTY]);
    pending = [];
    return out;
  };
  return {
    // libFLAC writes "fLaC" and its metadata on the first call that needs them; they come with the first audio.
    start: () => EMPTY,
    encode(pcm) {
      if (pcm.length === 0) return EMPTY;
      const wide = Int32Array.from(pcm);
      if (!flac.FLAC__stream_encoder_process_interleaved(id, wide, wide.length)) {
        throw new Error(`libFLAC failed to encode (state ${flac.FLAC__stream_encoder_get_state(id)})`);
      }
      return take();
    },
    finish() {
      flac.FLAC__stream_encoder_finish(id);
      const tail = take();
      // "fLaC" (4 bytes), the STREAMINFO block's header (4 bytes), then its 34 bytes.
      return info ? { tail, patch: { offset: 8, bytes: streamInfoBytes(info) } } : { tail };
    },
    release() {
      if (released) return;
      released = true;
      flac.FLAC__stream_encoder_delete(id);
    },
  };
}

// ------------------------------------------------------------------------------------------ Opus

interface OpusScriptInstance {
  /** `pcm`: the frame's 16-bit samples as bytes (a Buffer). NOTE: an Int16Array is copied value by value into its
   * byte heap and encodes garbage (a 440 Hz tone came back as noise). */
  encode(pcm: Buffer, frameSize: number): Uint8Array;
  setBitrate(bitrate: number): void;
  delete(): void;
}
type OpusScriptClass = (new (
  sampleRate: number,
  channels: number,
  application: number,
) => OpusScriptInstance) & { Application: { VOIP: number; AUDIO: number } };

/** Opus bit rate for mono speech: 24 kbit/s is near-transparent for speech, and keeps a 24 kHz voice's band to 12 kHz. */
export const OPUS_KBPS = 24;
/** Opus frame length; 20 ms is the codec's default and best for speech. */
const OPUS_FRAME_MS = 20;
/**
 * Samples (at 48 kHz) the decoder must drop at the start: libopus's lookahead, 2.5 ms + 4 ms delay
 * compensation = 312 samples at 48 kHz for the VOIP and AUDIO applications.
 */
export const OPUS_PRE_SKIP = 312;

/** RFC 7845 section 5.1: the identification header. */
function opusHead(inputSampleRate: number): Uint8Array {
  const out = new Uint8Array(19);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode('OpusHead'), 0);
  out[8] = 1; // version
  out[9] = 1; // channels
  view.setUint16(10, OPUS_PRE_SKIP, true);
  view.setUint32(12, inputSampleRate, true);
  view.setInt16(16, 0, true); // output gain
  out[18] = 0; // channel mapping family 0: mono or stereo
  return out;
}

/** RFC 7845 section 5.2: the comment header, with the vendor string and no comments. */
function opusTags(): Uint8Array {
  const vendor = new TextEncoder().encode('spear-studio (libopus 1.4 via opusscript)');
  const out = new Uint8Array(8 + 4 + vendor.length + 4);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode('OpusTags'), 0);
  view.setUint32(8, vendor.length, true);
  out.set(vendor, 12);
  view.setUint32(12 + vendor.length, 0, true);
  return out;
}

export function opusEncoder(sampleRate: number): StreamEncoder {
  const OpusScript = require('opusscript') as OpusScriptClass;
  if (![8000, 12000, 16000, 24000, 48000].includes(sampleRate)) throw new RangeError(`Opus cannot encode ${sampleRate} Hz audio`);
  const opus = new OpusScript(sampleRate, 1, OpusScript.Application.AUDIO);
  opus.setBitrate(OPUS_KBPS * 1000);
  const frame = (sampleRate * OPUS_FRAME_MS) / 1000;
  const toGranule = BigInt(48000 / sampleRate);
  // Random-enough serial: two files written at once must not share one (RFC 3533 asks for unique serials).
  const ogg = new OggStreamWriter((Date.now() ^ (process.pid << 16)) >>> 0);
  const buffered = new Int16Array(frame);
  // Little-endian on every platform Electron ships for, as Opus's 16-bit input wants.
  const bufferedBytes = Buffer.from(buffered.buffer, buffered.byteOffset, buffered.byteLength);
  let fill = 0;
  let samplesIn = 0n;
  let framesOut = 0n;
  let released = false;
  let packetsInPage = 0;
  // A packet's granule is the count of 48 kHz samples decoded up to its end (the pre-skip among them);
  // the last one's is pre-skip + the input's length, so decoders trim the padding of the last frames.
  const encodeFrame = (pages: Uint8Array[], granule: bigint): void => {
    const packet = opus.encode(bufferedBytes, frame);
    framesOut++;
    // A page a second (50 packets): small pages seek well and cost ~0.5 % overhead.
    if (packetsInPage === 50) {
      pages.push(...ogg.flush());
      packetsInPage = 0;
    }
    pages.push(...ogg.packet(new Uint8Array(packet), granule));
    packetsInPage++;
  };
  return {
    start: () => concat([...ogg.packet(opusHead(sampleRate), 0n, { flush: true }), ...ogg.packet(opusTags(), 0n, { flush: true })]),
    encode(pcm) {
      const pages: Uint8Array[] = [];
      samplesIn += BigInt(pcm.length);
      let i = 0;
      while (i < pcm.length) {
        const n = Math.min(frame - fill, pcm.length - i);
        buffered.set(pcm.subarray(i, i + n), fill);
        fill += n;
        i += n;
        if (fill === frame) {
          encodeFrame(pages, (framesOut + 1n) * BigInt(frame) * toGranule);
          fill = 0;
        }
      }
      return pages.length ? concat(pages) : EMPTY;
    },
    finish() {
      const pages: Uint8Array[] = [];
      // The encoder runs OPUS_PRE_SKIP behind: frames of silence until every input sample is out.
      const end = BigInt(OPUS_PRE_SKIP) + samplesIn * toGranule;
      const perFrame = BigInt(frame) * toGranule;
      while (framesOut * perFrame < end) {
        buffered.fill(0, fill);
        fill = 0;
        const decoded = (framesOut + 1n) * perFrame;
        encodeFrame(pages, decoded < end ? decoded : end);
      }
      pages.push(...ogg.flush(true));
      return { tail: concat(pages) };
    },
    release() {
      if (released) return;
      released = true;
      opus.delete();
    },
  };
}
