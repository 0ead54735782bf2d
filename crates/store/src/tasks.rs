//! Warnings as tasks: states, assignment, due dates, history rows, and the decisions that
//! close the loop (design decision 6: screening never changes a status; people decide).
//!
//! ```text
//!   open ──start──▶ verifying ──decide──▶ decided ──close──▶ closed
//!     ▲                 │
//!     └────return───────┘          open ──dismiss──▶ closed
//! ```

use crate::audit::{Audit, acting_role};
use crate::runs::Level;
use crate::scope::{CASEWORK, DECIDING, Role};
use crate::{Result, Scope, Store, StoreError, Timestamp};
use domain::{Date, RegionCode};
use ledger::{Action, Purpose};
use privacy::{Keyring, Revealed};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use std::collections::HashMap;
use std::fmt;

/// The state of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TaskState {
    /// Raised by a warning, not yet being verified.
    Open,
    /// A caseworker is verifying the household's situation.
    Verifying,
    /// A decision is recorded.
    Decided,
    /// Done: the decision is carried out, or the warning was dismissed.
    Closed,
}

impl TaskState {
    /// Every state.
    pub const ALL: [TaskState; 4] = [
        TaskState::Open,
        TaskState::Verifying,
        TaskState::Decided,
        TaskState::Closed,
    ];

    /// The canonical word.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Open => "open",
            TaskState::Verifying => "verifying",
            TaskState::Decided => "decided",
            TaskState::Closed => "closed",
        }
    }

    /// Parses the canonical word.
    pub fn parse(text: &str) -> Option<TaskState> {
        TaskState::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether a task may move from `self` to `to` by [`Store::move_task`]. `decided` is
    /// reached only by recording a decision.
    pub fn may_move_to(self, to: TaskState) -> bool {
        matches!(
            (self, to),
            (TaskState::Open, TaskState::Verifying)
                | (TaskState::Verifying, TaskState::Open)
                | (TaskState::Open, TaskState::Closed)
                | (TaskState::Decided, TaskState::Closed)
        )
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How long a caseworker has to verify a warning, by level (days after detection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskRules {
    /// Days for a red warning.
    pub red_days: i32,
    /// Days for an orange warning.
    pub orange_days: i32,
    /// Days for a yellow warning (and any other).
    pub yellow_days: i32,
}

impl Default for TaskRules {
    /// Red in 3 days, orange in 7, yellow in 15.
    fn default() -> TaskRules {
        TaskRules {
            red_days: 3,
            orange_days: 7,
            yellow_days: 15,
        }
    }
}

impl TaskRules {
    /// The due date of a warning of `level` detected on `detected`.
    pub fn due_date(&self, level: Level, detected: Date) -> Date {
        detected.add_days(match level {
            Level::Red => self.red_days,
            Level::Orange => self.orange_days,
            Level::Yellow | Level::None => self.yellow_days,
        })
    }
}

/// A task as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// Task id.
    pub id: i64,
    /// Household number.
    pub household_id: String,
    /// Region.
    pub region_code: RegionCode,
    /// Signal code of the warning that opened it.
    pub signal: String,
    /// Level of that warning.
    pub level: Level,
    /// The run that opened it.
    pub run_id: String,
    /// State.
    pub state: TaskState,
    /// Assigned user, if any.
    pub assignee: Option<i64>,
    /// Due date.
    pub due_date: Date,
    /// Date the warning was detected.
    pub created_on: Date,
}

/// One history row of a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskEvent {
    /// Order within the task, from 1.
    pub seq: i64,
    /// When.
    pub at: Timestamp,
    /// Who (user id; 0 for the operator of the binary).
    pub actor: i64,
    /// State before (none for the row that opened the task).
    pub from: Option<TaskState>,
    /// State after.
    pub to: TaskState,
    /// What happened: `opened`, `assigned`, `moved`, `decided`.
    pub action: String,
    /// Free-text note (may hold personal details, so sealed at rest).
    pub note: Option<Revealed>,
}

/// What a person decided about a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionInput {
    /// Outcome code, e.g. `include`, `exclude`, `adjust`, `no_change`, `refer`.
    pub outcome: String,
    /// Why (free text, sealed at rest).
    pub reason: String,
    /// Catalogue items of the assistance package chosen.
    pub package_items: Vec<String>,
}

