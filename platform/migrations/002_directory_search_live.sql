-- Partial indexes over live streams only: the directory's main questions (what is live, in this
-- category or language, matching this search) then read a few thousand index entries, never the
-- history of ended streams (a million rows in the bench). The queries name `s.live` literally
-- (not as a parameter) so that the planner can match these predicates.
CREATE INDEX streams_live_search_doc_idx ON streams USING gin (search_doc) WHERE live;
CREATE INDEX streams_live_search_text_idx ON streams USING gin (search_text gin_trgm_ops) WHERE live;
CREATE INDEX streams_live_category_viewers_idx ON streams (lower(category), viewer_count DESC, id DESC) WHERE live;
CREATE INDEX streams_live_language_viewers_idx ON streams (language, viewer_count DESC, id DESC) WHERE live;
