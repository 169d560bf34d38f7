-- Revocable sessions: a token carries the user's token_version when it was issued; signing out
-- everywhere or changing the password increments it, and tokens with an older version stop working.
ALTER TABLE users ADD COLUMN token_version integer NOT NULL DEFAULT 0;
