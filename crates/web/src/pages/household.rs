//! The household profile (一户一画像): members (masked), tier and amounts, tags and score,
//! signals and anomalies with their explanation, the recommended package, earlier runs and the
//! decisions taken. A household outside the user's region is not found (404), by any address.

use crate::AppState;
use crate::auth::Signed;
use crate::error::WebError;
use crate::i18n::Lang;
use crate::page::shell;
use crate::pages::tasks::{item_label, signal_label};
use axum::extract::{Path, State};
use maud::{Markup, html};
use store::Role;
use store::privacy::mask;

/// Roles that read household profiles.
pub const READERS: &[Role] = &[
    Role::Caseworker,
    Role::Reviewer,
    Role::Approver,
    Role::Administrator,
    Role::Auditor,
];

/// Renders the steps of an explanation as stored (the policy's `Explanation` as JSON).
pub fn explanation(lang: Lang, value: &serde_json::Value) -> Markup {
    let steps = value
        .get("steps")
        .and_then(|s| s.as_array())
        .cloned()
        .unwrap_or_default();
    let text_key = if lang == Lang::Zh {
        "text_zh"
    } else {
        "text_en"
    };
    let pairs = |v: Option<&serde_json::Value>| -> Vec<(String, String)> {
        v.and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|p| {
                        let k = p.get(0)?.as_str()?.to_string();
                        let v = p.get(1)?.as_str()?.to_string();
                        Some((k, v))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    html! {
        @for step in steps.iter().filter(|s| s.get("holds").and_then(|h| h.as_bool()).unwrap_or(true)) {
            div class="explain" {
                p { strong { (step.get(text_key).and_then(|t| t.as_str()).unwrap_or("")) } }
                p class="source" {
                    code { (step.get("rule").and_then(|t| t.as_str()).unwrap_or("")) }
                    " · " (step.get("source").and_then(|t| t.as_str()).unwrap_or(""))
                }
                @let facts = pairs(step.get("facts"));
                @let params = pairs(step.get("params"));
                @if !facts.is_empty() || !params.is_empty() {
                    ul {
                        @for (k, v) in facts.iter().chain(params.iter()) { li { code { (k) } " = " (v) } }
                    }
                }
            }
        }
    }
}

/// `GET /households/{id}`.
pub async fn profile(
    State(state): State<AppState>,
    user: Signed,
    Path(id): Path<String>,
) -> Result<Markup, WebError> {
    user.require(READERS)?;
    let lang = user.lang;
    let store = state.store();
    let report = store
        .household_report(&user.scope, &id, None)
        .await?
        .ok_or(WebError::NotFound)?;
    let members = store
        .household_members(&user.scope, &id)
        .await?
        .unwrap_or_default();
    let history = store
        .profile_history(&user.scope, &id)
        .await
        .unwrap_or_default();
    let decisions = store.decisions(&user.scope, &id).await?;
    let p = &report.profile;
    let body = html! {
        h1 { (lang.t("household.title")) " " (p.household_id) }
        p { (lang.t("household.as_of")) " " (report.as_of) " · " (p.region_code) }
        div class="cards" {
            div class="card" { div { (lang.t("household.tier")) } div class="big" id="tier" { (lang.t(&format!("tier.{}", p.tier.as_str()))) } }
            div class="card" { div { (lang.t("household.dibao_amount")) } div class="big" { "¥" (p.dibao_amount) } }
            div class="card" { div { (lang.t("household.per_capita_income")) } div class="big" { "¥" (p.per_capita_income) } }
            div class="card" { div { (lang.t("household.score")) } div class="big" { (p.score) } }
            div class="card" { div { (lang.t("tasks.level")) } div class={"big level-" (p.level.as_str())} { (lang.t(&format!("level.{}", p.level.as_str()))) } }
        }
        h2 { (lang.t("household.tags")) }
        p { @for tag in &p.tags { span class="tag" { (tag_label(lang, tag)) } } }
        h2 { (lang.t("household.members")) }
        table {
            thead { tr {
                th scope="col" { (lang.t("household.name")) }
                th scope="col" { (lang.t("household.id")) }
                th scope="col" { (lang.t("household.relation")) }
                th scope="col" { (lang.t("household.birth_year")) }
            } }
            tbody {
                @for m in &members {
                    tr {
                        td { (mask::name(m.name.expose())) }
                        td { (m.person_id.masked()) }
                        td { (m.relation.as_str()) }
                        td class="num" { (m.birth_year) }
                    }
                }
            }
        }
        @if user.require(REVEALERS).is_ok() {
            (reveal_form(&user, &p.household_id))
        }
        @if !report.persons.is_empty() {
            h2 { (lang.t("household.persons")) }
            table {
                tbody {
                    @for r in &report.persons {
                        tr { td { (r.person_id.masked()) } td { (r.status) } td class="num" { "¥" (r.amount) } td { (r.care_level.as_deref().unwrap_or("")) } }
                    }
                }
            }
        }
        h2 { (lang.t("household.warnings")) }
        ul {
            @for w in &report.warnings {
                li class={"level-" (w.level.as_str())} { (signal_label(lang, &w.signal)) " · " (w.detected_at) }
            }
        }
        h2 { (lang.t("household.anomalies")) }
        ul {
            @for a in &report.anomalies {
                li { (a.kind.as_str()) " · " (a.program.as_str()) " · " (lang.t("household.reasons")) ": " (a.reasons.join("; ")) }
            }
        }
        h2 { (lang.t("household.explanation")) }
        (explanation(lang, &p.explanation))
        h2 { (lang.t("household.package")) }
        table {
            tbody {
                @for r in &report.recommendations {
                    tr {
                        td { (r.kind) }
                        td { (item_label(lang, &r.item)) }
                        td class="num" { @if let Some(a) = r.amount { "¥" (a) } }
                        td { code { (r.reason) } }
                    }
                }
            }
        }
        @if !history.is_empty() {
            h2 { (lang.t("household.history")) }
            table {
                tbody {
                    @for h in &history {
                        tr { td { (h.as_of) } td { (lang.t(&format!("tier.{}", h.tier.as_str()))) } td class="num" { (h.score) } td { (lang.t(&format!("level.{}", h.level.as_str()))) } }
                    }
                }
            }
        }
        h2 { (lang.t("household.decisions")) }
        ul {
            @for d in &decisions {
                li { (lang.t(&format!("outcome.{}", d.outcome))) " · " (d.reason.expose()) " · " (d.package_items.join(", ")) }
            }
        }
    };
    Ok(shell(&user.viewer(), lang.t("household.title"), body))
}

/// A tag code with its translation when the catalogue has one.
pub fn tag_label(lang: Lang, code: &str) -> String {
    let key = format!("tag.{code}");
    let shown = lang.t(&key);
    if shown == key {
        code.to_string()
    } else {
        shown.to_string()
    }
}

// Reading unmasked personal data: a declared purpose, one ledger entry per read.

/// Roles that may reveal unmasked personal data.
const REVEALERS: &[Role] = &[Role::Caseworker, Role::Reviewer, Role::Approver];

/// The form that reveals the unmasked members once, for a declared purpose.
fn reveal_form(user: &Signed, household_id: &str) -> Markup {
    let lang = user.lang;
    html! {
        form method="post" action={"/households/" (household_id) "/reveal"} class="reveal" {
            input type="hidden" name="csrf" value=(user.csrf);
            label for="purpose" { (lang.t("reveal.purpose")) }
            select id="purpose" name="purpose" required {
                @for p in store::REVEAL_PURPOSES {
                    option value=(p.as_str()) { (lang.t(&format!("purpose.{}", p.as_str()))) }
                }
            }
            " "
            button type="submit" class="secondary" { (lang.t("reveal.submit")) }
            p class="hint" { (lang.t("reveal.hint")) }
        }
    }
}

/// The reveal form as submitted.
#[derive(serde::Deserialize)]
pub struct RevealForm {
    csrf: String,
    purpose: String,
}

/// `POST /households/{id}/reveal`: shows the members' full names and ID numbers once, after
/// recording the read (who, role, region, when, purpose, keyed hash of what was shown) in the
/// ledger. Nothing is shown if the entry cannot be written.
pub async fn reveal(
    State(state): State<AppState>,
    user: Signed,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<RevealForm>,
) -> Result<axum::response::Response, WebError> {
    use axum::response::IntoResponse;
    user.require(REVEALERS)?;
    user.check_csrf(&form.csrf)?;
    let purpose = store::ledger::Purpose::parse(&form.purpose)
        .filter(|p| store::REVEAL_PURPOSES.contains(p))
        .ok_or_else(|| WebError::BadRequest("choose a purpose".into()))?;
    let (members, entry) = state
        .store()
        .reveal_household(&user.scope, &id, purpose, state.now())
        .await?;
    let lang = user.lang;
    let body = html! {
        h1 { (lang.t("household.title")) " " (id) }
        p class="notice" { (lang.t("reveal.recorded")) " " strong id="ledger-entry" { (entry) } }
        table {
            thead { tr {
                th scope="col" { (lang.t("household.name")) }
                th scope="col" { (lang.t("household.id")) }
                th scope="col" { (lang.t("household.relation")) }
            } }
            tbody {
                @for m in &members {
                    tr { td { (m.name.expose()) } td { (m.person_id.as_str()) } td { (m.relation.as_str()) } }
                }
            }
        }
        p { a href={"/households/" (id)} { (lang.t("reveal.back")) } }
    };
    // The page holds personal data: no cache may keep it.
    Ok((
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        shell(&user.viewer(), lang.t("household.title"), body),
    )
        .into_response())
}
