// The one error type the SDK throws for a failed request: the HTTP status plus the stable `code` and
// human `message` of the server's JSON error body (`{ error: { code, message } }`). Callers branch on
// `code` (e.g. `stream_offline`), never on `message`. Network failures have status 0.

export class OnAirError extends Error {
  override readonly name = 'OnAirError';

  constructor(
    /** HTTP status, or 0 when no response arrived (network error, aborted request). */
    readonly status: number,
    /** Stable snake_case code from the server, or one of the SDK's own (`network_error`, `http_<status>`). */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const isOnAirError = (err: unknown): err is OnAirError => err instanceof OnAirError;

/** Builds the error for a non-2xx response from its JSON body, falling back to the status line. */
export async function errorFromResponse(res: Response): Promise<OnAirError> {
  let code = `http_${res.status}`;
  let message = `${res.status} ${res.statusText}`.trim();
  try {
    const body: unknown = await res.json();
    const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    if (typeof error?.code === 'string') code = error.code;
    if (typeof error?.message === 'string') message = error.message;
  } catch {
    // Not JSON (a proxy's HTML page, an empty body): keep the status line.
  }
  return new OnAirError(res.status, code, message);
}

/** `fetch` that turns a failure to get any response into an OnAirError with status 0. */
export async function request(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    if ((err as Error)?.name === 'AbortError') throw new OnAirError(0, 'aborted', 'the request was aborted');
    throw new OnAirError(0, 'network_error', `could not reach ${url}: ${(err as Error)?.message ?? String(err)}`);
  }
}
