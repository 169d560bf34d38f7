-- Bounded directory queries over the whole history (1,000,000+ ended streams), where a GIN scan plus
-- ranking of every match, or an ordered scan that filters, can read hundreds of thousands of rows.
--
-- 1. search_postings: one row per (word of a stream's search document, stream). Its index over
--    ended streams is ordered by how the word occurs (tags > title > category > owner name), then
--    by when the stream was last live (or created), newest first. A search over ended streams takes
--    the best few hundred postings of each query word (and of its prefix and typo expansions)
--    straight from that index, and ranks only those candidates; the same over live streams, from
--    an index of their own. Kept by triggers from search_doc, live
--    and started_at, so it follows renames, edits and streams going live or offline (viewer count
--    updates do not touch it).
CREATE TABLE search_postings (
  stream_id text COLLATE "C" NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
  word      text COLLATE "C" NOT NULL,
  -- the best weight the word has in the document: 4 tag, 3 title, 2 category, 1 owner name
  weight    smallint NOT NULL,
  live      boolean NOT NULL,
  -- the stream's sort=recent key: coalesce(started_at, created_at)
  at        timestamptz NOT NULL,
  PRIMARY KEY (stream_id, word)
);
CREATE INDEX search_postings_ended_idx ON search_postings (word, weight DESC, at DESC, stream_id DESC) WHERE NOT live;
CREATE INDEX search_postings_live_idx ON search_postings (word, weight DESC, at DESC, stream_id DESC) WHERE live;

CREATE FUNCTION search_postings_of(doc tsvector) RETURNS TABLE (word text, weight smallint)
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT t.lexeme,
         (SELECT max(CASE w WHEN 'A' THEN 4 WHEN 'B' THEN 3 WHEN 'C' THEN 2 ELSE 1 END) FROM unnest(t.weights) w)::smallint
  FROM unnest(doc) t
$$;

CREATE FUNCTION streams_search_postings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.search_doc IS NOT DISTINCT FROM NEW.search_doc THEN
    UPDATE search_postings SET live = NEW.live, at = coalesce(NEW.started_at, NEW.created_at) WHERE stream_id = NEW.id;
    RETURN NULL;
  END IF;
  IF TG_OP = 'UPDATE' THEN
    DELETE FROM search_postings WHERE stream_id = NEW.id;
  END IF;
  INSERT INTO search_postings (stream_id, word, weight, live, at)
    SELECT NEW.id, p.word, p.weight, NEW.live, coalesce(NEW.started_at, NEW.created_at) FROM search_postings_of(NEW.search_doc) p;
  RETURN NULL;
END
$$;

CREATE TRIGGER streams_search_postings_insert AFTER INSERT ON streams
  FOR EACH ROW EXECUTE FUNCTION streams_search_postings();
CREATE TRIGGER streams_search_postings_update AFTER UPDATE ON streams
  FOR EACH ROW WHEN (OLD.search_doc IS DISTINCT FROM NEW.search_doc OR OLD.live IS DISTINCT FROM NEW.live
                     OR OLD.started_at IS DISTINCT FROM NEW.started_at)
  EXECUTE FUNCTION streams_search_postings();

INSERT INTO search_postings (stream_id, word, weight, live, at)
  SELECT s.id, p.word, p.weight, s.live, coalesce(s.started_at, s.created_at) FROM streams s, search_postings_of(s.search_doc) p;

-- Searches read candidates from the postings only, so the GIN indexes over search documents have no
-- reader left; worse, the planner would combine one (a bitmap of 160,000 rows for a common word)
-- with a small index over live streams.
DROP INDEX streams_search_doc_idx;
DROP INDEX streams_live_search_doc_idx;

-- Prefix expansion of a query word from the vocabulary (a range scan in bytewise order).
CREATE INDEX search_words_prefix_idx ON search_words ((word COLLATE "C"));
-- Typo expansion: the default 12-byte trigram signatures make the GiST index so lossy that a lookup
-- rechecks much of a 20,000-word vocabulary (2-6 ms per query word); 256-byte ones, 0.05-1 ms.
DROP INDEX search_words_trgm_idx;
CREATE INDEX search_words_trgm_idx ON search_words USING gist (word gist_trgm_ops (siglen = 256));

-- 2. filter_keys: every combination of the filters a stream answers to, as one key each
--    ("t:chess", "c:games", "l:en", "t:chess|c:games", "t:chess|c:games|l:en", ...). Two or more
--    filters over the whole history then match through one GIN entry holding exactly the matching
--    streams, instead of an ordered scan that filters (which reads everything when a combination is
--    rare or empty). At most (10 tags + 1) x 2 x 2 - 1 = 43 keys per stream.
CREATE FUNCTION stream_filter_key(tag text, category text, language text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT nullif(concat_ws('|', 't:' || tag, 'c:' || lower(category), 'l:' || language), '')
$$;

CREATE FUNCTION stream_filter_keys(tags text[], category text, language text) RETURNS text[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(k), '{}') FROM (
    SELECT stream_filter_key(t, c, l) AS k
    FROM unnest(tags || ARRAY[NULL::text]) t, unnest(ARRAY[category, NULL]) c, unnest(ARRAY[language, NULL]) l
  ) keys WHERE k IS NOT NULL
$$;

ALTER TABLE streams ADD COLUMN filter_keys text[] GENERATED ALWAYS AS (stream_filter_keys(tags, category, language)) STORED;
ALTER TABLE streams ALTER COLUMN filter_keys SET STATISTICS 1000;
CREATE INDEX streams_filter_keys_idx ON streams USING gin (filter_keys);
-- The tag filter over ended streams goes through filter_keys ("t:chess") too.
DROP INDEX streams_tags_idx;

-- 3. Ordered listings over ended streams filter in the index itself: filter_keys is carried in
--    the index (INCLUDE), so an ordered scan that skips non-matching streams reads compact index
--    pages (an index-only scan), not one heap page of the million-row table per skipped stream.
--    `sort=viewers` lists live streams first (live DESC, viewer_count DESC, id DESC): the ended
--    part is read from the partial index, without skipping the live streams at its top.
CREATE INDEX streams_ended_viewers_idx ON streams (viewer_count DESC, id DESC) INCLUDE (filter_keys) WHERE NOT live;
DROP INDEX streams_recent_idx;
CREATE INDEX streams_recent_idx ON streams ((coalesce(started_at, created_at)) DESC, id DESC)
  INCLUDE (live, filter_keys, viewer_count, started_at, created_at);

-- 4. The tag filter on live streams reads a GIN index over live streams only (the one over all
--    streams holds 100,000+ entries for a common tag, ~15 ms to read for a 10-row answer).
CREATE INDEX streams_live_tags_idx ON streams USING gin (tags) WHERE live;

ANALYZE streams;
ANALYZE search_postings;
