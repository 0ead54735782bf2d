//! The map of the user's region (`/map`): counties coloured by coverage (households in a tier
//! per thousand households) or by warned households, each linking to its townships
//! (`/map/{county}`), with the same figures in a table beside it. The boundaries come from the
//! bureau's GeoJSON file (configured); the figures from the latest run, within the user's
//! region. Region codes in addresses are not personal data.

use crate::AppState;
use crate::auth::Signed;
use crate::error::WebError;
use crate::map::{Area, choropleth};
use crate::page::shell;
use crate::pages::dashboard::{READERS, area_name, area_table, latest_run};
use crate::table::{Format, export};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use domain::RegionCode;
use domain::region::RegionLevel;
use maud::html;
use std::collections::HashMap;
use store::reports::RegionDepth;

/// `?by=` and the download parameters of the map.
#[derive(Debug, Default, serde::Deserialize)]
pub struct MapQuery {
    by: Option<String>,
    format: Option<String>,
    table: Option<String>,
}

/// `GET /map`: the counties.
pub async fn counties(
    State(state): State<AppState>,
    user: Signed,
    Query(query): Query<MapQuery>,
) -> Result<Response, WebError> {
    render(&state, &user, None, &query).await
}

/// `GET /map/{county}`: the townships of one county (6 digits, or its 12-digit code).
pub async fn townships(
    State(state): State<AppState>,
    user: Signed,
    Path(code): Path<String>,
    Query(query): Query<MapQuery>,
) -> Result<Response, WebError> {
    let county = match code.len() {
        6 if code.bytes().all(|b| b.is_ascii_digit()) => code,
        12 => match RegionCode::parse(&code) {
            Ok(r) if r.level() == RegionLevel::County => r.as_str()[..6].to_string(),
            _ => return Err(WebError::NotFound),
        },
        _ => return Err(WebError::NotFound),
    };
    render(&state, &user, Some(county), &query).await
}

/// Whether an area prefix and the user's region overlap (one contains the other).
fn overlaps(prefix: &str, scope: &str) -> bool {
    prefix.starts_with(scope) || scope.starts_with(prefix)
}

async fn render(
    state: &AppState,
    user: &Signed,
    county: Option<String>,
    query: &MapQuery,
) -> Result<Response, WebError> {
    user.require(READERS)?;
    let lang = user.lang;
    let scope = user.scope.region_prefix();
    if let Some(c) = &county
        && !overlaps(c, scope)
    {
        return Err(WebError::NotFound);
    }
    let warnings = query.by.as_deref() == Some("warnings");
    let by = if warnings { "warnings" } else { "coverage" };
    let (depth, level) = match county {
        None => (RegionDepth::County, RegionLevel::County),
        Some(_) => (RegionDepth::Township, RegionLevel::Township),
    };
    let run = latest_run(state, user).await?;
    let mut figures = match &run {
        Some(run) => state.store().areas(&user.scope, &run.run_id, depth).await?,
        None => Vec::new(),
    };
    if let Some(c) = &county {
        figures.retain(|a| a.prefix.starts_with(c.as_str()));
    }
    let path = match &county {
        Some(c) => format!("/map/{c}"),
        None => "/map".to_string(),
    };
    let caption = match &county {
        Some(c) => format!(
            "{} · {}",
            area_name(state, c),
            lang.t("dashboard.by_township")
        ),
        None => lang.t("dashboard.by_county").to_string(),
    };
    let table = area_table(state, lang, "areas", caption.clone(), &figures);
    if let Some(format) = query.format.as_deref().filter(|f| !f.is_empty()) {
        let format = Format::parse(format)
            .ok_or_else(|| WebError::BadRequest("format is csv or xlsx".into()))?;
        if query
            .table
            .as_deref()
            .is_some_and(|t| !t.is_empty() && t != "areas")
        {
            return Err(WebError::NotFound);
        }
        let stem = match &county {
            Some(c) => format!("map-{c}"),
            None => "map".to_string(),
        };
        return export(state, user, format, &stem, &[&table]).await;
    }
    let digits = depth.digits();
    let areas: Vec<Area> = state
        .config()
        .boundaries
        .iter()
        .filter(|a| {
            let Ok(code) = RegionCode::parse(&a.code) else {
                return false;
            };
            let prefix = &a.code[..digits];
            code.level() == level
                && overlaps(prefix, scope)
                && county.as_deref().is_none_or(|c| prefix.starts_with(c))
        })
        .cloned()
        .collect();
    let values: HashMap<String, i64> = figures
        .iter()
        .map(|f| {
            let mut code = f.prefix.clone();
            while code.len() < 12 {
                code.push('0');
            }
            let v = if warnings {
                f.warned
            } else {
                f.coverage_per_mille()
            };
            (code, v)
        })
        .collect();
    let shown = |v: i64| {
        if warnings {
            v.to_string()
        } else {
            format!("{}.{}%", v / 10, v % 10)
        }
    };
    let drill = county.is_none();
    let by_q = by.to_string();
    let link =
        move |code: &str| drill.then(|| format!("/map/{}?by={by_q}", &code[..6.min(code.len())]));
    let title = lang.t("map.title");
    let legend = if warnings {
        lang.t("map.by_warnings")
    } else {
        lang.t("map.by_coverage")
    };
    let body = html! {
        h1 { (title) }
        p {
            @if county.is_some() { a href={"/map?by=" (by)} { "← " (lang.t("map.up")) } " · " }
            @if warnings {
                a href={(path) "?by=coverage"} { (lang.t("map.by_coverage")) } " · " strong aria-current="true" { (lang.t("map.by_warnings")) }
            } @else {
                strong aria-current="true" { (lang.t("map.by_coverage")) } " · " a href={(path) "?by=warnings"} { (lang.t("map.by_warnings")) }
            }
        }
        @if let Some(run) = &run { p { (lang.t("household.as_of")) " " (run.as_of) } }
        div class="map-layout" {
            div class="map-figure" {
                @if areas.is_empty() {
                    p { (lang.t("map.no_boundaries")) }
                } @else {
                    (choropleth(&format!("{caption} · {legend}"), &areas, &values, &shown, &link))
                    p class="legend" {
                        (legend) ": "
                        @for c in 0..5 { span class={"swatch map-c" (c)} aria-hidden="true" {} }
                        " " (lang.t("map.low_to_high"))
                    }
                    @if drill { p { (lang.t("map.drill")) } }
                }
            }
            div class="map-table" {
                (table.render(&path, lang.t("dashboard.csv"), lang.t("dashboard.xlsx")))
                @if drill {
                    ul class="drill" {
                        @for f in &figures {
                            li { a href={"/map/" (f.prefix) "?by=" (by)} { (area_name(state, &f.prefix)) } }
                        }
                    }
                }
            }
        }
    };
    Ok(shell(&user.viewer(), title, body).into_response())
}
