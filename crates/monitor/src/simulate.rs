//! What-if: the same households screened under a base pack and a reform pack, compared by
//! county — households and persons per tier, monthly cash per program, households gained and
//! lost per tier.

use std::collections::{BTreeMap, HashMap};

use domain::{Date, Fen, Progress, RegionCode};
use policy::pack::Pack;

use crate::lake::LakeFiles;
use crate::output::Results;
use crate::{MonitorError, RunOptions, prepare, results_of, windows};

/// One line of the comparison: a measure for a key in a county, under each pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComparisonRow {
    /// County code (12 digits), or `all` for the whole city.
    pub county: String,
    /// `households`, `persons`, `gained`, `lost` (per tier) or `cash` (per program, fen).
    pub measure: String,
    /// The tier or the program.
    pub key: String,
    /// Under the base pack.
    pub base: i64,
    /// Under the reform pack.
    pub reform: i64,
}

impl ComparisonRow {
    /// The change from base to reform.
    pub fn change(&self) -> i64 {
        self.reform - self.base
    }

    /// A value as shown: yuan for cash, a count otherwise.
    pub fn show(&self, v: i64) -> String {
        if self.measure == "cash" {
            Fen(v).to_string()
        } else {
            v.to_string()
        }
    }
}

type Key = (String, String, String);

fn county_of(region: &str) -> String {
    RegionCode::parse(region).map_or_else(|_| "unknown".to_string(), |r| r.county().to_string())
}

fn tally(results: &Results) -> (BTreeMap<Key, i64>, HashMap<String, (String, String)>) {
    let mut t: BTreeMap<Key, i64> = BTreeMap::new();
    let mut tiers: HashMap<String, (String, String)> = HashMap::new();
    let mut county_of_household: HashMap<&str, String> = HashMap::new();
    for h in &results.households {
        let county = county_of(&h.region_code);
        for c in [county.clone(), "all".to_string()] {
            *t.entry((c.clone(), "households".into(), h.tier.to_string()))
                .or_default() += 1;
            *t.entry((c.clone(), "persons".into(), h.tier.to_string()))
                .or_default() += i64::from(h.size);
            if h.dibao_amount.0 > 0 {
                *t.entry((c, "cash".into(), "dibao".into())).or_default() += h.dibao_amount.0;
            }
        }
        tiers.insert(
            h.household_id.to_string(),
            (county.clone(), h.tier.to_string()),
        );
        county_of_household.insert(h.household_id.as_str(), county);
    }
    for p in &results.persons {
        let Some(county) = county_of_household.get(p.household_id.as_str()) else {
            continue;
        };
        let program = if p.status == "tekun" {
            "tekun_support"
        } else {
            "dibao_single"
        };
        for c in [county.clone(), "all".to_string()] {
            *t.entry((c, "cash".into(), program.into())).or_default() += p.amount.0;
        }
    }
    (t, tiers)
}

/// Screens the lake under both packs and compares them.
pub fn simulate(
    lake: &LakeFiles,
    as_of: Date,
    base: &Pack,
    reform: &Pack,
    options: RunOptions,
    progress: &dyn Progress,
) -> Result<Vec<ComparisonRow>, MonitorError> {
    let (registry, check) = prepare(lake, as_of, windows(base), &options, progress)?;
    let base_results = results_of(&registry, &check, lake, as_of, base, &options, progress);
    let reform_results = if windows(reform) == windows(base) {
        results_of(&registry, &check, lake, as_of, reform, &options, progress)
    } else {
        let (registry, check) = prepare(lake, as_of, windows(reform), &options, progress)?;
        results_of(&registry, &check, lake, as_of, reform, &options, progress)
    };
    Ok(compare(&base_results, &reform_results))
}

/// Compares the results of two runs over the same households.
pub fn compare(base: &Results, reform: &Results) -> Vec<ComparisonRow> {
    let (b, base_tiers) = tally(base);
    let (r, reform_tiers) = tally(reform);
    let mut moves: BTreeMap<Key, (i64, i64)> = BTreeMap::new();
    let none = ("".to_string(), "none".to_string());
    for (id, (county, base_tier)) in &base_tiers {
        let (_, reform_tier) = reform_tiers.get(id).unwrap_or(&none);
        if base_tier != reform_tier {
            for c in [county.clone(), "all".to_string()] {
                moves
                    .entry((c.clone(), "gained".into(), reform_tier.clone()))
                    .or_default()
                    .1 += 1;
                moves
                    .entry((c, "lost".into(), base_tier.clone()))
                    .or_default()
                    .1 += 1;
            }
        }
    }
    let mut keys: Vec<&Key> = b.keys().chain(r.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut rows: Vec<ComparisonRow> = keys
        .into_iter()
        .map(|k| ComparisonRow {
            county: k.0.clone(),
            measure: k.1.clone(),
            key: k.2.clone(),
            base: b.get(k).copied().unwrap_or(0),
            reform: r.get(k).copied().unwrap_or(0),
        })
        .collect();
    for (k, (base_n, reform_n)) in moves {
        rows.push(ComparisonRow {
            county: k.0,
            measure: k.1,
            key: k.2,
            base: base_n,
            reform: reform_n,
        });
    }
    rows.sort_by(|x, y| (&x.county, &x.measure, &x.key).cmp(&(&y.county, &y.measure, &y.key)));
    rows
}

/// The header of the comparison CSV.
pub const CSV_HEADER: [&str; 6] = ["county", "measure", "key", "base", "reform", "change"];

/// A comparison row as the text fields of the CSV and the terminal table.
pub fn fields(r: &ComparisonRow) -> [String; 6] {
    [
        r.county.clone(),
        r.measure.clone(),
        r.key.clone(),
        r.show(r.base),
        r.show(r.reform),
        r.show(r.change()),
    ]
}

/// Writes the comparison as CSV.
pub fn write_csv(rows: &[ComparisonRow], path: &std::path::Path) -> Result<(), MonitorError> {
    let err = |e: &dyn std::fmt::Display| MonitorError::Write {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let mut w = csv::Writer::from_path(path).map_err(|e| err(&e))?;
    w.write_record(CSV_HEADER).map_err(|e| err(&e))?;
    for r in rows {
        w.write_record(fields(r)).map_err(|e| err(&e))?;
    }
    w.flush().map_err(|e| err(&e))?;
    Ok(())
}
