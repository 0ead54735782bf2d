//! The analysts' and leaders' dashboards, all within the user's region: the latest run by tier,
//! warning level, county and township, age band and tag (`/dashboard`); trends across runs and
//! spending by program (`/dashboard/trends`); warnings by signal, level and handling state
//! (`/dashboard/warnings`). Every chart is followed by its table, and every table downloads as
//! CSV or Excel with `?format=csv|xlsx&table=<id>` (a workbook without `table` holds them all).

use crate::AppState;
use crate::auth::Signed;
use crate::chart::{Bar, Point, bar_chart, line_chart};
use crate::error::WebError;
use crate::i18n::Lang;
use crate::page::shell;
use crate::pages::household::tag_label;
use crate::pages::tasks::signal_label;
use crate::table::{Cell, Format, Table, export};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use store::reports::{AreaFigures, GroupCount, Handling, RegionDepth, Spending, TrendPoint};
use store::{Level, Role, RunSummary, Scope, Tier};

/// Roles that see the dashboards and the map.
pub const READERS: &[Role] = &[
    Role::Analyst,
    Role::Reviewer,
    Role::Approver,
    Role::Auditor,
    Role::Administrator,
];

/// `?format=` and `?table=` of a dashboard page.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Download {
    format: Option<String>,
    table: Option<String>,
}

/// One chart (if any) and its table.
struct Section {
    chart: Option<Markup>,
    table: Table,
}

/// The name of an area: from the boundary file when it has one, else its code.
pub fn area_name(state: &AppState, prefix: &str) -> String {
    let mut code = prefix.to_string();
    while code.len() < 12 {
        code.push('0');
    }
    state
        .config()
        .boundaries
        .iter()
        .find(|a| a.code == code)
        .map(|a| a.name.clone())
        .unwrap_or_else(|| prefix.to_string())
}

fn sub_nav(lang: Lang, current: &str) -> Markup {
    let links = [
        ("/dashboard", "dashboard.overview"),
        ("/dashboard/trends", "dashboard.trends"),
        ("/dashboard/warnings", "dashboard.warnings"),
        ("/map", "nav.map"),
    ];
    html! {
        nav class="subnav" aria-label=(lang.t("dashboard.sections")) {
            ul {
                @for (href, key) in links {
                    li {
                        @if href == current {
                            a href=(href) aria-current="page" { (lang.t(key)) }
                        } @else {
                            a href=(href) { (lang.t(key)) }
                        }
                    }
                }
            }
        }
    }
}

/// Answers a dashboard page: the HTML, or a download of one or all of its tables.
#[allow(clippy::too_many_arguments)] // the parts of one page, each used once
async fn respond(
    state: &AppState,
    user: &Signed,
    path: &str,
    title: &str,
    intro: Markup,
    sections: Vec<Section>,
    query: &Download,
    file_stem: &str,
) -> Result<Response, WebError> {
    let lang = user.lang;
    if let Some(format) = query.format.as_deref().filter(|f| !f.is_empty()) {
        let format = Format::parse(format)
            .ok_or_else(|| WebError::BadRequest("format is csv or xlsx".into()))?;
        let tables: Vec<&Table> = match query.table.as_deref().filter(|t| !t.is_empty()) {
            Some(id) => {
                let t = sections
                    .iter()
                    .find(|s| s.table.id == id)
                    .map(|s| &s.table)
                    .ok_or(WebError::NotFound)?;
                vec![t]
            }
            None if format == Format::Xlsx => sections.iter().map(|s| &s.table).collect(),
            None => return Err(WebError::BadRequest("name a table to download".into())),
        };
        let name = match query.table.as_deref().filter(|t| !t.is_empty()) {
            Some(id) => format!("{file_stem}-{id}"),
            None => file_stem.to_string(),
        };
        return export(state, user, format, &name, &tables).await;
    }
    let body = html! {
        h1 { (title) }
        (sub_nav(lang, path))
        (intro)
        @if !sections.is_empty() {
            p class="downloads" {
                a href={(path) "?format=xlsx"} download { (lang.t("dashboard.download_all")) }
            }
        }
        @for s in &sections {
            section aria-labelledby={"h-" (s.table.id)} {
                h2 id={"h-" (s.table.id)} { (s.table.caption) }
                @if let Some(chart) = &s.chart { (chart) }
                (s.table.render(path, lang.t("dashboard.csv"), lang.t("dashboard.xlsx")))
            }
        }
    };
    Ok(shell(&user.viewer(), title, body).into_response())
}

