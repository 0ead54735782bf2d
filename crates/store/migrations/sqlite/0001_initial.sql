-- jiuzhu store, SQLite. Money is integer fen; dates are ISO text (YYYY-MM-DD); instants are
-- Unix seconds; flags are 0/1. Personal fields are sealed bytes (crate privacy) with a
-- keyed blind index for look-up; region codes, household ids and codes stay in clear for
-- scoping and dashboards.
--
-- Region filters are `region_code LIKE '<digits>%'`. SQLite's LIKE ignores ASCII case, so it
-- can use only an index of NOCASE collation: the region indexes are declared so (region codes
-- are digits, where the two collations agree).

CREATE TABLE data_keys (
    id          INTEGER PRIMARY KEY,
    purpose     TEXT NOT NULL,
    algorithm   TEXT NOT NULL,
    wrapped     BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE households (
    household_id TEXT PRIMARY KEY,
    region_code  TEXT NOT NULL,
    members      INTEGER NOT NULL
);
CREATE INDEX households_region ON households (region_code COLLATE NOCASE);

CREATE TABLE persons (
    id_index      BLOB PRIMARY KEY,
    id_sealed     BLOB NOT NULL,
    name_sealed   BLOB NOT NULL,
    address_sealed BLOB,
    household_id  TEXT NOT NULL,
    region_code   TEXT NOT NULL,
    relation      TEXT NOT NULL,
    gender        TEXT NOT NULL,
    birth_year    INTEGER NOT NULL,
    status        TEXT NOT NULL,
    status_date   TEXT,
    spouse_index  BLOB,
    father_index  BLOB,
    mother_index  BLOB
);
CREATE INDEX persons_region ON persons (region_code COLLATE NOCASE);
CREATE INDEX persons_household ON persons (household_id);

CREATE TABLE runs (
    run_id      TEXT PRIMARY KEY,
    as_of       TEXT NOT NULL,
    policy      TEXT NOT NULL,
    loaded_at   INTEGER NOT NULL,
    households  INTEGER NOT NULL,
    warnings    INTEGER NOT NULL
);

CREATE TABLE profiles (
    run_id            TEXT NOT NULL REFERENCES runs (run_id),
    household_id      TEXT NOT NULL,
    region_code       TEXT NOT NULL,
    size              INTEGER NOT NULL,
    tekun_members     INTEGER NOT NULL,
    per_capita_income INTEGER NOT NULL,
    tier              TEXT NOT NULL,
    dibao_amount      INTEGER NOT NULL,
    score             INTEGER NOT NULL,
    level             TEXT NOT NULL,
    tags              TEXT NOT NULL,
    explanation       TEXT NOT NULL,
    PRIMARY KEY (run_id, household_id)
);
CREATE INDEX profiles_region ON profiles (region_code COLLATE NOCASE);
CREATE INDEX profiles_household ON profiles (household_id);

CREATE TABLE person_results (
    run_id        TEXT NOT NULL REFERENCES runs (run_id),
    seq           INTEGER NOT NULL,
    household_id  TEXT NOT NULL,
    region_code   TEXT NOT NULL,
    person_index  BLOB NOT NULL,
    person_sealed BLOB NOT NULL,
    status        TEXT NOT NULL,
    amount        INTEGER NOT NULL,
    care_level    TEXT,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX person_results_household ON person_results (household_id, run_id);
CREATE INDEX person_results_region ON person_results (region_code COLLATE NOCASE);

CREATE TABLE anomalies (
    run_id        TEXT NOT NULL REFERENCES runs (run_id),
    seq           INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    program       TEXT NOT NULL,
    household_id  TEXT NOT NULL,
    region_code   TEXT NOT NULL,
    person_index  BLOB,
    person_sealed BLOB,
    reasons       TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX anomalies_household ON anomalies (household_id, run_id);
CREATE INDEX anomalies_region ON anomalies (region_code COLLATE NOCASE);

CREATE TABLE warnings (
    run_id        TEXT NOT NULL REFERENCES runs (run_id),
    seq           INTEGER NOT NULL,
    household_id  TEXT NOT NULL,
    region_code   TEXT NOT NULL,
    person_index  BLOB,
    person_sealed BLOB,
    signal        TEXT NOT NULL,
    level         TEXT NOT NULL,
    detected_at   TEXT NOT NULL,
    task_id       INTEGER,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX warnings_household ON warnings (household_id, run_id);
CREATE INDEX warnings_region ON warnings (region_code COLLATE NOCASE);

CREATE TABLE recommendations (
    run_id        TEXT NOT NULL REFERENCES runs (run_id),
    seq           INTEGER NOT NULL,
    household_id  TEXT NOT NULL,
    region_code   TEXT NOT NULL,
    kind          TEXT NOT NULL,
    item          TEXT NOT NULL,
    amount        INTEGER,
    reason        TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX recommendations_household ON recommendations (household_id, run_id);

CREATE TABLE users (
    user_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT NOT NULL UNIQUE,
    roles         TEXT NOT NULL,
    region_prefix TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);
CREATE INDEX users_region ON users (region_prefix COLLATE NOCASE);

CREATE TABLE tasks (
    task_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    household_id  TEXT NOT NULL,
    region_code   TEXT NOT NULL,
    signal        TEXT NOT NULL,
    level         TEXT NOT NULL,
    person_index  BLOB,
    run_id        TEXT NOT NULL REFERENCES runs (run_id),
    state         TEXT NOT NULL,
    assignee      INTEGER REFERENCES users (user_id),
    due_date      TEXT NOT NULL,
    created_on    TEXT NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX tasks_region ON tasks (region_code COLLATE NOCASE);
CREATE INDEX tasks_assignee ON tasks (assignee, state);
CREATE INDEX tasks_household ON tasks (household_id, signal, state);

CREATE TABLE task_history (
    task_id     INTEGER NOT NULL REFERENCES tasks (task_id),
    seq         INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    actor       INTEGER NOT NULL,
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    action      TEXT NOT NULL,
    note_sealed BLOB,
    PRIMARY KEY (task_id, seq)
);

CREATE TABLE decisions (
    decision_id    INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id        INTEGER NOT NULL REFERENCES tasks (task_id),
    household_id   TEXT NOT NULL,
    region_code    TEXT NOT NULL,
    decided_by     INTEGER NOT NULL REFERENCES users (user_id),
    decided_at     INTEGER NOT NULL,
    outcome        TEXT NOT NULL,
    reason_sealed  BLOB NOT NULL,
    package_items  TEXT NOT NULL
);
CREATE INDEX decisions_task ON decisions (task_id);
CREATE INDEX decisions_region ON decisions (region_code COLLATE NOCASE);

CREATE TABLE sessions (
    token_hash  BLOB PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (user_id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE login_attempts (
    username   TEXT NOT NULL,
    at         INTEGER NOT NULL,
    succeeded  INTEGER NOT NULL
);
CREATE INDEX login_attempts_username ON login_attempts (username, at);
