// Structured logging: one JSON line per event (pino), with streamId/userId as fields where relevant.
// Secrets never reach a log line: fields named like secrets (password, token, streamKey, secret,
// authorization, cookie) are censored wherever they sit in the first two levels, and credentials in
// URLs (`redis://user:pass@host`, `?token=…`) are masked in every string field, in messages and in
// errors' messages and stacks (a driver's connection error quotes its URL).
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

const CREDENTIALS_IN_URL = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:@/]*):([^\s@/]+)@/gi;
const SECRET_PARAMS = /([?&](?:token|access_token|key|stream_?key|password|pass|secret|signature)=)[^&\s#"']+/gi;
const REDACTED = '[redacted]';

/** The text with URL credentials and secret query parameters replaced by `[redacted]`. */
export function redactSecrets(text: string): string {
  return text.replace(CREDENTIALS_IN_URL, `$1$2:${REDACTED}@`).replace(SECRET_PARAMS, `$1${REDACTED}`);
}

const SECRET_KEYS = ['password', 'token', 'streamKey', 'secret', 'authorization', 'cookie', 'passphrase'];
const REDACT_PATHS = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
  'headers.authorization',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
];

function scrubFields(obj: Record<string, unknown>): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(obj)) {
    if (typeof v === 'string') {
      const clean = redactSecrets(v);
      if (clean !== v) (copy ??= { ...obj })[k] = clean;
    }
  }
  return copy ?? obj;
}

export function createLogger(level: string, name = 'onair', destination?: DestinationStream): Logger {
  return pino(
    {
      name,
      level,
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      serializers: {
        err: (err: Error) => {
          const s = pino.stdSerializers.err(err);
          return { ...s, message: redactSecrets(s.message), stack: s.stack && redactSecrets(s.stack) };
        },
      },
      hooks: {
        logMethod(args, method) {
          const [first, ...rest] = args as unknown[];
          const scrubbed = [
            first !== null && typeof first === 'object' && !(first instanceof Error)
              ? scrubFields(first as Record<string, unknown>)
              : typeof first === 'string'
                ? redactSecrets(first)
                : first,
            ...rest.map((a) => (typeof a === 'string' ? redactSecrets(a) : a)),
          ];
          return method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
}
