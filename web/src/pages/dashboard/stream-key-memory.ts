// Stream keys the server showed in this page's lifetime (at creation or rotation), kept in memory
// only: never in localStorage, sessionStorage or cookies, so a key cannot outlive the tab or leak to
// another user of the browser. The server stores keys hashed and cannot show one again; after a
// reload the dashboard offers a new key (rotation) instead. Cleared on sign-out.
import { onAuthChange } from '../../session.js';

const keys = new Map<string, string>();
onAuthChange(() => keys.clear());

export function rememberStreamKey(streamId: string, key: string): void {
  keys.set(streamId, key);
}

export function knownStreamKey(streamId: string): string | undefined {
  return keys.get(streamId);
}
