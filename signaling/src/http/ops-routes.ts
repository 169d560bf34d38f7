// Operations endpoints: liveness, readiness (every dependency answers) and Prometheus metrics, the
// latter behind a bearer token when METRICS_TOKEN is set (they tell an outsider load, streams and
// money flows), compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { AppError } from '@onair/platform';

export interface ReadinessCheck {
  name: string;
  check(): Promise<boolean>;
}

export function registerOpsRoutes(
  app: FastifyInstance,
  deps: { registry: Registry; checks: ReadinessCheck[]; metricsToken?: string | undefined },
): void {
  const expected = deps.metricsToken === undefined ? undefined : digest(deps.metricsToken);
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const results = await Promise.all(
      deps.checks.map(async (c) => [c.name, await withTimeout(c.check(), 2000).catch(() => false)] as const),
    );
    const ready = results.every(([, ok]) => ok);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks: Object.fromEntries(results) });
  });
  app.get('/metrics', async (req, reply) => {
    if (expected) {
      const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (!given || !timingSafeEqual(digest(given), expected)) {
        throw new AppError(401, 'metrics_token_required', 'send the metrics token: Authorization: Bearer <METRICS_TOKEN>', {
          'www-authenticate': 'Bearer realm="metrics"',
        });
      }
    }
    reply.header('Content-Type', deps.registry.contentType);
    return deps.registry.metrics();
  });
}

const digest = (text: string) => createHash('sha256').update(text).digest();

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}
