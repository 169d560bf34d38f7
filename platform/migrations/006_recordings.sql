-- Past broadcasts and clips. A broadcast is one live session of a stream as recorded by the node that
-- encoded its ladder; its media lives in the RecordingStore (files under RECORDINGS_DIR), these rows
-- are its catalog. `heartbeat_at_ms` moves while the recording node writes segments: a row still in
-- state 'recording' whose heartbeat stopped (the node died) reads as 'partial'.
CREATE TABLE broadcasts (
  id              text COLLATE "C" PRIMARY KEY,
  stream_id       text COLLATE "C" NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
  title           text NOT NULL,
  started_at_ms   bigint NOT NULL,
  ended_at_ms     bigint,
  duration_ms     bigint NOT NULL DEFAULT 0,
  bytes           bigint NOT NULL DEFAULT 0,
  state           text NOT NULL CHECK (state IN ('recording', 'complete', 'partial', 'deleted')),
  -- why a recording stopped before its stream did (disk full, write error), else NULL
  stop_reason     text,
  heartbeat_at_ms bigint NOT NULL
);
CREATE INDEX broadcasts_by_stream ON broadcasts (stream_id, started_at_ms DESC, id DESC) WHERE state <> 'deleted';
CREATE INDEX broadcasts_oldest ON broadcasts (started_at_ms) WHERE state <> 'deleted';

CREATE TABLE clips (
  id            text COLLATE "C" PRIMARY KEY,
  broadcast_id  text COLLATE "C" NOT NULL REFERENCES broadcasts (id) ON DELETE CASCADE,
  stream_id     text COLLATE "C" NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
  user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  title         text NOT NULL,
  -- where the clip starts in its broadcast, and its length (whole segments: see docs/api.md)
  start_ms      bigint NOT NULL,
  duration_ms   bigint NOT NULL,
  bytes         bigint NOT NULL,
  created_at_ms bigint NOT NULL
);
CREATE INDEX clips_by_stream ON clips (stream_id, created_at_ms DESC, id DESC);
