// Who a raw request comes from, for code that sees Node's IncomingMessage rather than Fastify's
// request (the WebSocket upgrade): the socket's address, or, when the socket is a proxy named in
// TRUST_PROXY, the nearest address in X-Forwarded-For that is not itself a trusted proxy — the same
// rule Fastify applies to req.ip, so both count a client as the same address.
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

const normalise = (address: string) => (address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address);

export function clientAddressOf(trustProxy: readonly string[]): (req: IncomingMessage) => string {
  const trusted = new BlockList();
  for (const entry of trustProxy) {
    const [address, bits] = entry.split('/');
    const family = isIP(address ?? '');
    if (!family) continue;
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) trusted.addAddress(address!, type);
    else trusted.addSubnet(address!, Number(bits), type);
  }
  const isTrusted = (address: string) => {
    const family = isIP(address);
    return family !== 0 && trusted.check(address, family === 6 ? 'ipv6' : 'ipv4');
  };
  return (req) => {
    let address = normalise(req.socket.remoteAddress ?? '');
    if (trustProxy.length === 0 || !isTrusted(address)) return address;
    const header = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
      .split(',')
      .map((h) => normalise(h.trim()))
      .filter(Boolean)
      .reverse();
    for (const hop of hops) {
      address = hop;
      if (!isTrusted(hop)) break;
    }
    return address;
  };
}
