// The reactions a viewer may send: a fixed allow-list, so reaction counts stay a small map and
// nobody can smuggle text through the reaction channel.
export const ALLOWED_REACTIONS: readonly string[] = ['❤️', '😂', '🔥', '👏', '😮', '😢', '🎉', '👍', '💯', '🚀'];

const allowed = new Set(ALLOWED_REACTIONS);

export function isAllowedReaction(emoji: string): boolean {
  return allowed.has(emoji);
}
