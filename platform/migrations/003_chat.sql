-- The real-time channel's durable state: recent chat history (for GET /api/streams/{id}/chat and
-- late joiners), bans and timeouts, and per-stream chat settings. Messages are written in batches
-- by the node that accepted them; deletion keeps the row (for moderation records) but hides it.
CREATE TABLE chat_messages (
  id          text COLLATE "C" PRIMARY KEY,
  stream_id   text COLLATE "C" NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
  user_id     uuid NOT NULL,
  username    text NOT NULL,
  body        text NOT NULL,
  sent_at_ms  bigint NOT NULL,
  deleted     boolean NOT NULL DEFAULT false
);
CREATE INDEX chat_messages_recent ON chat_messages (stream_id, sent_at_ms DESC, id DESC);

CREATE TABLE chat_bans (
  stream_id   text COLLATE "C" NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  -- NULL: permanent; otherwise a timeout ending then
  until_ms    bigint,
  reason      text NOT NULL DEFAULT '',
  banned_by   uuid,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (stream_id, user_id)
);

CREATE TABLE chat_settings (
  stream_id          text COLLATE "C" PRIMARY KEY REFERENCES streams (id) ON DELETE CASCADE,
  slow_mode_seconds  integer NOT NULL DEFAULT 0 CHECK (slow_mode_seconds >= 0),
  blocked_terms      text[] NOT NULL DEFAULT '{}',
  updated_at         timestamptz NOT NULL DEFAULT now()
);
