-- What a run read and wrote: its manifest (run.json: the pack's digest and the BLAKE3 of every
-- input and result file; no personal data) and its pack's digest, by which a load notices a
-- policy change. A flagged household's explanation is sealed (its facts can tell income and
-- health); `explanation` keeps 'null' for such rows.
ALTER TABLE runs ADD COLUMN manifest TEXT;
ALTER TABLE runs ADD COLUMN pack_digest TEXT;
ALTER TABLE profiles ADD COLUMN explanation_sealed BYTEA;
