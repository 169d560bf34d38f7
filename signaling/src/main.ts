// `npm start`: reads the configuration, starts one node and shuts it down cleanly on SIGINT/SIGTERM.
import { ConfigError, createLogger, loadConfig, type Config } from '@onair/platform';
import { startNode } from './node.js';

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
const log = createLogger(config.logLevel);
// A bug reached by one request must not end every stream on the node: log it with its stack and go on.
process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled promise rejection (the node keeps running)'));
process.on('uncaughtException', (err) => log.error({ err }, 'uncaught exception (the node keeps running)'));
const node = await startNode(config, log).catch((err) => {
  log.fatal({ err }, 'OnAir could not start');
  process.exit(1);
});
console.log(
  `\n  OnAir is running at ${node.url}\n  storage: ${node.db.kind}${node.db.kind === 'embedded' ? ` (${config.dataDir ?? 'memory'})` : ''}\n`,
);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log.info({ signal }, 'shutting down');
    node.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
