// Lets every consumer carry its viewer's own payload types and header extension ids.
// mediasoup 3.13 gives a consumer the router's numbering and drops every header extension whose id
// differs from the router's; but a WHEP answer must keep the offer's numbering (Chromium decodes
// nothing sent under other payload types), and browsers number extensions differently from
// mediasoup, which would lose transport-cc and with it bandwidth estimation. So this wraps
// mediasoup's consumer-parameter computation: the consumer keeps the router's numbers (the worker
// forwards by them) and gains the viewer's as "onair-remote-pt" / "onair-remote-id" parameters,
// which OnAir's patched worker (scripts/mediasoup-patches/viewer-numbering.cpp) writes into each
// outgoing packet. It must never change what the worker forwards, only how packets are numbered.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { types } from 'mediasoup';

export const REMOTE_PT = 'onair-remote-pt';
export const REMOTE_ID = 'onair-remote-id';

type ConsumerArgs = {
  consumableRtpParameters: types.RtpParameters;
  remoteRtpCapabilities: types.RtpCapabilities;
  pipe: boolean;
  enableRtx: boolean;
};
type Ortc = { getConsumerRtpParameters(args: ConsumerArgs): types.RtpParameters };

let installed = false;

export function installViewerNumbering(): void {
  if (installed) return;
  installed = true;
  const require = createRequire(import.meta.url);
  const ortc = require(join(dirname(require.resolve('mediasoup')), 'ortc.js')) as Ortc;
  const original = ortc.getConsumerRtpParameters;
  ortc.getConsumerRtpParameters = (args) => {
    const remote = args.remoteRtpCapabilities;
    const routerIdByUri = new Map((args.consumableRtpParameters.headerExtensions ?? []).map((h) => [h.uri, h.id]));
    const remoteIdByUri = new Map((remote.headerExtensions ?? []).map((h) => [h.uri, h.preferredId]));
    // Present the viewer's extensions under the router's ids so mediasoup keeps every one both know.
    const adjusted: types.RtpCapabilities = {
      ...remote,
      headerExtensions: (remote.headerExtensions ?? [])
        .filter((h) => routerIdByUri.has(h.uri))
        .map((h) => ({ ...h, preferredId: routerIdByUri.get(h.uri)! })),
    };
    const params = original({ ...args, remoteRtpCapabilities: adjusted });
    for (const ext of params.headerExtensions ?? []) {
      const id = remoteIdByUri.get(ext.uri);
      if (id !== undefined) ext.parameters = { ...(ext.parameters ?? {}), [REMOTE_ID]: id };
    }
    annotateCodecs(params, remote);
    return params;
  };
}

const isRtx = (mimeType: string) => mimeType.toLowerCase().endsWith('/rtx');

function annotateCodecs(params: types.RtpParameters, remote: types.RtpCapabilities): void {
  const remoteCodecs = remote.codecs ?? [];
  const remotePtByRouterPt = new Map<number, number>();
  for (const codec of params.codecs) {
    if (isRtx(codec.mimeType)) continue;
    const match = remoteCodecs.find((r) => !isRtx(r.mimeType) && sameCodec(r, codec));
    if (match?.preferredPayloadType === undefined) continue;
    remotePtByRouterPt.set(codec.payloadType, match.preferredPayloadType);
    codec.parameters = { ...(codec.parameters ?? {}), [REMOTE_PT]: match.preferredPayloadType };
  }
  for (let i = params.codecs.length - 1; i >= 0; i--) {
    const rtx = params.codecs[i]!;
    if (!isRtx(rtx.mimeType)) continue;
    const apt = remotePtByRouterPt.get(Number(rtx.parameters?.apt));
    const match = remoteCodecs.find((r) => isRtx(r.mimeType) && Number(r.parameters?.apt) === apt);
    if (apt !== undefined && match?.preferredPayloadType !== undefined) {
      rtx.parameters = { ...(rtx.parameters ?? {}), [REMOTE_PT]: match.preferredPayloadType };
    } else {
      // The viewer offered no RTX for this codec: retransmit on the media stream itself.
      params.codecs.splice(i, 1);
      for (const e of params.encodings ?? []) delete e.rtx;
    }
  }
}

/** mediasoup has already matched the two strictly; any codec of the same type and profile is it. */
function sameCodec(remote: types.RtpCodecCapability, codec: types.RtpCodecParameters): boolean {
  if (remote.mimeType.toLowerCase() !== codec.mimeType.toLowerCase() || remote.clockRate !== codec.clockRate) return false;
  if ((remote.channels ?? 1) !== (codec.channels ?? 1)) return false;
  const p = (x: Record<string, unknown> | undefined, k: string) => String(x?.[k] ?? '');
  if (codec.mimeType.toLowerCase() === 'video/h264') {
    return (
      p(remote.parameters, 'packetization-mode') === p(codec.parameters, 'packetization-mode') &&
      p(remote.parameters, 'profile-level-id').slice(0, 2).toLowerCase() ===
        p(codec.parameters, 'profile-level-id').slice(0, 2).toLowerCase()
    );
  }
  if (codec.mimeType.toLowerCase() === 'video/vp9') return p(remote.parameters, 'profile-id') === p(codec.parameters, 'profile-id');
  return true;
}

/** The consumer's codecs and extensions in the viewer's numbering, for the WHEP answer. */
export function inViewerNumbering(params: types.RtpParameters): {
  codecs: types.RtpCodecParameters[];
  extensions: { id: number; uri: string }[];
} {
  const ptMap = new Map(params.codecs.map((c) => [c.payloadType, Number(c.parameters?.[REMOTE_PT] ?? c.payloadType)]));
  const codecs = params.codecs.map((c) => {
    const { [REMOTE_PT]: _remote, ...parameters } = (c.parameters ?? {}) as Record<string, unknown>;
    if (isRtx(c.mimeType)) parameters.apt = ptMap.get(Number(parameters.apt)) ?? parameters.apt;
    return { ...c, payloadType: ptMap.get(c.payloadType)!, parameters };
  });
  const extensions = (params.headerExtensions ?? [])
    .filter((h) => h.parameters?.[REMOTE_ID] !== undefined)
    .map((h) => ({ id: Number(h.parameters![REMOTE_ID]), uri: h.uri }));
  return { codecs, extensions };
}
