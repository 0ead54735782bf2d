//! The analyst's dashboard: the latest monitoring run of the user's region — households by tier
//! and by warning level — as SVG charts, each with the same figures as a table.

use crate::AppState;
use crate::auth::Signed;
use crate::chart::{Bar, bar_chart};
use crate::error::WebError;
use crate::page::shell;
use axum::extract::State;
use maud::{Markup, html};
use std::collections::BTreeMap;
use store::{Level, Role, Tier};

const READERS: &[Role] = &[
    Role::Analyst,
    Role::Reviewer,
    Role::Approver,
    Role::Auditor,
    Role::Administrator,
];

/// `GET /dashboard`.
pub async fn dashboard(State(state): State<AppState>, user: Signed) -> Result<Markup, WebError> {
    user.require(READERS)?;
    let lang = user.lang;
    let store = state.store();
    let runs = store.runs(&user.scope).await?;
    let Some(run) = runs.first() else {
        let body = html! { h1 { (lang.t("dashboard.title")) } p { (lang.t("dashboard.no_run")) } };
        return Ok(shell(&user.viewer(), lang.t("dashboard.title"), body));
    };
    let profiles = store.profiles(&user.scope, &run.run_id, None).await?;
    let mut tiers: BTreeMap<&str, i64> = Tier::ALL.iter().map(|t| (t.as_str(), 0)).collect();
    let mut levels: BTreeMap<&str, i64> = Level::ALL.iter().map(|l| (l.as_str(), 0)).collect();
    for p in &profiles {
        *tiers.entry(p.tier.as_str()).or_default() += 1;
        *levels.entry(p.level.as_str()).or_default() += 1;
    }
    let bars = |prefix: &str, counts: &BTreeMap<&str, i64>, order: &[&str]| -> Vec<Bar> {
        order
            .iter()
            .map(|k| {
                let value = counts.get(k).copied().unwrap_or(0);
                Bar {
                    label: lang.t(&format!("{prefix}.{k}")).to_string(),
                    value,
                    shown: value.to_string(),
                }
            })
            .collect()
    };
    let tier_order: Vec<&str> = Tier::ALL.iter().map(|t| t.as_str()).collect();
    let level_order: Vec<&str> = Level::ALL.iter().map(|l| l.as_str()).collect();
    let tier_bars = bars("tier", &tiers, &tier_order);
    let level_bars = bars("level", &levels, &level_order);
    let table = |caption: &str, rows: &[Bar]| {
        html! {
            table {
                caption { (caption) }
                tbody { @for b in rows { tr { th scope="row" { (b.label) } td class="num" { (b.shown) } } } }
            }
        }
    };
    let body = html! {
        h1 { (lang.t("dashboard.title")) }
        p { (lang.t("household.as_of")) " " (run.as_of) " · " (lang.t("dashboard.households")) " " (profiles.len()) }
        h2 { (lang.t("dashboard.by_tier")) }
        (bar_chart(lang.t("dashboard.by_tier"), &tier_bars))
        (table(lang.t("dashboard.by_tier"), &tier_bars))
        h2 { (lang.t("dashboard.by_level")) }
        (bar_chart(lang.t("dashboard.by_level"), &level_bars))
        (table(lang.t("dashboard.by_level"), &level_bars))
    };
    Ok(shell(&user.viewer(), lang.t("dashboard.title"), body))
}
