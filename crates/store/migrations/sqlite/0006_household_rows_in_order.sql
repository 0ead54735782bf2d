-- A household's rows of one run, in their order, from the index alone. Without `seq` in these
-- indexes SQLite preferred the primary key (run_id, seq) for `ORDER BY seq` and read the whole
-- run to find one household's rows (tens of milliseconds per profile at a million persons).
DROP INDEX person_results_household;
CREATE INDEX person_results_household ON person_results (household_id, run_id, seq);
DROP INDEX anomalies_household;
CREATE INDEX anomalies_household ON anomalies (household_id, run_id, seq);
DROP INDEX warnings_household;
CREATE INDEX warnings_household ON warnings (household_id, run_id, seq);
DROP INDEX recommendations_household;
CREATE INDEX recommendations_household ON recommendations (household_id, run_id, seq);
