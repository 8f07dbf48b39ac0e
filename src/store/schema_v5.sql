-- Migration 5 (issue 17): what intake knows about the writers of inbox files.

-- When intake first found a process holding a waiting file open for writing (NULL: none seen
-- since the file last changed), so `status` and the log can say how long an upload has stalled.
ALTER TABLE inbox_sightings ADD COLUMN writer_open_since TEXT;

-- How each sender's inbox tells a finished upload from one still being written, as the last
-- scan that looked at a file found it: `lease` (the kernel), `inotify` (the daemon's events) or
-- `quiet_period` (the clock alone, with the reason the others were unavailable).
CREATE TABLE inbox_writer_detection (
    sender     TEXT PRIMARY KEY,
    method     TEXT NOT NULL CHECK (method = 'lease' OR method = 'inotify' OR method = 'quiet_period'),
    reason     TEXT,
    checked_at TEXT NOT NULL
);
