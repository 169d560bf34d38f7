-- Why a stream's last broadcast ended (the media plane's reason code, e.g. publisher_timeout or
-- unsupported_codec), shown to its owner on the dashboard; NULL while live or before any broadcast.
ALTER TABLE streams ADD COLUMN ended_reason text;