/// A recorded decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Decision id.
    pub id: i64,
    /// The task it decides.
    pub task_id: i64,
    /// Household number.
    pub household_id: String,
    /// Who decided.
    pub decided_by: i64,
    /// When.
    pub decided_at: Timestamp,
    /// Outcome code.
    pub outcome: String,
    /// Why.
    pub reason: Revealed,
    /// Package items chosen.
    pub package_items: Vec<String>,
}

pub(crate) fn history_record(task_id: i64, seq: i64) -> String {
    format!("task:{task_id}:{seq}")
}

pub(crate) fn decision_record(task_id: i64, decided_at: Timestamp) -> String {
    format!("decision:{task_id}:{}", decided_at.0)
}

/// Appends a history row to a task inside a transaction.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_history(
    tx: &mut Transaction<'_, Any>,
    keys: &Keyring,
    task_id: i64,
    at: Timestamp,
    actor: i64,
    from: Option<TaskState>,
    to: TaskState,
    action: &str,
    note: Option<&str>,
) -> Result<()> {
    let seq: i64 = sqlx::query_scalar("SELECT COUNT(*) + 1 FROM task_history WHERE task_id = $1")
        .bind(task_id)
        .fetch_one(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO task_history (task_id, seq, at, actor, from_state, to_state, action,
             note_sealed)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(task_id)
    .bind(seq)
    .bind(at.0)
    .bind(actor)
    .bind(from.map(TaskState::as_str))
    .bind(to.as_str())
    .bind(action.to_string())
    .bind(note.map(|n| keys.seal("note", &history_record(task_id, seq), n)))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What one page of the queue asks for; every filter is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TaskQuery {
    /// A state; `None` is the queue of what awaits action (open and verifying).
    pub state: Option<TaskState>,
    /// A level.
    pub level: Option<Level>,
    /// A signal code.
    pub signal: Option<String>,
    /// A region prefix within the scope (a township: 9 digits).
    pub township: Option<String>,
    /// Tasks due on or before this date.
    pub due_before: Option<Date>,
    /// Tasks per page.
    pub limit: i64,
    /// Tasks skipped.
    pub offset: i64,
}

/// Queue pages already computed, valid while the task generation (a counter that triggers
/// raise on every change to `tasks`, in any process) is the one they were computed at. A
/// township's caseworkers open their queues far more often than tasks change, and a page costs
/// a sort and two counts over the whole queue.
#[derive(Debug, Default)]
pub(crate) struct QueueCache {
    generation: i64,
    pages: HashMap<QueueKey, TaskPage>,
}

/// The scope's region pattern, its assignee restriction, and the query.
type QueueKey = (String, Option<i64>, TaskQuery);

/// Pages kept at most; the cache starts afresh beyond.
const QUEUE_CACHE_PAGES: usize = 4096;

impl QueueCache {
    fn get(&self, generation: i64, key: &QueueKey) -> Option<TaskPage> {
        (self.generation == generation)
            .then(|| self.pages.get(key).cloned())
            .flatten()
    }

    /// Keeps a page computed after `generation` was read (so it is at least that new).
    fn put(&mut self, generation: i64, key: QueueKey, page: TaskPage) {
        if generation < self.generation {
            return;
        }
        if generation > self.generation || self.pages.len() >= QUEUE_CACHE_PAGES {
            self.pages.clear();
            self.generation = generation;
        }
        self.pages.insert(key, page);
    }
}

/// A value bound to a query whose conditions depend on the request.
enum Bind {
    Text(String),
    Int(i64),
}

/// A `WHERE` clause built condition by condition, with its placeholders numbered in order.
#[derive(Default)]
struct Conditions {
    sql: String,
    binds: Vec<Bind>,
}

impl Conditions {
    /// Appends `condition`, whose one `?` becomes the next placeholder, bound to `value`.
    fn add(&mut self, condition: &str, value: Bind) {
        self.binds.push(value);
        let placeholder = format!("${}", self.binds.len());
        self.sql.push_str(&condition.replace('?', &placeholder));
    }
}

/// One page of the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskPage {
    /// The page's tasks, most urgent first.
    pub tasks: Vec<Task>,
    /// How many tasks the filters keep, over all pages.
    pub total: u64,
    /// The township prefixes (9 digits) of the unfiltered queue.
    pub townships: Vec<String>,
    /// The signal codes of the unfiltered queue.
    pub signals: Vec<String>,
}

fn task_from_row(row: &AnyRow) -> Result<Task> {
    let region: String = row.try_get("region_code")?;
    let level: String = row.try_get("level")?;
    let state: String = row.try_get("state")?;
    let due: String = row.try_get("due_date")?;
    let created: String = row.try_get("created_on")?;
    Ok(Task {
        id: row.try_get("task_id")?,
        household_id: row.try_get("household_id")?,
        region_code: RegionCode::parse(&region).map_err(|_| StoreError::Corrupt("region"))?,
        signal: row.try_get("signal")?,
        level: Level::parse(&level).ok_or(StoreError::Corrupt("level"))?,
        run_id: row.try_get("run_id")?,
        state: TaskState::parse(&state).ok_or(StoreError::Corrupt("task state"))?,
        assignee: row.try_get("assignee")?,
        due_date: Date::parse(&due).map_err(|_| StoreError::Corrupt("due date"))?,
        created_on: Date::parse(&created).map_err(|_| StoreError::Corrupt("date"))?,
    })
}

macro_rules! task_columns {
    () => {
        "task_id, household_id, region_code, signal, level, run_id, state, \
     assignee, due_date, created_on"
    };
}

impl Store {
    /// The ledger entry of a change to `task`: its household, region and number, and the
    /// keyed hash of `canonical` (the change's content).
    fn task_audit(&self, scope: &Scope, task: &Task, action: Action, canonical: &str) -> Audit {
        Audit {
            action,
            purpose: Purpose::WarningFollowUp,
            role: acting_role(
                scope,
                &[
                    Role::Caseworker,
                    Role::Reviewer,
                    Role::Approver,
                    Role::Administrator,
                ],
            ),
            region: task.region_code,
            case: u64::try_from(task.id).ok(),
            subject: self.household_subject(&task.household_id),
            data: self.record_hash(action.as_str(), canonical),
        }
    }

    /// The tasks the scope may see, optionally in one state, most urgent due date first.
    /// Reviewers, approvers, auditors and administrators see every task of their region; a
    /// caseworker sees only the tasks assigned to her.
    pub async fn tasks(&self, scope: &Scope, state: Option<TaskState>) -> Result<Vec<Task>> {
        scope.require(CASEWORK)?;
        let rows = sqlx::query(concat!(
            "SELECT ",
            task_columns!(),
            " FROM tasks
             WHERE region_code LIKE $1 AND ($2 = '' OR state = $2)
               AND ($3 = 1 OR assignee = $4)
             ORDER BY due_date, task_id"
        ))
        .bind(scope.pattern())
        .bind(state.map(TaskState::as_str).unwrap_or("").to_string())
        .bind(i64::from(scope.sees_all_tasks()))
        .bind(scope.user_id())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(task_from_row).collect()
    }

    /// One page of the queue, filtered and ordered in the database: most urgent first — by due
    /// date (so overdue tasks lead), then level (red, orange, yellow), then number — with the
    /// number of tasks the filters keep and the townships and signals of the unfiltered queue
    /// (the choices of a filter form). Without a state, the queue is what awaits action: open
    /// and verifying tasks.
    pub async fn task_page(&self, scope: &Scope, query: &TaskQuery) -> Result<TaskPage> {
        scope.require(CASEWORK)?;
        if query
            .township
            .as_deref()
            .is_some_and(|t| t.len() > 12 || !t.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(StoreError::Invalid(
                "a township is a region prefix of digits",
            ));
        }
        // Read before the queries, so that a page is never older than its generation.
        let generation: i64 = sqlx::query("SELECT n FROM task_generation WHERE id = 1")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        let key: QueueKey = (
            scope.pattern(),
            (!scope.sees_all_tasks()).then(|| scope.user_id()),
            query.clone(),
        );
        if let Some(page) = self.queue_cache().get(generation, &key) {
            return Ok(page);
        }
        let page = self.task_page_now(scope, query).await?;
        self.queue_cache().put(generation, key, page.clone());
        Ok(page)
    }

    fn queue_cache(&self) -> std::sync::MutexGuard<'_, QueueCache> {
        match self.queue_cache.lock() {
            Ok(cache) => cache,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    async fn task_page_now(&self, scope: &Scope, query: &TaskQuery) -> Result<TaskPage> {
        // The conditions are written out for what is asked (no `$n = ''` switches), so that
        // both planners see plain comparisons and use the indexes: the assignee's own tasks
        // for a caseworker, the region otherwise.
        let mut w = Conditions::default();
        w.add("region_code LIKE ?", Bind::Text(scope.pattern()));
        if !scope.sees_all_tasks() {
            w.add(" AND assignee = ?", Bind::Int(scope.user_id()));
        }
        match query.state {
            Some(s) => w.add(" AND state = ?", Bind::Text(s.as_str().to_string())),
            None => w.sql.push_str(" AND state IN ('open', 'verifying')"),
        }
        // The unfiltered queue, for the filter form's choices.
        let (base, base_binds) = (w.sql.clone(), w.binds.len());
        if let Some(level) = query.level {
            w.add(" AND level = ?", Bind::Text(level.as_str().to_string()));
        }
        if let Some(signal) = &query.signal {
            w.add(" AND signal = ?", Bind::Text(signal.clone()));
        }
        if let Some(township) = &query.township {
            w.add(
                " AND region_code LIKE ?",
                Bind::Text(format!("{township}%")),
            );
        }
        if let Some(due) = query.due_before {
            w.add(" AND due_date <= ?", Bind::Text(due.to_string()));
        }
        let Conditions {
            sql: filtered,
            binds,
        } = w;
        let bind = |sql: String, values: &[Bind]| {
            values.iter().fold(
                sqlx::query(sqlx::AssertSqlSafe(sql)),
                |q, value| match value {
                    Bind::Text(t) => q.bind(t.clone()),
                    Bind::Int(i) => q.bind(*i),
                },
            )
        };
        // The page is chosen from the index (the inner query reads no table row), then its
        // rows are read.
        const ORDER: &str = "due_date,
             CASE level WHEN 'red' THEN 0 WHEN 'orange' THEN 1 WHEN 'yellow' THEN 2 ELSE 3 END,
             task_id";
        let page_sql = format!(
            "SELECT {} FROM tasks WHERE task_id IN (
                 SELECT task_id FROM tasks WHERE {filtered}
                 ORDER BY {ORDER} LIMIT ${} OFFSET ${})
             ORDER BY {ORDER}",
            task_columns!(),
            binds.len() + 1,
            binds.len() + 2
        );
        let rows = bind(page_sql, &binds)
            .bind(query.limit.max(0))
            .bind(query.offset.max(0))
            .fetch_all(&self.pool)
            .await?;
        let tasks = rows.iter().map(task_from_row).collect::<Result<Vec<_>>>()?;
        let total: i64 = bind(
            format!("SELECT COUNT(*) AS total FROM tasks WHERE {filtered}"),
            &binds,
        )
        .fetch_one(&self.pool)
        .await?
        .try_get("total")?;
        let pairs = bind(
            format!(
                "SELECT DISTINCT substr(region_code, 1, 9) AS township, signal FROM tasks WHERE {base}"
            ),
            &binds[..base_binds],
        )
        .fetch_all(&self.pool)
        .await?;
        let mut townships = std::collections::BTreeSet::new();
        let mut signals = std::collections::BTreeSet::new();
        for row in &pairs {
            townships.insert(row.try_get::<String, _>("township")?);
            signals.insert(row.try_get::<String, _>("signal")?);
        }
        let (townships, signals): (Vec<String>, Vec<String>) = (
            townships.into_iter().collect(),
            signals.into_iter().collect(),
        );
        Ok(TaskPage {
            tasks,
            total: u64::try_from(total).unwrap_or(0),
            townships,
            signals,
        })
    }

    /// One task, if the scope may see it.
    pub async fn task(&self, scope: &Scope, task_id: i64) -> Result<Option<Task>> {
        scope.require(CASEWORK)?;
        let row = sqlx::query(concat!(
            "SELECT ",
            task_columns!(),
            " FROM tasks
             WHERE task_id = $1 AND region_code LIKE $2 AND ($3 = 1 OR assignee = $4)"
        ))
        .bind(task_id)
        .bind(scope.pattern())
        .bind(i64::from(scope.sees_all_tasks()))
        .bind(scope.user_id())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(task_from_row).transpose()
    }

    /// A task's history, oldest first; `None` when the scope may not see the task.
    pub async fn task_history(
        &self,
        scope: &Scope,
        task_id: i64,
    ) -> Result<Option<Vec<TaskEvent>>> {
        self.with_current_keys(|| self.task_history_now(scope, task_id))
            .await
    }

    async fn task_history_now(
        &self,
        scope: &Scope,
        task_id: i64,
    ) -> Result<Option<Vec<TaskEvent>>> {
        if self.task(scope, task_id).await?.is_none() {
            return Ok(None);
        }
        let rows = sqlx::query(
            "SELECT seq, at, actor, from_state, to_state, action, note_sealed FROM task_history
             WHERE task_id = $1 ORDER BY seq",
        )
        .bind(task_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let seq: i64 = r.try_get("seq")?;
                let from: Option<String> = r.try_get("from_state")?;
                let to: String = r.try_get("to_state")?;
                let note: Option<Vec<u8>> = r.try_get("note_sealed")?;
                Ok(TaskEvent {
                    seq,
                    at: Timestamp(r.try_get("at")?),
                    actor: r.try_get("actor")?,
                    from: from
                        .map(|f| TaskState::parse(&f).ok_or(StoreError::Corrupt("task state")))
                        .transpose()?,
                    to: TaskState::parse(&to).ok_or(StoreError::Corrupt("task state"))?,
                    action: r.try_get("action")?,
                    note: note
                        .map(|n| {
                            self.keys()
                                .open_text("note", &history_record(task_id, seq), &n)
                        })
                        .transpose()?,
                })
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// Assigns a task to a user of the same region (reviewers, approvers and administrators
    /// assign). The assignee must exist, be enabled, and have a region prefix that covers the
    /// task's region.
    pub async fn assign_task(
        &self,
        scope: &Scope,
        task_id: i64,
        assignee: i64,
        now: Timestamp,
    ) -> Result<Task> {
        scope.require(&[Role::Reviewer, Role::Approver, Role::Administrator])?;
        self.catch_up_keys().await?;
        let task = self
            .task(scope, task_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if task.state == TaskState::Closed {
            return Err(StoreError::InvalidTransition {
                from: "closed",
                to: "closed",
            });
        }
        let prefix: Option<String> = sqlx::query_scalar(
            "SELECT region_prefix FROM users WHERE user_id = $1 AND disabled = 0",
        )
        .bind(assignee)
        .fetch_optional(&self.pool)
        .await?;
        match prefix {
            Some(p) if task.region_code.as_str().starts_with(&p) => {}
            _ => {
                return Err(StoreError::Invalid(
                    "the assignee cannot work in the task's region",
                ));
            }
        }
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE tasks SET assignee = $1, updated_at = $2 WHERE task_id = $3")
            .bind(assignee)
            .bind(now.0)
            .bind(task_id)
            .execute(&mut *tx)
            .await?;
        insert_history(
            &mut tx,
            &self.keys(),
            task_id,
            now,
            scope.user_id(),
            Some(task.state),
            task.state,
            "assigned",
            Some(&format!("user {assignee}")),
        )
        .await?;
        let audit = self.task_audit(
            scope,
            &task,
            Action::TaskChange,
            &format!("assigned\u{1f}{assignee}"),
        );
        self.append_audit(&mut tx, scope, now, &[audit]).await?;
        tx.commit().await?;
        Ok(Task {
            assignee: Some(assignee),
            ..task
        })
    }

    /// Moves a task to another state (see [`TaskState::may_move_to`]) with an optional note,
    /// and appends a history row. A caseworker moves only her own tasks.
    pub async fn move_task(
        &self,
        scope: &Scope,
        task_id: i64,
        to: TaskState,
        note: Option<&str>,
        now: Timestamp,
    ) -> Result<Task> {
        scope.require(DECIDING)?;
        self.catch_up_keys().await?;
        let task = self
            .task(scope, task_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if !task.state.may_move_to(to) {
            return Err(StoreError::InvalidTransition {
                from: task.state.as_str(),
                to: to.as_str(),
            });
        }
        let mut tx = self.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE tasks SET state = $1, updated_at = $2 WHERE task_id = $3 AND state = $4",
        )
        .bind(to.as_str())
        .bind(now.0)
        .bind(task_id)
        .bind(task.state.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed != 1 {
            return Err(StoreError::Conflict("the task changed meanwhile"));
        }
        insert_history(
            &mut tx,
            &self.keys(),
            task_id,
            now,
            scope.user_id(),
            Some(task.state),
            to,
            "moved",
            note,
        )
        .await?;
        let audit = self.task_audit(
            scope,
            &task,
            Action::TaskChange,
            &format!("moved\u{1f}{}\u{1f}{}", to.as_str(), note.unwrap_or("")),
        );
        self.append_audit(&mut tx, scope, now, &[audit]).await?;
        tx.commit().await?;
        Ok(Task { state: to, ..task })
    }

    /// Records a decision on a task being verified: who, when, what, why and the package
    /// items chosen. The task moves to `decided` in the same transaction.
    pub async fn record_decision(
        &self,
        scope: &Scope,
        task_id: i64,
        decision: &DecisionInput,
        now: Timestamp,
    ) -> Result<Decision> {
        scope.require(DECIDING)?;
        self.catch_up_keys().await?;
        if scope.user_id() == 0 {
            // Humans decide: the operator of the binary records no decisions.
            return Err(StoreError::Forbidden);
        }
        if decision.outcome.is_empty() || decision.reason.trim().is_empty() {
            return Err(StoreError::Invalid(
                "a decision needs an outcome and a reason",
            ));
        }
        let task = self
            .task(scope, task_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if task.state != TaskState::Verifying {
            return Err(StoreError::InvalidTransition {
                from: task.state.as_str(),
                to: TaskState::Decided.as_str(),
            });
        }
        let items = serde_json::to_string(&decision.package_items)
            .map_err(|_| StoreError::Invalid("package items"))?;
        let mut tx = self.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE tasks SET state = 'decided', updated_at = $1
             WHERE task_id = $2 AND state = 'verifying'",
        )
        .bind(now.0)
        .bind(task_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed != 1 {
            return Err(StoreError::Conflict("the task changed meanwhile"));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO decisions (task_id, household_id, region_code, decided_by, decided_at,
                 outcome, reason_sealed, package_items)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING decision_id",
        )
        .bind(task_id)
        .bind(task.household_id.clone())
        .bind(task.region_code.as_str().to_string())
        .bind(scope.user_id())
        .bind(now.0)
        .bind(decision.outcome.clone())
        .bind(
            self.keys()
                .seal("reason", &decision_record(task_id, now), &decision.reason),
        )
        .bind(items)
        .fetch_one(&mut *tx)
        .await?;
        insert_history(
            &mut tx,
            &self.keys(),
            task_id,
            now,
            scope.user_id(),
            Some(TaskState::Verifying),
            TaskState::Decided,
            "decided",
            Some(&decision.outcome),
        )
        .await?;
        let canonical = format!(
            "{id}\u{1f}{}\u{1f}{}\u{1f}{}",
            decision.outcome,
            decision.reason,
            decision.package_items.join("\u{1e}")
        );
        let audit = self.task_audit(scope, &task, Action::Decision, &canonical);
        self.append_audit(&mut tx, scope, now, &[audit]).await?;
        tx.commit().await?;
        Ok(Decision {
            id,
            task_id,
            household_id: task.household_id,
            decided_by: scope.user_id(),
            decided_at: now,
            outcome: decision.outcome.clone(),
            reason: Revealed::new(decision.reason.clone()),
            package_items: decision.package_items.clone(),
        })
    }

    /// The decisions about a household within the scope, oldest first.
    pub async fn decisions(&self, scope: &Scope, household_id: &str) -> Result<Vec<Decision>> {
        self.with_current_keys(|| self.decisions_now(scope, household_id))
            .await
    }

    async fn decisions_now(&self, scope: &Scope, household_id: &str) -> Result<Vec<Decision>> {
        scope.require(CASEWORK)?;
        let rows = sqlx::query(
            "SELECT decision_id, task_id, household_id, decided_by, decided_at, outcome,
                 reason_sealed, package_items
             FROM decisions WHERE household_id = $1 AND region_code LIKE $2
             ORDER BY decided_at, decision_id",
        )
        .bind(household_id.to_string())
        .bind(scope.pattern())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let task_id: i64 = r.try_get("task_id")?;
                let at = Timestamp(r.try_get("decided_at")?);
                let sealed: Vec<u8> = r.try_get("reason_sealed")?;
                let items: String = r.try_get("package_items")?;
                Ok(Decision {
                    id: r.try_get("decision_id")?,
                    task_id,
                    household_id: r.try_get("household_id")?,
                    decided_by: r.try_get("decided_by")?,
                    decided_at: at,
                    outcome: r.try_get("outcome")?,
                    reason: self.keys().open_text(
                        "reason",
                        &decision_record(task_id, at),
                        &sealed,
                    )?,
                    package_items: serde_json::from_str(&items)
                        .map_err(|_| StoreError::Corrupt("package items"))?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions() {
        use TaskState::*;
        assert!(Open.may_move_to(Verifying));
        assert!(Verifying.may_move_to(Open));
        assert!(Open.may_move_to(Closed));
        assert!(Decided.may_move_to(Closed));
        assert!(!Open.may_move_to(Decided));
        assert!(!Verifying.may_move_to(Decided));
        assert!(!Closed.may_move_to(Open));
        assert!(!Verifying.may_move_to(Closed));
        for s in TaskState::ALL {
            assert_eq!(TaskState::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn due_dates_by_level() {
        let rules = TaskRules::default();
        let day = Date::from_ymd(2026, 11, 30).expect("date");
        assert_eq!(rules.due_date(Level::Red, day).to_string(), "2026-12-03");
        assert_eq!(rules.due_date(Level::Orange, day).to_string(), "2026-12-07");
        assert_eq!(rules.due_date(Level::Yellow, day).to_string(), "2026-12-15");
    }
}
