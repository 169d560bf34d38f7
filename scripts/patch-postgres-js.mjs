// Patches postgres.js 3.4.9 (run by the root postinstall). On every new connection postgres.js
// fetches the server's array types with an internal query that nothing awaits (connection.js:
// `return fetchArrayTypes()`); when the connection is lost during that query (a PostgreSQL restart,
// pg_terminate_backend, a network cut) its rejection is unhandled, and Node ends the process. The
// patch hands that failure to the connection's own error path (`errored`), which fails the statement
// waiting for the connection, so the adapter sees an ordinary connection loss (503) and retires it.
// Idempotent; fails loudly if postgres.js changed so the patch no longer applies.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../node_modules/postgres/', import.meta.url));
const UNPATCHED = 'return fetchArrayTypes()\n';
const PATCHED = 'return fetchArrayTypes().catch(errored) // patched by OnAir: scripts/patch-postgres-js.mjs\n';

if (!existsSync(root)) {
  console.log('patch-postgres-js: postgres is not installed yet; skipping');
  process.exit(0);
}
for (const file of ['src/connection.js', 'cjs/src/connection.js', 'cf/src/connection.js']) {
  const path = root + file;
  if (!existsSync(path)) continue;
  const text = readFileSync(path, 'utf8');
  if (text.includes(PATCHED)) continue;
  if (!text.includes(UNPATCHED)) {
    console.error(`patch-postgres-js: ${file} has no "${UNPATCHED.trim()}": postgres.js changed; review the patch`);
    process.exit(1);
  }
  writeFileSync(path, text.replace(UNPATCHED, PATCHED));
  console.log(`patch-postgres-js: patched ${file}`);
}
