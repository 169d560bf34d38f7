// The HTTP half of WHIP (RFC 9725) and WHEP, which share it: POST an SDP offer and get back the
// answer plus the session resource (`Location`, resolved against the endpoint, and its `ETag`);
// PATCH that resource with trickle-ice-sdpfrag; DELETE it to end the session. Knows nothing about
// RTCPeerConnection and never retries on its own.
import { errorFromResponse, OnAirError, request } from './errors.js';

export interface SdpExchange {
  answer: string;
  session: SessionResource;
}

/**
 * POSTs `offer` to a WHIP or WHEP endpoint. `token` is sent as a Bearer credential (the stream key for
 * WHIP). Resolves on 201 with the answer; any other outcome rejects with an OnAirError.
 */
export async function postOffer(endpoint: string, offer: string, token?: string): Promise<SdpExchange> {
  const headers: Record<string, string> = { 'content-type': 'application/sdp', accept: 'application/sdp' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await request(endpoint, { method: 'POST', headers, body: offer });
  if (!res.ok) throw await errorFromResponse(res);
  const location = res.headers.get('location');
  if (!location) throw new OnAirError(res.status, 'missing_location', 'the server answered without a Location header');
  const answer = await res.text();
  if (!answer.startsWith('v=0')) throw new OnAirError(res.status, 'bad_answer', 'the server answered without an SDP body');
  // After a 307 to another node, res.url is where the session lives; Location is relative to it.
  const base = res.url || new URL(endpoint, globalThis.location?.href).href;
  const session = new SessionResource(new URL(location, base).href, res.headers.get('etag') ?? undefined, token);
  return { answer, session };
}

/** The session resource a WHIP/WHEP POST created. */
export class SessionResource {
  private deleted = false;

  constructor(
    readonly url: string,
    /** Entity tag of the ICE session; sent as If-Match with PATCH and updated by ICE restarts. */
    public etag: string | undefined,
    private readonly token: string | undefined,
  ) {}

  /** Sends trickled candidates (an RFC 8840 fragment). A server without trickle support is not an error. */
  async patch(fragment: string): Promise<void> {
    if (this.deleted) return;
    const headers = this.headers({ 'content-type': 'application/trickle-ice-sdpfrag' });
    if (this.etag) headers['if-match'] = this.etag;
    const res = await request(this.url, { method: 'PATCH', headers, body: fragment });
    if (res.status === 405 || res.status === 501) return;
    if (!res.ok) throw await errorFromResponse(res);
    const etag = res.headers.get('etag');
    if (etag) this.etag = etag;
  }

  /** Ends the session on the server, once. A session the server already forgot (404) counts as ended. */
  async delete(): Promise<void> {
    if (this.deleted) return;
    this.deleted = true;
    const res = await request(this.url, { method: 'DELETE', headers: this.headers({}), keepalive: true });
    if (!res.ok && res.status !== 404) throw await errorFromResponse(res);
  }

  private headers(extra: Record<string, string>): Record<string, string> {
    return this.token ? { ...extra, authorization: `Bearer ${this.token}` } : extra;
  }
}
