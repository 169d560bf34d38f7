// Response headers that make the browser defend the web app: no MIME sniffing anywhere, a referrer
// that never carries a path to another site, and for HTML pages a Content-Security-Policy that runs
// only the app's own scripts (no inline script, no eval, no plugins) and forbids framing
// (clickjacking). Media and API calls may go to other nodes (an edge's 307, a CDN), so connect-src
// and media-src allow any http(s)/ws(s) origin; what the policy stops is script from anywhere else.
import type { FastifyInstance } from 'fastify';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  // The app sets element styles from script; no inline <style> or style= comes from user content.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob: http: https:",
  "media-src 'self' blob: data: http: https:",
  "connect-src 'self' http: https: ws: wss:",
  // hls.js and dash.js may start their transmuxing workers from blob: URLs.
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function installSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'strict-origin-when-cross-origin');
    if (String(reply.getHeader('content-type') ?? '').startsWith('text/html')) {
      reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
      reply.header('x-frame-options', 'DENY'); // for browsers without frame-ancestors
    }
    return payload;
  });
}
