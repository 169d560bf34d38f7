import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// Tests import workspace packages from source, so `npm test` needs no prior build of them
// (the web app's production build is the exception: browser tests serve web/dist).
export default defineConfig({
  resolve: {
    alias: [
      // proto is generated code (npm run build -w proto, run by postinstall), not src/
      { find: /^@onair\/proto$/, replacement: here('./proto/index.js') },
      { find: /^@onair\/([a-z-]+)$/, replacement: here('./$1/src/index.ts') },
    ],
  },
  test: {
    include: ['*/test/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'web/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
    globalSetup: ['test/support/build-web.ts'],
  },
});
