// What the browser remembers between visits, in localStorage: the signed-in user's token and the
// stream they created last (its key is shown by the server only once, at creation). Nothing else
// reads or writes these keys; sign-in and sign-out are announced with onAuthChange.
import { api, type AuthSession, type OnAirApi, type OwnedStream } from '@onair/client-sdk';

const AUTH_KEY = 'onair.auth';
const STREAM_KEY = 'onair.stream';

export function loadAuth(): AuthSession | undefined {
  return read<AuthSession>(AUTH_KEY, (v) => typeof v.token === 'string' && typeof v.user?.id !== 'undefined');
}

export function saveAuth(auth: AuthSession): void {
  localStorage.setItem(AUTH_KEY, JSON.stringify(auth));
  authChanged();
}

export function clearAuth(): void {
  localStorage.removeItem(AUTH_KEY);
  localStorage.removeItem(STREAM_KEY);
  authChanged();
}

const AUTH_EVENT = 'onair:auth';

function authChanged(): void {
  window.dispatchEvent(new Event(AUTH_EVENT));
}

/** Calls `fn` whenever the user signs in or out (in this tab). Returns an unsubscribe. */
export function onAuthChange(fn: () => void): () => void {
  window.addEventListener(AUTH_EVENT, fn);
  return () => window.removeEventListener(AUTH_EVENT, fn);
}

/** The user's last created stream, if it belongs to `userId`. */
export function loadOwnedStream(userId: string): OwnedStream | undefined {
  const stream = read<OwnedStream>(STREAM_KEY, (v) => typeof v.id === 'string' && typeof v.streamKey === 'string');
  return stream && String(stream.ownerId) === String(userId) ? stream : undefined;
}

export function saveOwnedStream(stream: OwnedStream): void {
  localStorage.setItem(STREAM_KEY, JSON.stringify(stream));
}

export function forgetOwnedStream(): void {
  localStorage.removeItem(STREAM_KEY);
}

/** The API client for this origin, signed in when a token is stored. */
export function client(): OnAirApi {
  return api(location.origin, loadAuth()?.token);
}

function read<T>(key: string, valid: (v: T) => boolean): T | undefined {
  try {
    const value = JSON.parse(localStorage.getItem(key) ?? 'null') as T | null;
    return value && valid(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
