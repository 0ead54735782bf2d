-- The task queue from indexes alone: a caseworker's own tasks (by assignee) and a region's
-- (by state and region), each carrying what the queue filters, sorts and counts on, so that
-- counting a queue and choosing its page read no table rows.
DROP INDEX tasks_assignee;
CREATE INDEX tasks_queue_assignee
    ON tasks (assignee, state, due_date, level, signal, region_code COLLATE NOCASE);
CREATE INDEX tasks_queue_region
    ON tasks (state, region_code COLLATE NOCASE, due_date, level, signal, assignee);

-- A counter of changes to tasks, kept by triggers so that no writer can forget it. The store
-- keeps computed queue pages while it is unchanged.
CREATE TABLE task_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO task_generation (id, n) VALUES (1, 0);
CREATE TRIGGER tasks_generation_insert AFTER INSERT ON tasks
BEGIN
    UPDATE task_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER tasks_generation_update AFTER UPDATE ON tasks
BEGIN
    UPDATE task_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER tasks_generation_delete AFTER DELETE ON tasks
BEGIN
    UPDATE task_generation SET n = n + 1 WHERE id = 1;
END;