fn bars(rows: &[(String, i64)]) -> Vec<Bar> {
    rows.iter()
        .map(|(label, value)| Bar {
            label: label.clone(),
            value: *value,
            shown: value.to_string(),
        })
        .collect()
}

fn group_section(
    lang: Lang,
    id: &'static str,
    caption_key: &str,
    key_header: &str,
    groups: &[GroupCount],
    label: &dyn Fn(&str) -> String,
    chart_persons: bool,
) -> Section {
    let caption = lang.t(caption_key).to_string();
    let chart_rows: Vec<(String, i64)> = groups
        .iter()
        .map(|g| {
            (
                label(&g.key),
                if chart_persons {
                    g.persons
                } else {
                    g.households
                },
            )
        })
        .collect();
    Section {
        chart: Some(bar_chart(&caption, &bars(&chart_rows))),
        table: Table {
            id,
            caption,
            headers: vec![
                lang.t(key_header).to_string(),
                lang.t("dashboard.households").to_string(),
                lang.t("dashboard.persons").to_string(),
            ],
            rows: groups
                .iter()
                .map(|g| {
                    vec![
                        Cell::Text(label(&g.key)),
                        Cell::Int(g.households),
                        Cell::Int(g.persons),
                    ]
                })
                .collect(),
        },
    }
}

fn area_section(
    state: &AppState,
    lang: Lang,
    id: &'static str,
    caption_key: &str,
    areas: &[AreaFigures],
) -> Section {
    let caption = lang.t(caption_key).to_string();
    let chart_rows: Vec<(String, i64)> = areas
        .iter()
        .map(|a| (area_name(state, &a.prefix), a.covered))
        .collect();
    Section {
        chart: Some(bar_chart(
            &format!("{caption} · {}", lang.t("dashboard.covered")),
            &bars(&chart_rows),
        )),
        table: area_table(state, lang, id, caption, areas),
    }
}

/// The table of areas shown by the dashboard and beside the map.
pub fn area_table(
    state: &AppState,
    lang: Lang,
    id: &'static str,
    caption: String,
    areas: &[AreaFigures],
) -> Table {
    Table {
        id,
        caption,
        headers: [
            "dashboard.area",
            "dashboard.code",
            "dashboard.households",
            "dashboard.persons",
            "dashboard.covered",
            "dashboard.coverage",
            "dashboard.warned",
        ]
        .iter()
        .map(|k| lang.t(k).to_string())
        .collect(),
        rows: areas
            .iter()
            .map(|a| {
                vec![
                    Cell::Text(area_name(state, &a.prefix)),
                    Cell::Text(a.prefix.clone()),
                    Cell::Int(a.households),
                    Cell::Int(a.persons),
                    Cell::Int(a.covered),
                    Cell::PerMille(a.coverage_per_mille()),
                    Cell::Int(a.warned),
                ]
            })
            .collect(),
    }
}

/// The latest run the user's roles may read, if any.
pub async fn latest_run(state: &AppState, user: &Signed) -> Result<Option<RunSummary>, WebError> {
    Ok(state.store().runs(&user.scope).await?.into_iter().next())
}

/// The figures of the overview, from the store.
#[derive(Debug, Clone)]
pub struct Overview {
    /// The run.
    pub run: RunSummary,
    /// By tier.
    pub tiers: Vec<GroupCount>,
    /// By level.
    pub levels: Vec<GroupCount>,
    /// By county.
    pub counties: Vec<AreaFigures>,
    /// By township.
    pub townships: Vec<AreaFigures>,
    /// By age band.
    pub ages: Vec<GroupCount>,
    /// By tag.
    pub tags: Vec<GroupCount>,
}

/// The overview figures already computed, by (run, region prefix). A run's figures never
/// change once it is loaded (they are aggregates of its profiles and of the persons of its
/// households), so each is computed once per region and kept; a new run is a new key. The
/// cache holds a bounded number of entries and starts afresh when full.
/// Figures are computed one region at a time (`computing`): the requests that arrive while
/// they are being computed wait for them instead of all computing the same aggregates.
#[derive(Default)]
pub struct FigureCache {
    done: std::sync::Mutex<std::collections::HashMap<(String, String), Overview>>,
    computing: tokio::sync::Mutex<()>,
}

