//! The caseworker's task queue and the handling of one task: verify (a home-visit note), then
//! decide with reasons and the package items chosen, or dismiss with a reason. Every step is
//! kept in the task's history with who and when; nothing changes a status without a decision.

use crate::AppState;
use crate::auth::Signed;
use crate::error::WebError;
use crate::i18n::Lang;
use crate::page::shell;
use crate::pages::household::{explanation, tag_label};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::Redirect;
use maud::{Markup, html};
use store::{DecisionInput, Level, Role, Task, TaskState};

/// Filters of the queue, all optional.
#[derive(Debug, Default, serde::Deserialize)]
pub struct QueueFilter {
    /// `red`, `orange` or `yellow`.
    pub level: Option<String>,
    /// A signal code.
    pub signal: Option<String>,
    /// A township prefix.
    pub township: Option<String>,
    /// A task state (decided and closed tasks are left out unless asked for).
    pub state: Option<String>,
    /// A date: tasks due on or before it.
    pub due_before: Option<String>,
    /// The page, from 1.
    pub page: Option<u32>,
}

/// Tasks per page of the queue.
pub const PAGE_SIZE: u32 = 50;

/// Roles that work through tasks.
pub const CASEWORK: &[Role] = &[
    Role::Caseworker,
    Role::Reviewer,
    Role::Approver,
    Role::Administrator,
];

