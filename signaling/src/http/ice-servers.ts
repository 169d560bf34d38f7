// The ICE servers a WHIP/WHEP client is told about (the `Link: rel="ice-server"` header): the static
// ICE_SERVERS, plus, when TURN_SECRET is set, TURN servers with credentials minted per request by
// the TURN REST API scheme coturn implements (`use-auth-secret`): username `<expiry unix time>:onair`,
// password base64(HMAC-SHA1(secret, username)). A credential dies at its expiry, so one handed to
// an anonymous client cannot be reused as a free relay for long; the secret never leaves the node.
import { createHmac } from 'node:crypto';
import type { IceServer } from '@onair/platform';

export interface TurnRestConfig {
  urls: string[];
  secret: string;
  ttlSeconds: number;
}

export class IceServerSource {
  constructor(
    private readonly fixed: IceServer[],
    private readonly turn: TurnRestConfig | undefined,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** The servers for one client now. */
  current(): IceServer[] {
    if (!this.turn || this.turn.urls.length === 0) return this.fixed;
    const expiry = Math.floor(this.nowMs() / 1000) + this.turn.ttlSeconds;
    const username = `${expiry}:onair`;
    const credential = createHmac('sha1', this.turn.secret).update(username).digest('base64');
    return [...this.fixed, { urls: this.turn.urls, username, credential }];
  }
}