impl FigureCache {
    const CAPACITY: usize = 512;

    fn get(&self, key: &(String, String)) -> Option<Overview> {
        self.done.lock().ok()?.get(key).cloned()
    }

    fn put(&self, key: (String, String), overview: Overview) {
        if let Ok(mut map) = self.done.lock() {
            if map.len() >= Self::CAPACITY {
                map.clear();
            }
            map.insert(key, overview);
        }
    }
}

/// Reads the overview's figures for the latest run, or `None` when there is no run.
pub async fn overview(state: &AppState, user: &Signed) -> Result<Option<Overview>, WebError> {
    user.require(READERS)?;
    overview_in(state, &user.scope).await
}

async fn overview_in(state: &AppState, scope: &Scope) -> Result<Option<Overview>, WebError> {
    let Some(run) = state.store().runs(scope).await?.into_iter().next() else {
        return Ok(None);
    };
    let key = (run.run_id.clone(), scope.region_prefix().to_string());
    if let Some(found) = state.figures().get(&key) {
        return Ok(Some(found));
    }
    let _computing = state.figures().computing.lock().await;
    if let Some(found) = state.figures().get(&key) {
        return Ok(Some(found));
    }
    let computed = compute_overview(state, scope, run).await?;
    state.figures().put(key, computed.clone());
    Ok(Some(computed))
}

/// Computes ahead the overview of the latest run for the region of every enabled user who reads
/// dashboards, so that the first analyst to open one after the server starts does not wait for
/// the aggregates (seconds at a million persons). Returns the number of regions computed.
pub async fn warm_figures(state: &AppState) -> Result<usize, WebError> {
    let users = state.store().users(&Scope::system()).await?;
    let mut regions = std::collections::BTreeMap::new();
    for user in users.iter().filter(|u| !u.disabled) {
        if let Ok(scope) = user.scope()
            && READERS.iter().any(|r| scope.has(*r))
        {
            regions.entry(user.region_prefix.clone()).or_insert(scope);
        }
    }
    let mut done = 0;
    for scope in regions.values() {
        if overview_in(state, scope).await?.is_some() {
            done += 1;
        }
    }
    Ok(done)
}

async fn compute_overview(
    state: &AppState,
    scope: &Scope,
    run: RunSummary,
) -> Result<Overview, WebError> {
    let store = state.store();
    Ok(Overview {
        tiers: store.households_by_tier(scope, &run.run_id).await?,
        levels: store.households_by_level(scope, &run.run_id).await?,
        counties: store.areas(scope, &run.run_id, RegionDepth::County).await?,
        townships: store
            .areas(scope, &run.run_id, RegionDepth::Township)
            .await?,
        ages: store
            .persons_by_age_band(scope, &run.run_id, run.as_of)
            .await?,
        tags: store.households_by_tag(scope, &run.run_id).await?,
        run,
    })
}

/// `GET /dashboard`.
pub async fn dashboard(
    State(state): State<AppState>,
    user: Signed,
    Query(query): Query<Download>,
) -> Result<Response, WebError> {
    let lang = user.lang;
    let title = lang.t("dashboard.title");
    let Some(o) = overview(&state, &user).await? else {
        let intro = html! { p { (lang.t("dashboard.no_run")) } };
        return respond(
            &state,
            &user,
            "/dashboard",
            title,
            intro,
            vec![],
            &query,
            "dashboard",
        )
        .await;
    };
    let households: i64 = o.tiers.iter().map(|t| t.households).sum();
    let persons: i64 = o.tiers.iter().map(|t| t.persons).sum();
    let intro = html! {
        p { (lang.t("household.as_of")) " " (o.run.as_of) " · " (lang.t("dashboard.households")) " " (households) " · " (lang.t("dashboard.persons")) " " (persons) }
    };
    let tier = |k: &str| lang.t(&format!("tier.{k}")).to_string();
    let level = |k: &str| lang.t(&format!("level.{k}")).to_string();
    let plain = |k: &str| k.to_string();
    let tag = |k: &str| tag_label(lang, k);
    let sections = vec![
        group_section(
            lang,
            "by_tier",
            "dashboard.by_tier",
            "household.tier",
            &o.tiers,
            &tier,
            false,
        ),
        group_section(
            lang,
            "by_level",
            "dashboard.by_level",
            "tasks.level",
            &o.levels,
            &level,
            false,
        ),
        area_section(
            &state,
            lang,
            "by_county",
            "dashboard.by_county",
            &o.counties,
        ),
        area_section(
            &state,
            lang,
            "by_township",
            "dashboard.by_township",
            &o.townships,
        ),
        group_section(
            lang,
            "by_age",
            "dashboard.by_age",
            "dashboard.age_band",
            &o.ages,
            &plain,
            true,
        ),
        group_section(
            lang,
            "by_tag",
            "dashboard.by_tag",
            "household.tags",
            &o.tags,
            &tag,
            false,
        ),
    ];
    let stem = format!("dashboard-{}", o.run.as_of);
    respond(
        &state,
        &user,
        "/dashboard",
        title,
        intro,
        sections,
        &query,
        &stem,
    )
    .await
}

