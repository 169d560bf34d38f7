-- Typo tolerance through a lexicon instead of per-row trigram checks: search_words holds every
-- distinct word of every stream's search document (a few tens of thousands of rows for a million
-- streams), with a trigram index. A query word is expanded to its nearest lexicon words by pg_trgm
-- similarity, then streams are matched with the tsvector GIN index alone: computing word
-- similarity against each candidate stream's text cost ~100 ms per search over 10,000 live streams.
-- Words are never removed (a word of a deleted stream only makes an expansion match nothing).
CREATE TABLE search_words (word text PRIMARY KEY);
-- GiST, not GIN: the nearest words come straight from the index (ORDER BY word <-> q LIMIT n).
CREATE INDEX search_words_trgm_idx ON search_words USING gist (word gist_trgm_ops);

CREATE OR REPLACE FUNCTION streams_search_document() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  owner_name text;
  tag_text text := array_to_string(NEW.tags, ' ');
BEGIN
  SELECT u.username INTO owner_name FROM users u WHERE u.id = NEW.owner_id;
  owner_name := coalesce(owner_name, '');
  NEW.search_doc :=
    setweight(to_tsvector('simple', tag_text), 'A') ||
    setweight(to_tsvector('simple', NEW.title), 'B') ||
    setweight(to_tsvector('simple', NEW.category), 'C') ||
    setweight(to_tsvector('simple', owner_name), 'D');
  IF TG_OP = 'INSERT' OR NEW.search_doc IS DISTINCT FROM OLD.search_doc THEN
    INSERT INTO search_words (word) SELECT unnest(tsvector_to_array(NEW.search_doc)) ON CONFLICT DO NOTHING;
  END IF;
  RETURN NEW;
END
$$;

INSERT INTO search_words (word) SELECT DISTINCT unnest(tsvector_to_array(search_doc)) FROM streams ON CONFLICT DO NOTHING;

DROP INDEX streams_live_search_text_idx;
DROP INDEX streams_search_text_idx;
ALTER TABLE streams DROP COLUMN search_text;
