// Writes the SDP that tells ffmpeg which RTP streams arrive on which loopback ports, from the
// mediasoup consumers' RTP parameters (payload type, codec, clock rate, fmtp). Pure text; no I/O.
import type { types } from 'mediasoup';

export interface SdpStream {
  kind: 'audio' | 'video';
  port: number;
  rtpParameters: types.RtpParameters;
}

export function ffmpegSdp(streams: SdpStream[]): string {
  const lines = ['v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=OnAir ladder input', 'c=IN IP4 127.0.0.1', 't=0 0'];
  for (const s of streams) {
    const codec = s.rtpParameters.codecs[0];
    if (!codec) throw new Error(`the ${s.kind} consumer has no codec`);
    const name = codec.mimeType.split('/')[1]!;
    const pt = codec.payloadType;
    lines.push(`m=${s.kind} ${s.port} RTP/AVP ${pt}`);
    lines.push(`a=rtpmap:${pt} ${name}/${codec.clockRate}${codec.channels && codec.channels > 1 ? `/${codec.channels}` : ''}`);
    const fmtp = Object.entries(codec.parameters ?? {}).map(([k, v]) => `${k}=${v}`);
    if (fmtp.length) lines.push(`a=fmtp:${pt} ${fmtp.join(';')}`);
    lines.push(`a=rtcp:${s.port + 1}`, 'a=recvonly');
  }
  return `${lines.join('\r\n')}\r\n`;
}
