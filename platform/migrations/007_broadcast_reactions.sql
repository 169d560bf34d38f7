-- Reaction bursts of recorded broadcasts, for chat replay: reactions are never stored one by one
-- (they are counted per window on the bus), so the recording node keeps their counts per second.
CREATE TABLE broadcast_reactions (
  broadcast_id text COLLATE "C" NOT NULL REFERENCES broadcasts (id) ON DELETE CASCADE,
  -- the second the reactions were counted in, as epoch milliseconds (a multiple of 1000)
  at_ms        bigint NOT NULL,
  emoji        text NOT NULL,
  count        integer NOT NULL CHECK (count > 0),
  PRIMARY KEY (broadcast_id, at_ms, emoji)
);
