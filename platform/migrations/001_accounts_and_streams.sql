-- Accounts, the stream catalog, per-stream moderators and node-shared secrets.
-- pg_trgm is for the directory's typo-tolerant search (bundled with PGlite, in contrib on PostgreSQL).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE users (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  username      text NOT NULL,
  -- lower(username): makes names unique regardless of case, like citext but portable
  username_key  text NOT NULL UNIQUE,
  password_hash text NOT NULL,
  role          text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  CHECK (username_key = lower(username))
);

CREATE TABLE streams (
  -- COLLATE "C": ids are compared bytewise, so keyset pagination is cheap and the same everywhere
  id              text COLLATE "C" PRIMARY KEY,
  owner_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  title           text NOT NULL,
  tags            text[] NOT NULL DEFAULT '{}',
  category        text NOT NULL DEFAULT '',
  language        text NOT NULL DEFAULT 'en',
  -- sha256 hex of the stream key; the key itself is never stored
  stream_key_hash text NOT NULL,
  live            boolean NOT NULL DEFAULT false,
  started_at      timestamptz,
  ended_at        timestamptz,
  viewer_count    integer NOT NULL DEFAULT 0 CHECK (viewer_count >= 0),
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX streams_live_viewers_idx ON streams (live, viewer_count DESC, id DESC);
CREATE INDEX streams_viewers_idx ON streams (viewer_count DESC, id DESC);
CREATE INDEX streams_recent_idx ON streams ((coalesce(started_at, created_at)) DESC, id DESC);
CREATE INDEX streams_owner_idx ON streams (owner_id);
CREATE INDEX streams_tags_idx ON streams USING gin (tags);

CREATE TABLE stream_moderators (
  stream_id  text COLLATE "C" NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (stream_id, user_id)
);
CREATE INDEX stream_moderators_user_idx ON stream_moderators (user_id);

CREATE TABLE app_secrets (
  name  text PRIMARY KEY,
  value text NOT NULL
);
