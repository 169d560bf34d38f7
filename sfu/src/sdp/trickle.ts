// Parses an application/trickle-ice-sdpfrag body (RFC 8840) far enough for WHIP/WHEP PATCH: the ICE
// credentials it carries (a changed ufrag means ICE restart) and its candidates. mediasoup is ICE-lite
// and learns remote addresses from connectivity checks, so candidates need not be applied.
import { badSdp } from './offer.js';

export interface SdpFrag {
  iceUfrag?: string;
  icePwd?: string;
  candidates: string[];
}

export function parseSdpFrag(text: string): SdpFrag {
  if (text.length > 16 * 1024) throw badSdp('the SDP fragment is larger than 16 KiB');
  const frag: SdpFrag = { candidates: [] };
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    if (!/^[a-z]=/.test(line)) throw badSdp(`not an SDP fragment line: "${line.slice(0, 60)}"`);
    if (line.startsWith('a=ice-ufrag:')) frag.iceUfrag = line.slice(12);
    else if (line.startsWith('a=ice-pwd:')) frag.icePwd = line.slice(10);
    else if (line.startsWith('a=candidate:')) frag.candidates.push(line.slice(2));
  }
  return frag;
}

export function candidateLine(c: {
  foundation: string;
  priority: number;
  ip: string;
  protocol: string;
  port: number;
  type: string;
  tcpType?: string;
}): string {
  return `candidate:${c.foundation} 1 ${c.protocol} ${c.priority} ${c.ip} ${c.port} typ ${c.type}${c.tcpType ? ` tcptype ${c.tcpType}` : ''}`;
}

/** The 200 answer body of an ICE restart (RFC 9725 section 4.3.2): new credentials and candidates. */
export function writeRestartFrag(
  ice: { usernameFragment: string; password: string },
  candidates: string[],
  first: { mid: string; kind: string },
  bundleMids: string[],
): string {
  return `${[
    'a=ice-lite',
    `a=ice-ufrag:${ice.usernameFragment}`,
    `a=ice-pwd:${ice.password}`,
    `a=group:BUNDLE ${bundleMids.join(' ')}`,
    `m=${first.kind} 9 UDP/TLS/RTP/SAVPF 0`,
    `a=mid:${first.mid}`,
    ...candidates.map((c) => `a=${c}`),
    'a=end-of-candidates',
  ].join('\r\n')}\r\n`;
}
