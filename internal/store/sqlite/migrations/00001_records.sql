-- +goose Up
CREATE TABLE nubo_meta (
    id INTEGER PRIMARY KEY,
    revision BIGINT NOT NULL,
    compacted BIGINT NOT NULL DEFAULT 0
);
INSERT INTO nubo_meta (id, revision, compacted) VALUES (1, 0, 0);
CREATE TABLE records (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    ref TEXT NOT NULL DEFAULT '',
    rev BIGINT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;
CREATE INDEX records_ref ON records (kind, ref);
CREATE TABLE record_keys (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE INDEX record_keys_id ON record_keys (kind, id);
CREATE TABLE changes (
    rev BIGINT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    deleted BOOLEAN NOT NULL,
    PRIMARY KEY (rev, seq)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE changes;
DROP TABLE record_keys;
DROP TABLE records;
DROP TABLE nubo_meta;
