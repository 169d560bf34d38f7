// The channel's wire format at the gateway: decodes ClientFrames defensively (size, shape, UTF-8)
// and encodes ServerFrames. Never throws on client input: a bad frame becomes a `bad_frame` result.
import { onair } from '@onair/proto';

const v1 = onair.channel.v1;
export type ClientFrame = onair.channel.v1.ClientFrame;
export type ServerFrameProps = onair.channel.v1.ServerFrame.$Properties;
export type ChatMessageProps = onair.channel.v1.ChatMessage.$Properties;

export const MAX_CLIENT_FRAME_BYTES = 4096;

export type Decoded = { ok: true; frame: ClientFrame } | { ok: false; message: string };

const REPLACEMENT = Buffer.from('\uFFFD', 'utf8');

/**
 * The text must be valid UTF-8 on the wire: protobufjs silently turns bad bytes into U+FFFD, so a
 * decoded U+FFFD that the raw frame does not actually contain means the client sent invalid UTF-8.
 */
function validUtf8(text: string, raw: Uint8Array): boolean {
  return !text.includes('\uFFFD') || Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).includes(REPLACEMENT);
}

export function decodeClientFrame(data: Uint8Array): Decoded {
  if (data.byteLength === 0) return { ok: false, message: 'empty frame' };
  if (data.byteLength > MAX_CLIENT_FRAME_BYTES) return { ok: false, message: 'frame too large' };
  let frame: ClientFrame;
  try {
    frame = v1.ClientFrame.decode(data);
  } catch {
    return { ok: false, message: 'not a ClientFrame' };
  }
  if (!frame.body) return { ok: false, message: 'frame has no chat, reaction or ping' };
  const text = frame.body === 'chat' ? (frame.chat?.text ?? '') : frame.body === 'reaction' ? (frame.reaction?.emoji ?? '') : '';
  if (text && !validUtf8(text, data)) return { ok: false, message: 'text is not valid UTF-8' };
  return { ok: true, frame };
}

export function encodeServerFrame(frame: ServerFrameProps): Uint8Array {
  return v1.ServerFrame.encode(frame).finish();
}

export function errorFrame(code: string, message: string, seq = 0, retryAfterMs = 0): Uint8Array {
  return encodeServerFrame({ error: { code, message, seq, retryAfterMs: Math.max(0, Math.ceil(retryAfterMs)) } });
}
