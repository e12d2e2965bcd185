/**
 * Binary WebSocket frames for audio events (see WS_BINARY_ALIGN in the contract): uint32 LE header
 * length, the JSON header (the event without its samples), zero padding to 4 bytes, float32 samples.
 * renderer/src/transport/frames.ts decodes them.
 */
import { WS_BINARY_ALIGN, type StudioEvent } from '../ipc-contract.ts';

type AudioJobEvent = Extract<StudioEvent, { type: 'job' }> & { event: { type: 'audio' } };

export function encodeAudioFrame(event: Extract<StudioEvent, { type: 'job' }>): Buffer {
  const audio = event.event as AudioJobEvent['event'] & { samples: Float32Array };
  const { samples, ...rest } = audio;
  const header = Buffer.from(JSON.stringify({ kind: 'event', event: { ...event, event: rest } }), 'utf8');
  const headerEnd = 4 + header.length;
  const samplesStart = Math.ceil(headerEnd / WS_BINARY_ALIGN) * WS_BINARY_ALIGN;
  const frame = Buffer.alloc(samplesStart + samples.byteLength);
  frame.writeUInt32LE(header.length, 0);
  header.copy(frame, 4);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  for (let i = 0; i < samples.length; i++) view.setFloat32(samplesStart + i * 4, samples[i], true);
  return frame;
}