/// Trends and spending, from the store.
pub async fn trend_figures(
    state: &AppState,
    user: &Signed,
) -> Result<(Vec<TrendPoint>, Vec<Spending>), WebError> {
    user.require(READERS)?;
    let store = state.store();
    Ok((
        store.trends(&user.scope).await?,
        store.spending(&user.scope).await?,
    ))
}

/// `GET /dashboard/trends`.
pub async fn trends(
    State(state): State<AppState>,
    user: Signed,
    Query(query): Query<Download>,
) -> Result<Response, WebError> {
    let lang = user.lang;
    let (points, spending) = trend_figures(&state, &user).await?;
    let tiers: Vec<Tier> = Tier::ALL
        .iter()
        .copied()
        .filter(|t| *t != Tier::None)
        .collect();
    let mut series: Vec<(String, Vec<Point>)> = tiers
        .iter()
        .map(|t| {
            (
                lang.t(&format!("tier.{}", t.as_str())).to_string(),
                points
                    .iter()
                    .map(|p| Point {
                        label: p.as_of.to_string(),
                        value: p.by_tier.get(t).copied().unwrap_or(0),
                    })
                    .collect(),
            )
        })
        .collect();
    series.push((
        lang.t("dashboard.warned").to_string(),
        points
            .iter()
            .map(|p| Point {
                label: p.as_of.to_string(),
                value: p.warned,
            })
            .collect(),
    ));
    let caption = lang.t("dashboard.trend").to_string();
    let mut headers = vec![
        lang.t("household.as_of").to_string(),
        lang.t("dashboard.households").to_string(),
    ];
    headers.extend(
        tiers
            .iter()
            .map(|t| lang.t(&format!("tier.{}", t.as_str())).to_string()),
    );
    headers.push(lang.t("dashboard.warned").to_string());
    let trend = Section {
        chart: Some(line_chart(&caption, &series)),
        table: Table {
            id: "trend",
            caption,
            headers,
            rows: points
                .iter()
                .map(|p| {
                    let mut row = vec![Cell::Text(p.as_of.to_string()), Cell::Int(p.households)];
                    row.extend(
                        tiers
                            .iter()
                            .map(|t| Cell::Int(p.by_tier.get(t).copied().unwrap_or(0))),
                    );
                    row.push(Cell::Int(p.warned));
                    row
                })
                .collect(),
        },
    };
    let mut programs: Vec<&str> = spending.iter().map(|s| s.program.as_str()).collect();
    programs.sort();
    programs.dedup();
    let dates: Vec<String> = points.iter().map(|p| p.as_of.to_string()).collect();
    let program = |p: &str| lang.t(&format!("program.{p}")).to_string();
    let money_series: Vec<(String, Vec<Point>)> = programs
        .iter()
        .map(|p| {
            (
                program(p),
                dates
                    .iter()
                    .map(|d| Point {
                        label: d.clone(),
                        // The chart is drawn in whole yuan; the table has the exact amounts.
                        value: spending
                            .iter()
                            .filter(|s| s.program == *p && s.as_of.to_string() == *d)
                            .map(|s| s.amount.0 / 100)
                            .sum(),
                    })
                    .collect(),
            )
        })
        .collect();
    let caption = lang.t("dashboard.spending").to_string();
    let spend = Section {
        chart: Some(line_chart(&caption, &money_series)),
        table: Table {
            id: "spending",
            caption,
            headers: vec![
                lang.t("household.as_of").to_string(),
                lang.t("dashboard.program").to_string(),
                lang.t("dashboard.recipients").to_string(),
                lang.t("dashboard.monthly_amount").to_string(),
            ],
            rows: spending
                .iter()
                .map(|s| {
                    vec![
                        Cell::Text(s.as_of.to_string()),
                        Cell::Text(program(&s.program)),
                        Cell::Int(s.recipients),
                        Cell::Money(s.amount),
                    ]
                })
                .collect(),
        },
    };
    let intro = if points.is_empty() {
        html! { p { (lang.t("dashboard.no_run")) } }
    } else {
        html! { p { (lang.t("dashboard.runs")) " " (points.len()) } }
    };
    respond(
        &state,
        &user,
        "/dashboard/trends",
        lang.t("dashboard.trends"),
        intro,
        vec![trend, spend],
        &query,
        "trends",
    )
    .await
}

