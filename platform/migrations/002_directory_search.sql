-- The directory's search document: what `GET /api/streams?q=` matches and ranks, kept on each stream
-- row by triggers (a generated column cannot read the owner's username from users).
--   search_doc:  tsvector, 'simple' config (no stemming, no stop words: titles are in any language),
--                weighted tags A > title B > category C > owner name D, for prefix matches and ts_rank.
--   search_text: lower-cased plain text of the same fields, for pg_trgm word similarity (typos).
-- Both have GIN indexes, so a search never reads rows that do not match.
ALTER TABLE streams ADD COLUMN search_doc tsvector NOT NULL DEFAULT ''::tsvector;
ALTER TABLE streams ADD COLUMN search_text text NOT NULL DEFAULT '';

CREATE FUNCTION streams_search_document() RETURNS trigger LANGUAGE plpgsql AS $$
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
  NEW.search_text := lower(NEW.title || ' ' || tag_text || ' ' || NEW.category || ' ' || owner_name);
  RETURN NEW;
END
$$;

CREATE TRIGGER streams_search_document BEFORE INSERT OR UPDATE OF title, tags, category, owner_id ON streams
  FOR EACH ROW EXECUTE FUNCTION streams_search_document();

-- A renamed user's streams are found by the new name (the API cannot rename yet; the database can).
CREATE FUNCTION users_rename_streams() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE streams SET owner_id = owner_id WHERE owner_id = NEW.id;
  RETURN NULL;
END
$$;

CREATE TRIGGER users_rename_streams AFTER UPDATE OF username ON users
  FOR EACH ROW WHEN (OLD.username IS DISTINCT FROM NEW.username) EXECUTE FUNCTION users_rename_streams();

-- Streams created before this migration.
UPDATE streams SET owner_id = owner_id;

CREATE INDEX streams_search_doc_idx ON streams USING gin (search_doc);
CREATE INDEX streams_search_text_idx ON streams USING gin (search_text gin_trgm_ops);
-- Filters that would otherwise read the whole table in viewer order when few rows match.
CREATE INDEX streams_category_viewers_idx ON streams (lower(category), viewer_count DESC, id DESC);
CREATE INDEX streams_language_viewers_idx ON streams (language, viewer_count DESC, id DESC);
