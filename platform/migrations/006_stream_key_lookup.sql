-- RTMP and SRT publishers present only a stream key (no stream id): find the stream by the key's
-- hash. Not UNIQUE: fixtures and benches insert placeholder hashes; real keys are 32 random bytes.
CREATE INDEX IF NOT EXISTS streams_stream_key_hash_idx ON streams (stream_key_hash);
