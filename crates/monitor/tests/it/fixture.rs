//! Tiny lakes written straight as canonical Parquet, one file per feed, for tests.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Builder, Int64Builder, RecordBatch, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema};
use domain::Date;
use monitor::{Feed, LakeFiles, lake::Kind};
use parquet::arrow::ArrowWriter;

/// A synthetic resident ID with a valid check character.
pub fn id(birth: &str, seq: u32) -> String {
    let first17 = format!("990101{}{:03}", birth.replace('-', ""), seq % 1000);
    let check = domain::id::check_char(first17.as_bytes()) as char;
    format!("{first17}{check}")
}

/// A date from text.
pub fn date(text: &str) -> Date {
    Date::parse(text).expect("test date")
}

/// Rows of one feed, as (column, value) pairs; values are text and converted by column kind
/// (dates `YYYY-MM-DD`, periods `YYYY-MM`, money in yuan).
#[derive(Default)]
pub struct City {
    rows: Vec<(Feed, Vec<(String, String)>)>,
}

impl City {
    pub fn new() -> City {
        City::default()
    }

    pub fn add(&mut self, feed: Feed, row: &[(&str, &str)]) -> &mut City {
        self.rows.push((
            feed,
            row.iter()
                .map(|(c, v)| (c.to_string(), v.to_string()))
                .collect(),
        ));
        self
    }

    /// A living person in a household.
    pub fn person(&mut self, pid: &str, household: &str, relation: &str, birth: &str) -> &mut City {
        self.add(
            Feed::Population,
            &[
                ("person_id", pid),
                ("household_id", household),
                ("relation", relation),
                ("region_code", "990101001001"),
                ("birth_date", birth),
                ("status", "normal"),
            ],
        )
    }

    /// Writes one Parquet file per feed that has rows into `dir` and lists them.
    pub fn write(&self, dir: &Path) -> LakeFiles {
        let mut lake = LakeFiles::new();
        for feed in Feed::ALL {
            let rows: Vec<&Vec<(String, String)>> = self
                .rows
                .iter()
                .filter(|(f, _)| *f == feed)
                .map(|(_, r)| r)
                .collect();
            if rows.is_empty() {
                continue;
            }
            let mut fields = Vec::new();
            let mut arrays: Vec<ArrayRef> = Vec::new();
            for (name, kind) in feed.columns() {
                let value = |r: &Vec<(String, String)>| {
                    r.iter().find(|(c, _)| c == name).map(|(_, v)| v.clone())
                };
                fields.push(Field::new(*name, kind.data_type(), true));
                match kind {
                    Kind::Text => {
                        let mut b = StringBuilder::new();
                        for r in &rows {
                            b.append_option(value(r));
                        }
                        arrays.push(Arc::new(b.finish()));
                    }
                    Kind::Date => {
                        let mut b = Date32Builder::new();
                        for r in &rows {
                            b.append_option(value(r).map(|v| {
                                if v.len() == 7 {
                                    domain::Month::parse(&v).expect("period").first_day().days()
                                } else {
                                    date(&v).days()
                                }
                            }));
                        }
                        arrays.push(Arc::new(b.finish()));
                    }
                    Kind::Money => {
                        let mut b = Int64Builder::new();
                        for r in &rows {
                            b.append_option(
                                value(r).map(|v| domain::Fen::parse_yuan(&v).expect("money").0),
                            );
                        }
                        arrays.push(Arc::new(b.finish()));
                    }
                    Kind::Centi => {
                        let mut b = Int64Builder::new();
                        for r in &rows {
                            b.append_option(
                                value(r).map(|v| domain::Fen::parse_yuan(&v).expect("decimal").0),
                            );
                        }
                        // Stored as a decimal of scale 2, as the importer writes decimals.
                        let ints = b.finish();
                        let dec = arrow::array::Decimal128Array::from(
                            ints.iter().map(|v| v.map(i128::from)).collect::<Vec<_>>(),
                        )
                        .with_precision_and_scale(18, 2)
                        .expect("decimal");
                        fields.pop();
                        fields.push(Field::new(*name, DataType::Decimal128(18, 2), true));
                        arrays.push(Arc::new(dec));
                    }
                    Kind::Integer => {
                        let mut b = StringBuilder::new();
                        for r in &rows {
                            b.append_option(value(r));
                        }
                        // Integers and grades arrive as text codes or numbers; text here.
                        fields.pop();
                        fields.push(Field::new(*name, DataType::Utf8, true));
                        arrays.push(Arc::new(b.finish()));
                    }
                }
            }
            // The columns record linkage reads, where a test gives them: population names,
            // genders and addresses; name, birth date and raw ID text of unlinked rows.
            let declared = |c: &str| feed.columns().iter().any(|(n, _)| *n == c);
            for extra in ["name", "gender", "address", "person_id_raw", "birth_date"] {
                if declared(extra) || !rows.iter().any(|r| r.iter().any(|(c, _)| c == extra)) {
                    continue;
                }
                let value = |r: &Vec<(String, String)>| {
                    r.iter().find(|(c, _)| c == extra).map(|(_, v)| v.clone())
                };
                if extra == "birth_date" {
                    let mut b = Date32Builder::new();
                    for r in &rows {
                        b.append_option(value(r).map(|v| date(&v).days()));
                    }
                    fields.push(Field::new(extra, DataType::Date32, true));
                    arrays.push(Arc::new(b.finish()));
                } else {
                    let mut b = StringBuilder::new();
                    for r in &rows {
                        b.append_option(value(r));
                    }
                    fields.push(Field::new(extra, DataType::Utf8, true));
                    arrays.push(Arc::new(b.finish()));
                }
            }
            let mut row = Int64Builder::new();
            for i in 0..rows.len() {
                row.append_value(i as i64 + 1);
            }
            fields.push(Field::new("row", DataType::Int64, false));
            arrays.push(Arc::new(row.finish()));
            let schema = Arc::new(Schema::new(fields));
            let batch = RecordBatch::try_new(schema.clone(), arrays).expect("batch");
            let path = dir.join(format!("{}.parquet", feed.name()));
            let file = std::fs::File::create(&path).expect("create");
            let mut w = ArrowWriter::try_new(file, schema, None).expect("writer");
            w.write(&batch).expect("write");
            w.close().expect("close");
            lake.add(feed, path);
        }
        lake
    }
}