/// `GET /dashboard/warnings`.
pub async fn warnings(
    State(state): State<AppState>,
    user: Signed,
    Query(query): Query<Download>,
) -> Result<Response, WebError> {
    user.require(READERS)?;
    let lang = user.lang;
    let figures = state
        .store()
        .warning_figures(&user.scope, state.today())
        .await?;
    let handling = |h: Handling| lang.t(&format!("handling.{}", h.as_str())).to_string();
    let level = |l: Level| lang.t(&format!("level.{}", l.as_str())).to_string();
    let mut signals: Vec<&str> = figures.iter().map(|f| f.signal.as_str()).collect();
    signals.sort();
    signals.dedup();
    let total = |pred: &dyn Fn(&store::reports::WarningFigure) -> bool| -> i64 {
        figures.iter().filter(|f| pred(f)).map(|f| f.count).sum()
    };
    let simple =
        |id: &'static str, caption_key: &str, header_key: &str, rows: Vec<(String, i64)>| {
            let caption = lang.t(caption_key).to_string();
            Section {
                chart: Some(bar_chart(&caption, &bars(&rows))),
                table: Table {
                    id,
                    caption,
                    headers: vec![
                        lang.t(header_key).to_string(),
                        lang.t("dashboard.warnings_count").to_string(),
                    ],
                    rows: rows
                        .into_iter()
                        .map(|(k, v)| vec![Cell::Text(k), Cell::Int(v)])
                        .collect(),
                },
            }
        };
    let by_signal = simple(
        "by_signal",
        "dashboard.by_signal",
        "tasks.signal",
        signals
            .iter()
            .map(|s| (signal_label(lang, s), total(&|f| f.signal == *s)))
            .collect(),
    );
    let by_level = simple(
        "by_level",
        "dashboard.by_level_warnings",
        "tasks.level",
        Level::ALL
            .iter()
            .filter(|l| **l != Level::None)
            .map(|l| (level(*l), total(&|f| f.level == *l)))
            .collect(),
    );
    let by_handling = simple(
        "by_handling",
        "dashboard.by_handling",
        "dashboard.handling",
        Handling::ALL
            .iter()
            .map(|h| (handling(*h), total(&|f| f.handling == *h)))
            .collect(),
    );
    let detail = Section {
        chart: None,
        table: Table {
            id: "detail",
            caption: lang.t("dashboard.warnings_detail").to_string(),
            headers: vec![
                lang.t("tasks.signal").to_string(),
                lang.t("tasks.level").to_string(),
                lang.t("dashboard.handling").to_string(),
                lang.t("dashboard.warnings_count").to_string(),
            ],
            rows: figures
                .iter()
                .map(|f| {
                    vec![
                        Cell::Text(signal_label(lang, &f.signal)),
                        Cell::Text(level(f.level)),
                        Cell::Text(handling(f.handling)),
                        Cell::Int(f.count),
                    ]
                })
                .collect(),
        },
    };
    let intro = html! {
        p { (lang.t("dashboard.warnings_intro")) " " (state.today()) }
    };
    respond(
        &state,
        &user,
        "/dashboard/warnings",
        lang.t("dashboard.warnings"),
        intro,
        vec![by_signal, by_level, by_handling, detail],
        &query,
        "warnings",
    )
    .await
}
