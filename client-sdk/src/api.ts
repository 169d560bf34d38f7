// A typed client for OnAir's HTTP API (accounts and the stream directory), as in CONTRACT.md. Every
// call is one fetch; failures reject with an OnAirError carrying the server's error code. Holds no
// state beyond the base URL and the token it was made with.
import { errorFromResponse, request } from './errors.js';

export interface User {
  id: string;
  username: string;
}

export interface AuthSession {
  user: User;
  /** Short-lived JWT for `Authorization: Bearer`. */
  token: string;
}

export interface Playback {
  whep: string;
  hls: string;
  dash: string;
}

export interface StreamInput {
  title: string;
  tags?: string[];
  category?: string;
  language?: string;
}

/** A stream as the directory shows it to anyone. */
export interface Stream {
  id: string;
  title: string;
  tags: string[];
  category: string;
  language: string;
  viewerCount: number;
  live: boolean;
  startedAt: string | null;
  playback: Playback;
  ownerId?: string;
  ownerName?: string;
}

/** A stream as its owner sees it right after creating it: with the stream key and the ingest URL. */
export interface OwnedStream {
  id: string;
  title: string;
  tags: string[];
  category: string;
  language: string;
  ownerId: string;
  live: boolean;
  streamKey: string;
  ingest: { whip: string };
}

export interface StreamQuery {
  live?: boolean;
  q?: string;
  tag?: string;
  category?: string;
  language?: string;
  sort?: 'viewers' | 'recent';
  limit?: number;
  cursor?: string;
}

export interface StreamPage {
  items: Stream[];
  nextCursor: string | null;
}

export interface OnAirApi {
  readonly baseUrl: string;
  /** The same client, sending `token` from now on. */
  withToken(token: string | undefined): OnAirApi;
  register(username: string, password: string): Promise<AuthSession>;
  login(username: string, password: string): Promise<AuthSession>;
  me(): Promise<User>;
  createStream(input: StreamInput): Promise<OwnedStream>;
  getStream(id: string): Promise<Stream>;
  listStreams(query?: StreamQuery): Promise<StreamPage>;
}

/** `baseUrl` is the node's origin (e.g. `location.origin`); `token` is a JWT from register/login. */
export function api(baseUrl: string, token?: string): OnAirApi {
  const base = baseUrl.replace(/\/+$/, '');
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await request(base + path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    if (!res.ok) throw await errorFromResponse(res);
    return (await res.json()) as T;
  };
  return {
    baseUrl: base,
    withToken: (next) => api(base, next),
    register: (username, password) => call('POST', '/api/auth/register', { username, password }),
    login: (username, password) => call('POST', '/api/auth/login', { username, password }),
    me: () => call('GET', '/api/me'),
    createStream: (input) => call('POST', '/api/streams', { tags: [], ...input }),
    getStream: (id) => call('GET', `/api/streams/${encodeURIComponent(id)}`),
    listStreams: (query = {}) => call('GET', `/api/streams${queryString(query)}`),
  };
}

function queryString(query: StreamQuery): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}
