// A Fastify app with the stream routes (and, on request, the auth routes) over one test database,
// built from streamFixtures: what an HTTP test of streams and the directory talks to with inject().
// Owns the app and the directory's cache and closes both; never closes the database.
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { createLogger, type Database, MemoryDirectoryStore, StreamDirectory } from '@onair/platform';
import { registerAuthRoutes } from '../../signaling/src/http/auth-routes.js';
import { installErrorHandler } from '../../signaling/src/http/error-handler.js';
import { playbackUrlsFor, registerStreamRoutes } from '../../signaling/src/http/stream-routes.js';
import { streamFixtures } from './stream-fixtures.js';

export const TEST_BASE_URL = 'https://onair.test';

export async function streamRoutesApp(db: Database, opts: { authRoutes?: boolean; directoryPageTtlMs?: number } = {}) {
  const fixtures = await streamFixtures(db);
  const { accounts, catalog, moderators, listing } = fixtures;
  const directory = new StreamDirectory(
    catalog,
    listing,
    new MemoryDirectoryStore(),
    opts.directoryPageTtlMs === undefined ? undefined : { pageTtlMs: opts.directoryPageTtlMs },
  );
  const app: FastifyInstance = Fastify({ logger: false });
  installErrorHandler(app, createLogger('silent'));
  if (opts.authRoutes) registerAuthRoutes(app, { accounts });
  registerStreamRoutes(app, { accounts, streams: catalog, moderators, directory, urls: playbackUrlsFor(TEST_BASE_URL) });
  await app.ready();
  return {
    ...fixtures,
    app,
    directory,
    close: async () => {
      directory.close();
      await app.close();
    },
  };
}

/** The response is the API's error shape with this status and code, and a message a person can read. */
export function expectApiError(res: LightMyRequestResponse, status: number, code: string): void {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.json();
  expect(body).toEqual({ error: { code, message: expect.any(String) } });
  expect(body.error.message.length).toBeGreaterThan(0);
}
