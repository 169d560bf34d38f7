// What the browser remembers between visits, in localStorage: the signed-in user's token, and
// nothing else. A user's streams and their settings come from the server (GET /api/me/streams), and a
// stream key is never written to browser storage (see pages/dashboard/stream-key-memory.ts). Nothing
// else reads or writes this key; sign-in and sign-out are announced with onAuthChange.
import { api, type AuthSession, type OnAirApi } from '@onair/client-sdk';

const AUTH_KEY = 'onair.auth';
/** Where earlier versions kept the last created stream with its key: deleted on sight. */
const LEGACY_STREAM_KEY = 'onair.stream';
localStorage.removeItem(LEGACY_STREAM_KEY);

export function loadAuth(): AuthSession | undefined {
  return read<AuthSession>(AUTH_KEY, (v) => typeof v.token === 'string' && typeof v.user?.id !== 'undefined');
}

export function saveAuth(auth: AuthSession): void {
  localStorage.setItem(AUTH_KEY, JSON.stringify(auth));
  authChanged();
}

export function clearAuth(): void {
  localStorage.removeItem(AUTH_KEY);
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
