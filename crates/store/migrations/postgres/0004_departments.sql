-- Department accounts of the exchange API and what they delivered. An account's API key is
-- stored only as its SM3 hash; `feeds` is the comma-separated list of feeds it may send and
-- `purpose` the declared purpose (a code of the ledger's closed list). Events are idempotent by
-- (account, event_id); their rows hold personal data and are sealed.
CREATE TABLE departments (
    account_id       BIGSERIAL PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,
    key_hash         BYTEA NOT NULL UNIQUE,
    feeds            TEXT NOT NULL,
    purpose          TEXT NOT NULL,
    region_prefix    TEXT NOT NULL,
    rate_per_minute  BIGINT NOT NULL,
    max_upload_bytes BIGINT NOT NULL,
    disabled         BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL
);

CREATE TABLE department_events (
    account_id   BIGINT NOT NULL REFERENCES departments (account_id),
    event_id     TEXT NOT NULL,
    feed         TEXT NOT NULL,
    row_sealed   BYTEA NOT NULL,
    content_hash BYTEA NOT NULL,
    received_at  BIGINT NOT NULL,
    ledger_index BIGINT NOT NULL,
    PRIMARY KEY (account_id, event_id)
);

CREATE TABLE department_batches (
    account_id   BIGINT NOT NULL REFERENCES departments (account_id),
    batch_id     TEXT NOT NULL,
    content_hash BYTEA NOT NULL,
    received_at  BIGINT NOT NULL,
    ledger_index BIGINT NOT NULL,
    PRIMARY KEY (account_id, batch_id)
);
