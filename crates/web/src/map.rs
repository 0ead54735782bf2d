//! Maps of the bureau's own region drawn as SVG from a GeoJSON file of its boundaries, keyed by
//! region code (no official boundary data ships with the project; the synthetic city makes its
//! own). Each area is coloured by a value (coverage, warnings) and links to the next level down.

use maud::{Markup, html};
use std::collections::HashMap;

/// One area of a boundary file: its region code, name and outer rings in longitude/latitude.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    /// The region code of the area (12 digits).
    pub code: String,
    /// The name shown.
    pub name: String,
    /// Outer rings of its polygons, as (longitude, latitude) pairs.
    pub rings: Vec<Vec<(f64, f64)>>,
}

/// Why a boundary file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    /// Not JSON.
    #[error("the boundary file is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// JSON, but not a FeatureCollection of polygons with a `code` property.
    #[error(
        "the boundary file is not a GeoJSON FeatureCollection of polygons keyed by `code`: {0}"
    )]
    Shape(String),
}

/// Reads a GeoJSON FeatureCollection whose features carry `properties.code` (and optionally
/// `properties.name`) and Polygon or MultiPolygon geometries. Holes are ignored.
pub fn parse_geojson(text: &str) -> Result<Vec<Area>, MapError> {
    let doc: serde_json::Value = serde_json::from_str(text)?;
    let features = doc
        .get("features")
        .and_then(|f| f.as_array())
        .ok_or_else(|| MapError::Shape("no `features` array".into()))?;
    let mut areas = Vec::with_capacity(features.len());
    for (i, f) in features.iter().enumerate() {
        let props = f.get("properties");
        let code = props
            .and_then(|p| p.get("code"))
            .and_then(|c| c.as_str())
            .ok_or_else(|| MapError::Shape(format!("feature {i} has no string `code`")))?;
        let name = props
            .and_then(|p| p.get("name"))
            .and_then(|c| c.as_str())
            .unwrap_or(code);
        let geometry = f
            .get("geometry")
            .ok_or_else(|| MapError::Shape(format!("feature {i} has no geometry")))?;
        let coords = geometry.get("coordinates");
        let polygons: Vec<&serde_json::Value> = match geometry.get("type").and_then(|t| t.as_str())
        {
            Some("Polygon") => coords.into_iter().collect(),
            Some("MultiPolygon") => coords
                .and_then(|c| c.as_array())
                .map(|a| a.iter().collect())
                .unwrap_or_default(),
            other => {
                return Err(MapError::Shape(format!(
                    "feature {i} has geometry type {other:?}"
                )));
            }
        };
        let mut rings = Vec::new();
        for polygon in polygons {
            let outer = polygon
                .as_array()
                .and_then(|r| r.first())
                .and_then(|r| r.as_array())
                .ok_or_else(|| MapError::Shape(format!("feature {i} has an empty polygon")))?;
            let ring = outer
                .iter()
                .map(|p| {
                    let lon = p.get(0).and_then(|v| v.as_f64());
                    let lat = p.get(1).and_then(|v| v.as_f64());
                    lon.zip(lat)
                        .ok_or_else(|| MapError::Shape(format!("feature {i} has a bad position")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            rings.push(ring);
        }
        areas.push(Area {
            code: code.to_string(),
            name: name.to_string(),
            rings,
        });
    }
    Ok(areas)
}

/// Draws `areas` coloured by `values` (by region code) in five classes from the smallest to the
/// largest value; areas without a value are grey. `link` gives each area's drill-down address.
pub fn choropleth(
    title: &str,
    areas: &[Area],
    values: &HashMap<String, i64>,
    shown: &dyn Fn(i64) -> String,
    link: &dyn Fn(&str) -> Option<String>,
) -> Markup {
    let (w, h) = (560.0f64, 420.0f64);
    let points = areas.iter().flat_map(|a| a.rings.iter().flatten());
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for &(x, y) in points {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    let ok = x0 < x1 && y0 < y1;
    // Equirectangular projection, corrected for latitude, fitted into the frame.
    let k = ((y0 + y1) / 2.0).to_radians().cos().max(0.1);
    let scale = if ok {
        ((w - 20.0) / ((x1 - x0) * k)).min((h - 20.0) / (y1 - y0))
    } else {
        1.0
    };
    let project = |(x, y): (f64, f64)| (10.0 + (x - x0) * k * scale, 10.0 + (y1 - y) * scale);
    let present: Vec<i64> = areas
        .iter()
        .filter_map(|a| values.get(&a.code).copied())
        .collect();
    let lo = present.iter().copied().min().unwrap_or(0);
    let hi = present.iter().copied().max().unwrap_or(0);
    let class = |v: Option<&i64>| match v {
        None => "map-none".to_string(),
        Some(&v) if hi == lo => format!("map-c{}", if v > 0 { 4 } else { 0 }),
        Some(&v) => format!("map-c{}", ((v - lo) * 5 / (hi - lo + 1)).clamp(0, 4)),
    };
    html! {
        svg class="map" role="img" aria-label=(title) viewBox={"0 0 " (w) " " (h)}
            width=(w) height=(h) xmlns="http://www.w3.org/2000/svg" {
            title { (title) }
            @for area in areas {
                @let d = area.rings.iter().map(|ring| {
                    let mut s = String::new();
                    for (i, &p) in ring.iter().enumerate() {
                        let (px, py) = project(p);
                        s.push_str(&format!("{}{px:.1},{py:.1}", if i == 0 { "M" } else { "L" }));
                    }
                    s.push('Z');
                    s
                }).collect::<String>();
                @let value = values.get(&area.code);
                @let label = format!("{}: {}", area.name, value.map(|v| shown(*v)).unwrap_or_else(|| "–".into()));
                @match link(&area.code) {
                    Some(href) => {
                        a href=(href) {
                            path d=(d) class={"map-area " (class(value))} data-code=(area.code) { title { (label) } }
                        }
                    }
                    None => {
                        path d=(d) class={"map-area " (class(value))} data-code=(area.code) { title { (label) } }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_SQUARES: &str = r#"{"type":"FeatureCollection","features":[
      {"type":"Feature","properties":{"code":"990101000000","name":"一区"},
       "geometry":{"type":"Polygon","coordinates":[[[100,30],[101,30],[101,31],[100,31],[100,30]]]}},
      {"type":"Feature","properties":{"code":"990102000000","name":"二区"},
       "geometry":{"type":"MultiPolygon","coordinates":[[[[101,30],[102,30],[102,31],[101,31],[101,30]]]]}}
    ]}"#;

    #[test]
    fn reads_polygons_and_multipolygons() {
        let areas = parse_geojson(TWO_SQUARES).unwrap();
        assert_eq!(areas.len(), 2);
        assert_eq!(areas[1].code, "990102000000");
        assert_eq!(areas[1].rings[0].len(), 5);
    }

    #[test]
    fn refuses_other_shapes() {
        assert!(parse_geojson("[]").is_err());
        assert!(parse_geojson(r#"{"features":[{"properties":{},"geometry":null}]}"#).is_err());
        assert!(parse_geojson("not json").is_err());
    }

    #[test]
    fn colours_by_value_and_links_down() {
        let areas = parse_geojson(TWO_SQUARES).unwrap();
        let values = HashMap::from([
            ("990101000000".to_string(), 5),
            ("990102000000".to_string(), 500),
        ]);
        let svg = choropleth("覆盖", &areas, &values, &|v| v.to_string(), &|c| {
            Some(format!("/map/{c}"))
        })
        .into_string();
        assert!(svg.contains("map-c0"));
        assert!(svg.contains("map-c4"));
        assert!(svg.contains(r#"href="/map/990102000000""#));
        assert!(svg.contains("二区: 500"));
    }
}
