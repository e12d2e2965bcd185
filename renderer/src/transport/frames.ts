/** Decodes browser mode's binary audio frames (layout: WS_BINARY_ALIGN in electron/ipc-contract.ts). */
import type { StudioEvent, WsMessage } from '../../../electron/ipc-contract.ts';

const ALIGN = 4;

export function decodeAudioFrame(frame: ArrayBuffer): StudioEvent {
  const view = new DataView(frame);
  const headerLength = view.getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(frame, 4, headerLength))) as WsMessage;
  if (header.kind !== 'event' || header.event.type !== 'job' || header.event.event.type !== 'audio') {
    throw new Error('a binary frame that is not an audio event');
  }
  const start = Math.ceil((4 + headerLength) / ALIGN) * ALIGN;
  const count = (frame.byteLength - start) / 4;
  const samples = new Float32Array(count);
  for (let i = 0; i < count; i++) samples[i] = view.getFloat32(start + i * 4, true);
  return { ...header.event, event: { ...header.event.event, samples } };
}
