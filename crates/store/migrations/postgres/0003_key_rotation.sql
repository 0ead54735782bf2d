-- Rotation of the field-encryption key: one row per rotation, named by the new key's id. The
-- re-sealing works through the tables with sealed fields in a fixed order (`stage`), in
-- batches ordered by each table's key; `after_key` is the key of the last row done in the
-- current stage, written in the same transaction as the batch, so a rotation killed at any
-- moment resumes where its last batch committed.
CREATE TABLE key_rotations (
    key_id      BIGINT PRIMARY KEY,
    started_at  BIGINT NOT NULL,
    stage       BIGINT NOT NULL,
    after_key   TEXT NOT NULL,
    resealed    BIGINT NOT NULL,
    finished_at BIGINT
);
