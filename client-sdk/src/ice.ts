// ICE on the client side: wait (briefly) for candidate gathering so the offer carries the candidates,
// and trickle whatever arrives later to the session with PATCH (RFC 8840 fragments). The server is
// ICE-lite and lists all its own candidates in the answer, so nothing ever trickles the other way.
import type { SessionResource } from './sdp-exchange.js';

/** Resolves true once gathering completes, or false when `timeoutMs` passes first. */
export function waitForIceGathering(pc: RTCPeerConnection, timeoutMs: number): Promise<boolean> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (complete: boolean) => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', onChange);
      resolve(complete);
    };
    const onChange = () => {
      if (pc.iceGatheringState === 'complete') done(true);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    pc.addEventListener('icegatheringstatechange', onChange);
  });
}

/**
 * Sends the candidates missing from `sentOffer` (gathered after it was POSTed) to the session, then
 * end-of-candidates when gathering completes. Call right after the answer is applied.
 * Returns a function that stops listening.
 */
export function trickleLateCandidates(
  pc: RTCPeerConnection,
  sentOffer: string,
  session: SessionResource,
  onError: (err: unknown) => void,
): () => void {
  const sent = new Set(candidateLines(sentOffer));
  let queue: Promise<void> = Promise.resolve();
  const send = (candidates: string[], end: boolean) => {
    const fragment = sdpFragment(pc, candidates, end);
    if (!fragment) return;
    queue = queue.then(() => session.patch(fragment)).catch(onError);
  };
  const pending = (pc.localDescription ? candidateLines(pc.localDescription.sdp) : []).filter((c) => !sent.has(c));
  pending.forEach((c) => sent.add(c));
  if (pc.iceGatheringState === 'complete') {
    send(pending, true);
    return () => {};
  }
  if (pending.length) send(pending, false);
  const onCandidate = (ev: RTCPeerConnectionIceEvent) => {
    if (!ev.candidate) {
      send([], true);
      stop();
      return;
    }
    const line = `a=${ev.candidate.candidate}`;
    if (!ev.candidate.candidate || sent.has(line)) return;
    sent.add(line);
    send([line], false);
  };
  const stop = () => pc.removeEventListener('icecandidate', onCandidate);
  pc.addEventListener('icecandidate', onCandidate);
  return stop;
}

function candidateLines(sdp: string): string[] {
  return sdp.split(/\r?\n/).filter((l) => l.startsWith('a=candidate:'));
}

/**
 * An RFC 8840 fragment for the first (bundled) m-section: the ICE credentials, the candidates and
 * optionally end-of-candidates. Null when there is nothing to say.
 */
function sdpFragment(pc: RTCPeerConnection, candidates: string[], end: boolean): string | null {
  if (!candidates.length && !end) return null;
  const local = pc.localDescription?.sdp ?? '';
  const ufrag = /^a=ice-ufrag:(.+)$/m.exec(local)?.[1]?.trim();
  const pwd = /^a=ice-pwd:(.+)$/m.exec(local)?.[1]?.trim();
  const mLine = /^m=(\w+) /m.exec(local)?.[1] ?? 'audio';
  const mid = /^a=mid:(.+)$/m.exec(local)?.[1]?.trim() ?? '0';
  const lines = [
    ...(ufrag ? [`a=ice-ufrag:${ufrag}`] : []),
    ...(pwd ? [`a=ice-pwd:${pwd}`] : []),
    `m=${mLine} 9 UDP/TLS/RTP/SAVPF 0`,
    `a=mid:${mid}`,
    ...candidates,
    ...(end ? ['a=end-of-candidates'] : []),
  ];
  return `${lines.join('\r\n')}\r\n`;
}
