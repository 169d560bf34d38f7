// A stream as every reader of the `streams` table sees it: the record type, the columns and join
// that read it, and the mapping from a row. Shared by the catalog (one stream, a user's streams) and
// the directory's listing planner (pages of streams), so both return the same record. Never reads a
// stream key's hash, and never runs a query itself.

export interface StreamRecord {
  id: string;
  ownerId: string;
  ownerName: string;
  title: string;
  tags: string[];
  category: string;
  language: string;
  live: boolean;
  startedAt: Date | null;
  endedAt: Date | null;
  /** The media plane's reason code for the end of the last broadcast (null while live or before any). */
  endedReason: string | null;
  viewerCount: number;
  createdAt: Date;
  updatedAt: Date;
}

/** A row read with STREAM_COLUMNS (plus the sort keys a listing adds). */
export interface StreamRow {
  id: string;
  owner_id: string;
  owner_name: string;
  title: string;
  tags: string[];
  category: string;
  language: string;
  live: boolean;
  started_at: Date | null;
  ended_at: Date | null;
  ended_reason: string | null;
  viewer_count: number;
  created_at: Date;
  updated_at: Date;
  sort_us?: string;
  score?: string;
}

export const STREAM_COLUMNS = `s.id, s.owner_id, u.username AS owner_name, s.title, s.tags, s.category, s.language,
  s.live, s.started_at, s.ended_at, s.ended_reason, s.viewer_count, s.created_at, s.updated_at`;
export const STREAM_FROM = 'FROM streams s JOIN users u ON u.id = s.owner_id';

export function toRecord(row: StreamRow): StreamRecord {
  return {
    id: row.id,
    ownerId: row.owner_id,
    ownerName: row.owner_name,
    title: row.title,
    tags: row.tags,
    category: row.category,
    language: row.language,
    live: row.live,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    endedReason: row.ended_reason ?? null,
    viewerCount: row.viewer_count,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