/// Whether a task is past its due date and not yet decided.
pub fn is_overdue(task: &Task, today: domain::Date) -> bool {
    task.due_date < today && matches!(task.state, TaskState::Open | TaskState::Verifying)
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

/// One page of the queue after filtering, with the townships and signals of the unfiltered
/// queue (the choices of the filter form).
pub struct Queue {
    /// Tasks, overdue first, then by due date, level and id.
    pub tasks: Vec<Task>,
    /// Tasks the filters keep, over all pages.
    pub total: u64,
    /// This page, from 1.
    pub page: u32,
    /// Township prefixes present.
    pub townships: Vec<String>,
    /// Signal codes present.
    pub signals: Vec<String>,
}

impl Queue {
    /// The number of pages (at least 1).
    pub fn pages(&self) -> u32 {
        u32::try_from(self.total.div_ceil(u64::from(PAGE_SIZE)))
            .unwrap_or(u32::MAX)
            .max(1)
    }
}

/// The user's queue: tasks of her region (a caseworker's own) awaiting action (open or being
/// verified) unless a state is asked for, filtered and sorted most urgent first in the store,
/// one page of [`PAGE_SIZE`] at a time.
pub async fn queue_of(
    state: &AppState,
    user: &Signed,
    filter: &QueueFilter,
) -> Result<Queue, WebError> {
    user.require(CASEWORK)?;
    let parse_or = |text: Option<&str>, what: &str, ok: bool| -> Result<(), WebError> {
        if text.is_some() && !ok {
            return Err(WebError::BadRequest(format!("unknown {what}")));
        }
        Ok(())
    };
    let wanted_state = non_empty(&filter.state).and_then(TaskState::parse);
    parse_or(
        non_empty(&filter.state),
        "task state",
        wanted_state.is_some(),
    )?;
    let level = non_empty(&filter.level).and_then(Level::parse);
    parse_or(non_empty(&filter.level), "level", level.is_some())?;
    let due_before = non_empty(&filter.due_before).and_then(|d| domain::Date::parse(d).ok());
    parse_or(non_empty(&filter.due_before), "date", due_before.is_some())?;
    let page = filter.page.unwrap_or(1).max(1);
    let query = store::TaskQuery {
        state: wanted_state,
        level,
        signal: non_empty(&filter.signal).map(str::to_string),
        township: non_empty(&filter.township).map(str::to_string),
        due_before,
        limit: i64::from(PAGE_SIZE),
        offset: i64::from(page - 1) * i64::from(PAGE_SIZE),
    };
    let found = state.store().task_page(&user.scope, &query).await?;
    Ok(Queue {
        tasks: found.tasks,
        total: found.total,
        page,
        townships: found.townships,
        signals: found.signals,
    })
}

/// The address of another page of the queue, with the same filters.
fn page_href(filter: &QueueFilter, page: u32) -> String {
    let mut parts = Vec::new();
    for (name, value) in [
        ("level", &filter.level),
        ("signal", &filter.signal),
        ("township", &filter.township),
        ("state", &filter.state),
        ("due_before", &filter.due_before),
    ] {
        if let Some(v) = non_empty(value) {
            let v: String = v
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            parts.push(format!("{name}={v}"));
        }
    }
    parts.push(format!("page={page}"));
    format!("/tasks?{}", parts.join("&"))
}

/// `GET /tasks`: the queue of the user's region, overdue first, then by due date and level.
pub async fn queue(
    State(state): State<AppState>,
    user: Signed,
    Query(filter): Query<QueueFilter>,
) -> Result<Markup, WebError> {
    let lang = user.lang;
    let today = state.today();
    let queue = queue_of(&state, &user, &filter).await?;
    let pages = queue.pages();
    let Queue {
        tasks,
        total,
        page,
        townships,
        signals,
    } = queue;
    let select =
        |name: &str, label: &str, options: Vec<(String, String)>, current: Option<&str>| {
            html! {
                label for=(name) { (label) }
                select id=(name) name=(name) {
                    option value="" { (lang.t("tasks.all")) }
                    @for (value, shown) in options {
                        option value=(value) selected[current == Some(value.as_str())] { (shown) }
                    }
                }
            }
        };
    let body = html! {
        h1 { (lang.t("tasks.title")) " (" (total) ")" }
        form method="get" action="/tasks" class="filters" {
            fieldset {
                legend { (lang.t("tasks.filter")) }
                (select("level", lang.t("tasks.level"),
                    ["red", "orange", "yellow"].iter().map(|l| (l.to_string(), lang.t(&format!("level.{l}")).to_string())).collect(),
                    non_empty(&filter.level)))
                (select("signal", lang.t("tasks.signal"),
                    signals.iter().map(|s| (s.clone(), signal_label(lang, s))).collect(), non_empty(&filter.signal)))
                (select("township", lang.t("tasks.township"),
                    townships.iter().map(|t| (t.clone(), t.clone())).collect(), non_empty(&filter.township)))
                (select("state", lang.t("tasks.state"),
                    TaskState::ALL.iter().map(|s| (s.as_str().to_string(), lang.t(&format!("state.{}", s.as_str())).to_string())).collect(),
                    non_empty(&filter.state)))
                label for="due_before" { (lang.t("tasks.due")) }
                input id="due_before" name="due_before" type="date" value=[non_empty(&filter.due_before)];
                p { button type="submit" { (lang.t("tasks.filter")) } }
            }
        }
        @if tasks.is_empty() {
            p { (lang.t("tasks.none")) }
        } @else {
            table {
                thead { tr {
                    th scope="col" { (lang.t("tasks.level")) }
                    th scope="col" { (lang.t("tasks.signal")) }
                    th scope="col" { (lang.t("tasks.household")) }
                    th scope="col" { (lang.t("tasks.state")) }
                    th scope="col" { (lang.t("tasks.due")) }
                    th scope="col" { span class="visually-hidden" { (lang.t("tasks.open_task")) } }
                } }
                tbody {
                    @for task in &tasks {
                        tr {
                            td class={"level-" (task.level.as_str())} { (lang.t(&format!("level.{}", task.level.as_str()))) }
                            td { (signal_label(lang, &task.signal)) }
                            td { a href={"/households/" (task.household_id)} { (task.household_id) } }
                            td { (lang.t(&format!("state.{}", task.state.as_str()))) }
                            td class=[is_overdue(task, today).then_some("overdue")] {
                                (task.due_date)
                                @if is_overdue(task, today) { " · " (lang.t("tasks.overdue")) }
                            }
                            td { a href={"/tasks/" (task.id)} class="task-link" { (lang.t("tasks.open_task")) } }
                        }
                    }
                }
            }
            @if pages > 1 {
                nav class="pages" aria-label=(lang.t("tasks.pages")) {
                    @if page > 1 {
                        a href=(page_href(&filter, page - 1)) rel="prev" { "← " (lang.t("tasks.previous")) }
                        " "
                    }
                    span { (lang.t("tasks.page")) " " (page) " / " (pages) }
                    @if page < pages {
                        " "
                        a href=(page_href(&filter, page + 1)) rel="next" { (lang.t("tasks.next")) " →" }
                    }
                }
            }
        }
    };
    Ok(shell(&user.viewer(), lang.t("tasks.title"), body))
}

/// A signal code with its translation when the catalogue has one.
pub fn signal_label(lang: Lang, code: &str) -> String {
    let key = format!("signal.{code}");
    let shown = lang.t(&key);
    if shown == key {
        code.to_string()
    } else {
        format!("{shown} ({code})")
    }
}

/// `GET /tasks/{id}`.
pub async fn detail(
    State(state): State<AppState>,
    user: Signed,
    Path(id): Path<i64>,
) -> Result<Markup, WebError> {
    user.require(CASEWORK)?;
    let lang = user.lang;
    let store = state.store();
    let task = store
        .task(&user.scope, id)
        .await?
        .ok_or(WebError::NotFound)?;
    let history = store
        .task_history(&user.scope, id)
        .await?
        .unwrap_or_default();
    let report = store
        .household_report(&user.scope, &task.household_id, None)
        .await?;
    let items: Vec<String> = report
        .as_ref()
        .map(|r| r.recommendations.iter().map(|r| r.item.clone()).collect())
        .unwrap_or_default();
    let body = html! {
        p { a href="/tasks" { "← " (lang.t("tasks.back")) } }
        h1 { (signal_label(lang, &task.signal)) }
        dl {
            dt { (lang.t("tasks.household")) } dd { a href={"/households/" (task.household_id)} { (task.household_id) } }
            dt { (lang.t("tasks.level")) } dd class={"level-" (task.level.as_str())} { (lang.t(&format!("level.{}", task.level.as_str()))) }
            dt { (lang.t("tasks.state")) } dd id="task-state" { (lang.t(&format!("state.{}", task.state.as_str()))) }
            dt { (lang.t("tasks.detected")) } dd { (task.created_on) }
            dt { (lang.t("tasks.due")) } dd { (task.due_date) }
        }
        section id="why" aria-labelledby="why-title" {
            h2 id="why-title" { (lang.t("tasks.why")) }
            p {
                (lang.t("tasks.why_signal")) " " strong { (signal_label(lang, &task.signal)) }
                " · " (lang.t("tasks.detected")) " " (task.created_on)
            }
            @if let Some(r) = &report {
                p {
                    (lang.t("household.tier")) ": " (lang.t(&format!("tier.{}", r.profile.tier.as_str())))
                    " · " (lang.t("household.score")) ": " (r.profile.score)
                    @if !r.profile.tags.is_empty() {
                        " · " (lang.t("household.tags")) ": "
                        @for tag in &r.profile.tags { span class="tag" { (tag_label(lang, tag)) } }
                    }
                }
                @if !r.anomalies.is_empty() {
                    ul {
                        @for a in &r.anomalies {
                            li { (a.kind.as_str()) " · " (a.program.as_str()) " · " (lang.t("household.reasons")) ": " (a.reasons.join("; ")) }
                        }
                    }
                }
                (explanation(lang, &r.profile.explanation))
            }
        }
        @if task.state == TaskState::Open {
            section {
                h2 { (lang.t("tasks.verify")) }
                form id="verify-form" method="post" action={"/tasks/" (task.id) "/verify"} {
                    input type="hidden" name="csrf" value=(user.csrf);
                    label for="note" { (lang.t("tasks.verify_note")) }
                    textarea id="note" name="note" rows="4" cols="60" required {}
                    p { button type="submit" { (lang.t("tasks.verify_submit")) } }
                }
            }
        }
        @if task.state == TaskState::Verifying {
            section {
                h2 { (lang.t("tasks.decide")) }
                form id="decide-form" method="post" action={"/tasks/" (task.id) "/decide"} {
                    input type="hidden" name="csrf" value=(user.csrf);
                    fieldset {
                        legend { (lang.t("tasks.outcome")) }
                        @for (i, outcome) in OUTCOMES.iter().enumerate() {
                            label class="choice" {
                                input type="radio" name="outcome" value=(outcome) required checked[i == 0];
                                " " (lang.t(&format!("outcome.{outcome}")))
                            }
                        }
                    }
                    @if !items.is_empty() {
                        fieldset {
                            legend { (lang.t("tasks.package")) }
                            @for item in &items {
                                label class="choice" {
                                    input type="checkbox" name="item" value=(item);
                                    " " (item_label(lang, item))
                                }
                            }
                        }
                    }
                    label for="reason" { (lang.t("tasks.reason")) }
                    textarea id="reason" name="reason" rows="3" cols="60" required {}
                    p { button type="submit" { (lang.t("tasks.decide_submit")) } }
                }
                h2 { (lang.t("tasks.dismiss")) }
                form id="dismiss-form" method="post" action={"/tasks/" (task.id) "/dismiss"} {
                    input type="hidden" name="csrf" value=(user.csrf);
                    label for="dismiss-reason" { (lang.t("tasks.reason")) }
                    textarea id="dismiss-reason" name="reason" rows="2" cols="60" required {}
                    p { button type="submit" class="secondary" { (lang.t("tasks.dismiss_submit")) } }
                }
            }
        }
        section {
            h2 { (lang.t("tasks.history")) }
            ol {
                @for event in &history {
                    li { (event.action) " → " (lang.t(&format!("state.{}", event.to.as_str()))) }
                }
            }
        }
    };
    Ok(shell(&user.viewer(), lang.t("tasks.title"), body))
}

/// A catalogue item code with its translation when the catalogue has one.
pub fn item_label(lang: Lang, code: &str) -> String {
    let key = format!("item.{code}");
    let shown = lang.t(&key);
    if shown == key {
        code.to_string()
    } else {
        shown.to_string()
    }
}

/// The verify form.
#[derive(serde::Deserialize)]
pub struct VerifyForm {
    csrf: String,
    note: String,
}

/// `POST /tasks/{id}/verify`: records the home-visit note and moves the task to verifying.
pub async fn verify(
    State(state): State<AppState>,
    user: Signed,
    Path(id): Path<i64>,
    Form(form): Form<VerifyForm>,
) -> Result<Redirect, WebError> {
    user.check_csrf(&form.csrf)?;
    verify_task(&state, &user, id, &form.note).await?;
    Ok(Redirect::to(&format!("/tasks/{id}")))
}

/// Records a home-visit note and moves the task to verifying.
pub async fn verify_task(
    state: &AppState,
    user: &Signed,
    id: i64,
    note: &str,
) -> Result<Task, WebError> {
    let note = note.trim();
    if note.is_empty() {
        return Err(WebError::BadRequest("a home-visit note is required".into()));
    }
    Ok(state
        .store()
        .move_task(
            &user.scope,
            id,
            TaskState::Verifying,
            Some(note),
            state.now(),
        )
        .await?)
}

/// The decisions a person may record.
pub const OUTCOMES: [&str; 5] = ["include", "adjust", "exclude", "refer", "no_change"];

/// Records a decision with its reason and the package items chosen.
pub async fn decide_task(
    state: &AppState,
    user: &Signed,
    id: i64,
    outcome: &str,
    reason: &str,
    package_items: Vec<String>,
) -> Result<store::Decision, WebError> {
    if !OUTCOMES.contains(&outcome) {
        return Err(WebError::BadRequest("choose a decision".into()));
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(WebError::BadRequest("a reason is required".into()));
    }
    let input = DecisionInput {
        outcome: outcome.to_string(),
        reason: reason.to_string(),
        package_items,
    };
    Ok(state
        .store()
        .record_decision(&user.scope, id, &input, state.now())
        .await?)
}

/// Dismisses a task being verified: a decision `dismiss` with its reason, then closed.
pub async fn dismiss_task(
    state: &AppState,
    user: &Signed,
    id: i64,
    reason: &str,
) -> Result<Task, WebError> {
    let reason = reason.trim().to_string();
    if reason.is_empty() {
        return Err(WebError::BadRequest("a reason is required".into()));
    }
    let input = DecisionInput {
        outcome: "dismiss".into(),
        reason,
        package_items: Vec::new(),
    };
    let store = state.store();
    store
        .record_decision(&user.scope, id, &input, state.now())
        .await?;
    Ok(store
        .move_task(&user.scope, id, TaskState::Closed, None, state.now())
        .await?)
}

/// `POST /tasks/{id}/decide` and `/dismiss` take a list of `item` fields, which a plain form
/// deserialiser cannot gather: the body is read as pairs.
pub async fn decide(
    State(state): State<AppState>,
    user: Signed,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Redirect, WebError> {
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
    };
    user.check_csrf(&field("csrf").unwrap_or_default())?;
    let outcome = field("outcome").unwrap_or_default();
    let reason = field("reason").unwrap_or_default();
    let package_items = pairs
        .iter()
        .filter(|(k, _)| k == "item")
        .map(|(_, v)| v.clone())
        .collect();
    decide_task(&state, &user, id, &outcome, &reason, package_items).await?;
    Ok(Redirect::to("/tasks"))
}

/// The dismiss form.
#[derive(serde::Deserialize)]
pub struct DismissForm {
    csrf: String,
    reason: String,
}

/// `POST /tasks/{id}/dismiss`: a decision `dismiss` with its reason, then the task is closed.
pub async fn dismiss(
    State(state): State<AppState>,
    user: Signed,
    Path(id): Path<i64>,
    Form(form): Form<DismissForm>,
) -> Result<Redirect, WebError> {
    user.check_csrf(&form.csrf)?;
    dismiss_task(&state, &user, id, &form.reason).await?;
    Ok(Redirect::to("/tasks"))
}
