// Structured logging: one JSON line per event (pino), with streamId/userId as fields where relevant.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, name = 'onair'): Logger {
  return pino({ name, level, base: { pid: process.pid } });
}
