/**
 * The Ogg container (RFC 3533) as Ogg Opus needs it (RFC 7845): packets laced into pages, each page
 * with its granule position and CRC. Only the writing side, one logical stream.
 */

/** CRC-32 of Ogg pages: polynomial 0x04c11db7, not reflected, initial value 0 (RFC 3533, section 6). */
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let k = 0; k < 8; k++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

export function oggCrc(bytes: Uint8Array): number {
  let crc = 0;
  for (let i = 0; i < bytes.length; i++) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ bytes[i]) & 0xff]) >>> 0;
  return crc >>> 0;
}

const HEADER_TYPE = { continued: 0x01, bos: 0x02, eos: 0x04 } as const;
/** A page holds at most 255 lacing values; a packet of n bytes takes floor(n / 255) + 1 of them. */
const MAX_SEGMENTS = 255;

/** Writes one logical Ogg stream: `packet` returns the pages it completed (often none). */
export class OggStreamWriter {
  private sequence = 0;
  private segments: number[] = [];
  private body: Uint8Array[] = [];
  private bodyBytes = 0;
  private granule = -1n;
  private first = true;

  constructor(private readonly serial: number) {}

  /**
   * Adds a packet that ends at `granule` (for Opus: 48 kHz samples since the stream's start, pre-skip
   * included). `flush` puts it on a page of its own, as the Opus header packets must be.
   */
  packet(data: Uint8Array, granule: bigint, options: { flush?: boolean } = {}): Uint8Array[] {
    const pages: Uint8Array[] = [];
    const lacing = Math.floor(data.length / 255) + 1;
    if (lacing > MAX_SEGMENTS) throw new RangeError(`an Ogg packet of ${data.length} bytes is larger than this writer pages`);
    if (this.segments.length + lacing > MAX_SEGMENTS) pages.push(this.page(false));
    for (let i = 0; i < lacing - 1; i++) this.segments.push(255);
    this.segments.push(data.length % 255);
    this.body.push(data);
    this.bodyBytes += data.length;
    this.granule = granule;
    if (options.flush) pages.push(this.page(false));
    return pages;
  }

  /** Pages out whatever is pending; `last` marks the end of the stream (an empty page if need be). */
  flush(last = false): Uint8Array[] {
    if (this.segments.length === 0 && !last) return [];
    return [this.page(last)];
  }

  private page(last: boolean): Uint8Array {
    const out = new Uint8Array(27 + this.segments.length + this.bodyBytes);
    const view = new DataView(out.buffer);
    out.set([0x4f, 0x67, 0x67, 0x53], 0); // "OggS"
    out[4] = 0; // version
    out[5] = (this.first ? HEADER_TYPE.bos : 0) | (last ? HEADER_TYPE.eos : 0);
    view.setBigInt64(6, this.segments.length === 0 && !last ? -1n : this.granule, true);
    view.setUint32(14, this.serial, true);
    view.setUint32(18, this.sequence++, true);
    view.setUint32(22, 0, true); // CRC, filled below
    out[26] = this.segments.length;
    out.set(this.segments, 27);
    let at = 27 + this.segments.length;
    for (const b of this.body) {
      out.set(b, at);
      at += b.length;
    }
    view.setUint32(22, oggCrc(out), true);
    this.first = false;
    this.segments = [];
    this.body = [];
    this.bodyBytes = 0;
    return out;
  }
}
