//! Synthetic batches (province 99, the test city) and writers for every format of the contract.

use arrow::array::{ArrayRef, Date32Array, Decimal128Array, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use domain::Date;
use exchange::{Feed, Lake, ValueType};
use std::path::Path;
use std::sync::Arc;

/// A resident ID with its check character computed (synthetic, province 99).
pub fn id(first17: &str) -> String {
    let c = domain::id::check_char(first17.as_bytes()) as char;
    format!("{first17}{c}")
}

/// The same ID with a wrong check character (a typing error).
pub fn mistyped(first17: &str) -> String {
    let good = domain::id::check_char(first17.as_bytes());
    let bad = if good == b'0' { '1' } else { '0' };
    format!("{first17}{bad}")
}

/// One feed file: canonical column names and rows of canonical text values.
pub struct Table {
    pub feed: Feed,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(feed: Feed, columns: &[&'static str], rows: &[&[&str]]) -> Table {
        Table {
            feed,
            columns: columns.to_vec(),
            rows: rows
                .iter()
                .map(|r| r.iter().map(|v| v.to_string()).collect())
                .collect(),
        }
    }

    fn ty(&self, c: usize) -> ValueType {
        let spec = self.feed.spec();
        spec.columns[spec.index(self.columns[c]).expect("known column")].ty
    }
}

pub const P1: &str = "99010119800101001";
pub const P2: &str = "99010119820202002";
pub const P3: &str = "99010120100303003";
pub const P4: &str = "99010119400404004";

/// A small city: two households, four persons, and a few rows of other feeds, one of them an
/// unlinked record.
pub fn small_batch() -> Vec<Table> {
    let (p1, p2, p3, p4) = (id(P1), id(P2), id(P3), id(P4));
    vec![
        Table::new(
            Feed::Population,
            &[
                "person_id",
                "name",
                "gender",
                "birth_date",
                "household_id",
                "relation",
                "region_code",
                "address",
                "status",
                "status_date",
                "spouse_id",
                "father_id",
                "mother_id",
            ],
            &[
                &[
                    &p1,
                    "张三",
                    "male",
                    "1980-01-01",
                    "H001",
                    "head",
                    "990101001201",
                    "示范市一路1号",
                    "normal",
                    "",
                    &p2,
                    "",
                    "",
                ],
                &[
                    &p2,
                    "李四",
                    "female",
                    "1982-02-02",
                    "H001",
                    "spouse",
                    "990101001201",
                    "示范市一路1号",
                    "normal",
                    "",
                    &p1,
                    "",
                    "",
                ],
                &[
                    &p3,
                    "张小明",
                    "male",
                    "2010-03-03",
                    "H001",
                    "child",
                    "990101001201",
                    "",
                    "normal",
                    "",
                    "",
                    &p1,
                    &p2,
                ],
                &[
                    &p4,
                    "王五",
                    "female",
                    "1940-04-04",
                    "H002",
                    "head",
                    "990101002001",
                    "示范市二路2号",
                    "deceased",
                    "2026-01-15",
                    "",
                    "",
                    "",
                ],
            ],
        ),
        Table::new(
            Feed::Medical,
            &[
                "person_id",
                "settled_date",
                "total_cost",
                "fund_paid",
                "out_of_pocket",
                "kind",
                "diagnosis",
                "name",
                "birth_date",
            ],
            &[
                &[
                    &p1,
                    "2026-06-03",
                    "1234.50",
                    "1000.00",
                    "234.50",
                    "inpatient",
                    "J18.9",
                    "",
                    "",
                ],
                &[
                    &mistyped(P2),
                    "2026-07-10",
                    "86000.00",
                    "52000.00",
                    "34000.00",
                    "major",
                    "",
                    "李四",
                    "1982-02-02",
                ],
            ],
        ),
        Table::new(
            Feed::Assistance,
            &[
                "person_id",
                "household_id",
                "program",
                "region_code",
                "start_date",
                "end_date",
                "monthly_amount",
            ],
            &[
                &[&p1, "H001", "dibao", "990101", "2025-01-01", "", "800.00"],
                &[
                    &p4,
                    "H002",
                    "temporary",
                    "990101",
                    "2025-03-01",
                    "2025-12-31",
                    "",
                ],
            ],
        ),
        Table::new(
            Feed::Utilities,
            &[
                "person_id",
                "period",
                "electricity_kwh",
                "water_m3",
                "arrears_months",
            ],
            &[
                &[&p1, "2026-06", "63.5", "4.25", "0"],
                &[&p2, "2026-05", "120", "", "2"],
            ],
        ),
        Table::new(
            Feed::Employment,
            &["person_id", "period", "status", "monthly_wage", "pension"],
            &[&[&p2, "2026-05", "employed", "3500.00", ""]],
        ),
    ]
}

/// Chinese forms of the canonical code words used in the fixture.
fn chinese_code(word: &str) -> &str {
    match word {
        "male" => "男",
        "female" => "女",
        "head" => "户主",
        "spouse" => "配偶",
        "child" => "子女",
        "normal" => "正常",
        "deceased" => "死亡",
        "inpatient" => "住院",
        "major" => "大病",
        "dibao" => "低保",
        "temporary" => "临时救助",
        "employed" => "就业",
        other => other,
    }
}

/// The contract's other ways of writing a value: Chinese codes, `YYYY/M/D` dates, grouped
/// money, full-width digits in IDs.
fn chinese_form(ty: ValueType, value: &str) -> String {
    match ty {
        ValueType::Code(_) => chinese_code(value).to_string(),
        ValueType::Date if !value.is_empty() => {
            let d = Date::parse(value).expect("fixture date");
            let (y, m, day) = d.ymd();
            format!("{y}/{m}/{day}")
        }
        ValueType::Money if value.len() > 6 => {
            let (int, frac) = value.split_once('.').unwrap_or((value, "00"));
            let split = int.len() - 3;
            format!("{},{}.{frac}", &int[..split], &int[split..])
        }
        ValueType::Id => value
            .chars()
            .map(|c| match c {
                '0'..='9' => char::from_u32(c as u32 - 0x30 + 0xFF10).unwrap_or(c),
                _ => c,
            })
            .collect(),
        _ => value.to_string(),
    }
}

/// CSV, UTF-8, canonical English headers.
pub fn write_csv_utf8(dir: &Path, tables: &[Table]) {
    for t in tables {
        let mut w = csv::Writer::from_path(dir.join(format!("{}.csv", t.feed))).unwrap();
        w.write_record(&t.columns).unwrap();
        for r in &t.rows {
            w.write_record(r).unwrap();
        }
        w.flush().unwrap();
    }
}

/// CSV, GB18030, Chinese headers and Chinese value forms; batch.toml names the encoding.
pub fn write_csv_gb18030(dir: &Path, tables: &[Table]) {
    std::fs::write(
        dir.join("batch.toml"),
        "source = \"示范市公安局\"\nencoding = \"gb18030\"\n",
    )
    .unwrap();
    for t in tables {
        let spec = t.feed.spec();
        let mut w = csv::Writer::from_writer(Vec::new());
        let header: Vec<&str> = t
            .columns
            .iter()
            .map(|c| {
                spec.columns[spec.index(c).unwrap()]
                    .aliases
                    .first()
                    .copied()
                    .unwrap_or(c)
            })
            .collect();
        w.write_record(&header).unwrap();
        for r in &t.rows {
            let row: Vec<String> = r
                .iter()
                .enumerate()
                .map(|(i, v)| chinese_form(t.ty(i), v))
                .collect();
            w.write_record(&row).unwrap();
        }
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        let (bytes, _, unmappable) = encoding_rs::GB18030.encode(&text);
        assert!(!unmappable);
        std::fs::write(dir.join(format!("{}.csv", t.feed)), bytes).unwrap();
    }
}

/// XLSX: dates as Excel serial numbers with a date format, money and numbers as numbers.
pub fn write_xlsx(dir: &Path, tables: &[Table]) {
    for t in tables {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        let date_format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
        for (c, name) in t.columns.iter().enumerate() {
            sheet.write_string(0, c as u16, *name).unwrap();
        }
        for (r, row) in t.rows.iter().enumerate() {
            let xr = r as u32 + 1;
            for (c, v) in row.iter().enumerate() {
                if v.is_empty() {
                    continue;
                }
                let xc = c as u16;
                match t.ty(c) {
                    ValueType::Date => {
                        let serial = f64::from(Date::parse(v).unwrap().days() + 25569);
                        sheet
                            .write_number_with_format(xr, xc, serial, &date_format)
                            .unwrap();
                    }
                    ValueType::Money | ValueType::Decimal | ValueType::Integer => {
                        sheet
                            .write_number(xr, xc, v.parse::<f64>().unwrap())
                            .unwrap();
                    }
                    _ => {
                        sheet.write_string(xr, xc, v).unwrap();
                    }
                }
            }
        }
        book.save(dir.join(format!("{}.xlsx", t.feed))).unwrap();
    }
}

/// Parquet with natural Arrow types: Utf8, Date32, Decimal128 money, Float64 decimals, Int64.
pub fn write_parquet(dir: &Path, tables: &[Table]) {
    for t in tables {
        let mut fields = Vec::new();
        let mut arrays: Vec<ArrayRef> = Vec::new();
        for (c, name) in t.columns.iter().enumerate() {
            let values: Vec<Option<&str>> = t
                .rows
                .iter()
                .map(|r| Some(r[c].as_str()).filter(|v| !v.is_empty()))
                .collect();
            let (ty, array): (DataType, ArrayRef) = match t.ty(c) {
                ValueType::Date => (
                    DataType::Date32,
                    Arc::new(Date32Array::from(
                        values
                            .iter()
                            .map(|v| v.map(|v| Date::parse(v).unwrap().days()))
                            .collect::<Vec<_>>(),
                    )),
                ),
                ValueType::Money => (
                    DataType::Decimal128(12, 2),
                    Arc::new(
                        Decimal128Array::from(
                            values
                                .iter()
                                .map(|v| {
                                    v.map(|v| i128::from(domain::Fen::parse_yuan(v).unwrap().0))
                                })
                                .collect::<Vec<_>>(),
                        )
                        .with_precision_and_scale(12, 2)
                        .unwrap(),
                    ),
                ),
                ValueType::Decimal => (
                    DataType::Float64,
                    Arc::new(Float64Array::from(
                        values
                            .iter()
                            .map(|v| v.map(|v| v.parse::<f64>().unwrap()))
                            .collect::<Vec<_>>(),
                    )),
                ),
                ValueType::Integer => (
                    DataType::Int64,
                    Arc::new(Int64Array::from(
                        values
                            .iter()
                            .map(|v| v.map(|v| v.parse::<i64>().unwrap()))
                            .collect::<Vec<_>>(),
                    )),
                ),
                _ => (DataType::Utf8, Arc::new(StringArray::from(values))),
            };
            fields.push(Field::new(*name, ty, true));
            arrays.push(array);
        }
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap();
        let file = std::fs::File::create(dir.join(format!("{}.parquet", t.feed))).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }
}

/// Every row the monitor would read for a feed, formatted and sorted.
pub fn lake_rows(data: &Path, feed: Feed) -> Vec<String> {
    let lake = Lake::open(data).unwrap();
    let mut rows = Vec::new();
    for path in lake.feed_files(feed) {
        let file = std::fs::File::open(&path).unwrap();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            assert_eq!(batch.schema().fields(), feed.spec().lake_schema.fields());
            let options = FormatOptions::default().with_null("∅");
            let formatters: Vec<_> = batch
                .columns()
                .iter()
                .map(|a| ArrayFormatter::try_new(a.as_ref(), &options).unwrap())
                .collect();
            for i in 0..batch.num_rows() {
                let cells: Vec<String> =
                    formatters.iter().map(|f| f.value(i).to_string()).collect();
                rows.push(cells.join("|"));
            }
        }
    }
    rows.sort();
    rows
}
