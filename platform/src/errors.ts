// Errors as values with a stable code: domain modules return or throw an AppError, and the HTTP edge
// turns it into `{ error: { code, message } }` with its status. Never carries secrets in `message`.

export type ErrorCode = string;

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const badRequest = (code: ErrorCode, message: string) => new AppError(400, code, message);
export const unauthorized = (code: ErrorCode, message: string) => new AppError(401, code, message);
export const forbidden = (code: ErrorCode, message: string) => new AppError(403, code, message);
export const notFound = (code: ErrorCode, message: string) => new AppError(404, code, message);
export const conflict = (code: ErrorCode, message: string, headers?: Record<string, string>) => new AppError(409, code, message, headers);

export const isAppError = (err: unknown): err is AppError => err instanceof AppError;
