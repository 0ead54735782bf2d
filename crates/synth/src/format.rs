//! File formats of a batch: one writer per feed file, taking rows of typed [`Cell`]s and writing
//! CSV (UTF-8, English headers), CSV in GB18030 (Chinese headers and codes), XLSX (first sheet,
//! Excel dates) or Parquet (natural Arrow types). Writers stream: nothing but the current row
//! (or, for Parquet, the current record batch) is held in memory.

use crate::SynthError;
use crate::schema::{Column, ColumnType, Feed};
use arrow_array::builder::{Date32Builder, Decimal128Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use domain::{Date, Month};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The file formats the generator writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CSV in UTF-8 with the canonical English headers.
    Csv,
    /// CSV in GB18030 with the Chinese alias headers and Chinese code words.
    Gb18030,
    /// XLSX, one sheet per file, dates as Excel dates.
    Xlsx,
    /// Parquet with natural Arrow types.
    Parquet,
}

impl Format {
    /// Parses `csv`, `gb18030`, `xlsx` or `parquet`.
    pub fn parse(text: &str) -> Option<Format> {
        match text.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "gb18030" => Some(Format::Gb18030),
            "xlsx" => Some(Format::Xlsx),
            "parquet" => Some(Format::Parquet),
            _ => None,
        }
    }

    /// The file extension of a feed file.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv | Format::Gb18030 => "csv",
            Format::Xlsx => "xlsx",
            Format::Parquet => "parquet",
        }
    }

    /// The text encoding named in `batch.toml`.
    pub fn encoding(self) -> &'static str {
        match self {
            Format::Gb18030 => "gb18030",
            _ => "utf-8",
        }
    }
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// No value.
    Empty,
    /// Text (identifiers, names, free text).
    Text(String),
    /// A code: canonical English word and Chinese alias.
    Code(&'static str, &'static str),
    /// A date.
    Date(Date),
    /// A month.
    Period(Month),
    /// Money in fen.
    Money(i64),
    /// A decimal in hundredths.
    Decimal(i64),
    /// A whole number.
    Integer(i64),
    /// A deliberately invalid value, written as this text where the format allows text and
    /// left empty where the column's type cannot hold it (Parquet dates and numbers).
    Invalid(String),
}

/// Writes one feed file.
pub(crate) trait FeedWriter {
    /// Writes one data row; cells follow the feed's columns.
    fn write_row(&mut self, cells: &[Cell]) -> Result<(), SynthError>;
    /// Flushes and closes the file.
    fn finish(self: Box<Self>) -> Result<(), SynthError>;
}

/// Opens the writer of one feed file in `dir`.
pub(crate) fn open(
    format: Format,
    dir: &Path,
    feed: Feed,
) -> Result<Box<dyn FeedWriter>, SynthError> {
    let path = dir.join(format!("{}.{}", feed.as_str(), format.extension()));
    Ok(match format {
        Format::Csv => Box::new(CsvWriter::create(&path, feed, false)?),
        Format::Gb18030 => Box::new(CsvWriter::create(&path, feed, true)?),
        Format::Xlsx => Box::new(XlsxWriter::create(path, feed)),
        Format::Parquet => Box::new(ParquetFeedWriter::create(&path, feed)?),
    })
}

pub(crate) fn io_error(path: &Path, source: std::io::Error) -> SynthError {
    SynthError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Appends yuan with two decimals; `grouped` puts thousands separators in.
fn push_yuan(out: &mut String, fen: i64, grouped: bool) {
    use std::fmt::Write as _;
    if fen < 0 {
        out.push('-');
    }
    let abs = fen.unsigned_abs();
    let yuan = abs / 100;
    let digits = yuan.to_string();
    if grouped && digits.len() > 3 {
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
    } else {
        out.push_str(&digits);
    }
    let _ = write!(out, ".{:02}", abs % 100);
}

fn push_hundredths(out: &mut String, value: i64) {
    use std::fmt::Write as _;
    let abs = value.unsigned_abs();
    if value < 0 {
        out.push('-');
    }
    let _ = write!(out, "{}", abs / 100);
    if !abs.is_multiple_of(100) {
        let frac = format!("{:02}", abs % 100);
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
}

/// The text form of a cell in CSV.
fn push_text(out: &mut String, cell: &Cell, chinese: bool) {
    use std::fmt::Write as _;
    match cell {
        Cell::Empty => {}
        Cell::Text(t) | Cell::Invalid(t) => out.push_str(t),
        Cell::Code(en, zh) => out.push_str(if chinese { zh } else { en }),
        Cell::Date(d) => {
            if chinese {
                let (y, m, day) = d.ymd();
                let _ = write!(out, "{y:04}{m:02}{day:02}");
            } else {
                let _ = write!(out, "{d}");
            }
        }
        Cell::Period(m) => {
            if chinese {
                let _ = write!(out, "{:04}{:02}", m.year(), m.number());
            } else {
                let _ = write!(out, "{m}");
            }
        }
        Cell::Money(fen) => push_yuan(out, *fen, chinese),
        Cell::Decimal(h) => push_hundredths(out, *h),
        Cell::Integer(n) => {
            let _ = write!(out, "{n}");
        }
    }
}

/// CSV in UTF-8 or GB18030, RFC 4180 quoting.
struct CsvWriter {
    path: PathBuf,
    out: BufWriter<File>,
    chinese: bool,
    line: String,
    field: String,
}

impl CsvWriter {
    fn create(path: &Path, feed: Feed, chinese: bool) -> Result<CsvWriter, SynthError> {
        let file = File::create(path).map_err(|e| io_error(path, e))?;
        let mut writer = CsvWriter {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(1 << 20, file),
            chinese,
            line: String::with_capacity(256),
            field: String::with_capacity(64),
        };
        let header: Vec<Cell> = feed
            .columns()
            .iter()
            .map(|c: &Column| Cell::Text(if chinese { c.alias } else { c.name }.to_string()))
            .collect();
        writer.write_row(&header)?;
        Ok(writer)
    }
}

impl FeedWriter for CsvWriter {
    fn write_row(&mut self, cells: &[Cell]) -> Result<(), SynthError> {
        self.line.clear();
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                self.line.push(',');
            }
            self.field.clear();
            push_text(&mut self.field, cell, self.chinese);
            if self.field.contains([',', '"', '\n', '\r']) {
                self.line.push('"');
                self.line.push_str(&self.field.replace('"', "\"\""));
                self.line.push('"');
            } else {
                self.line.push_str(&self.field);
            }
        }
        self.line.push_str("\r\n");
        let result = if self.chinese {
            let (bytes, _, _) = encoding_rs::GB18030.encode(&self.line);
            self.out.write_all(&bytes)
        } else {
            self.out.write_all(self.line.as_bytes())
        };
        result.map_err(|e| io_error(&self.path, e))
    }

    fn finish(mut self: Box<Self>) -> Result<(), SynthError> {
        self.out.flush().map_err(|e| io_error(&self.path, e))
    }
}

/// The largest number of data rows an XLSX sheet holds (1,048,576 rows less the header).
pub const XLSX_MAX_DATA_ROWS: u64 = 1_048_575;

/// XLSX through rust_xlsxwriter in constant-memory mode (rows go to a temporary file).
struct XlsxWriter {
    path: PathBuf,
    feed: Feed,
    workbook: rust_xlsxwriter::Workbook,
    date_format: rust_xlsxwriter::Format,
    money_format: rust_xlsxwriter::Format,
    row: u32,
    started: bool,
}

fn xlsx_error(path: &Path, error: rust_xlsxwriter::XlsxError) -> SynthError {
    SynthError::Xlsx {
        path: path.to_path_buf(),
        message: error.to_string(),
    }
}

impl XlsxWriter {
    fn create(path: PathBuf, feed: Feed) -> XlsxWriter {
        XlsxWriter {
            path,
            feed,
            workbook: rust_xlsxwriter::Workbook::new(),
            date_format: rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd"),
            money_format: rust_xlsxwriter::Format::new().set_num_format("0.00"),
            row: 0,
            started: false,
        }
    }

    fn put(&mut self, cells: &[Cell]) -> Result<(), SynthError> {
        let path = self.path.clone();
        if !self.started {
            self.workbook
                .add_worksheet_with_constant_memory()
                .map_err(|e| xlsx_error(&path, e))?;
            self.started = true;
        }
        let sheet = self
            .workbook
            .worksheet_from_index(0)
            .map_err(|e| xlsx_error(&path, e))?;
        let row = self.row;
        for (c, cell) in cells.iter().enumerate() {
            let c = c as u16;
            let result = match cell {
                Cell::Empty => Ok(&mut *sheet),
                Cell::Text(t) | Cell::Invalid(t) => sheet.write_string(row, c, t),
                Cell::Code(en, _) => sheet.write_string(row, c, *en),
                Cell::Date(d) => sheet.write_number_with_format(
                    row,
                    c,
                    f64::from(d.days() + 25_569),
                    &self.date_format,
                ),
                Cell::Period(m) => sheet.write_string(row, c, m.to_string()),
                Cell::Money(fen) => {
                    sheet.write_number_with_format(row, c, *fen as f64 / 100.0, &self.money_format)
                }
                Cell::Decimal(h) => sheet.write_number(row, c, *h as f64 / 100.0),
                Cell::Integer(n) => sheet.write_number(row, c, *n as f64),
            };
            result.map_err(|e| xlsx_error(&path, e))?;
        }
        self.row += 1;
        Ok(())
    }
}

impl FeedWriter for XlsxWriter {
    fn write_row(&mut self, cells: &[Cell]) -> Result<(), SynthError> {
        if self.row == 0 {
            let header: Vec<Cell> = self
                .feed
                .columns()
                .iter()
                .map(|c| Cell::Text(c.name.to_string()))
                .collect();
            self.put(&header)?;
        }
        if u64::from(self.row) > XLSX_MAX_DATA_ROWS {
            return Err(SynthError::SheetRowLimit {
                feed: self.feed.as_str(),
                limit: XLSX_MAX_DATA_ROWS,
            });
        }
        self.put(cells)
    }

    fn finish(mut self: Box<Self>) -> Result<(), SynthError> {
        if self.row == 0 {
            self.write_row_header_only()?;
        }
        let path = self.path.clone();
        self.workbook.save(&path).map_err(|e| xlsx_error(&path, e))
    }
}

impl XlsxWriter {
    fn write_row_header_only(&mut self) -> Result<(), SynthError> {
        let header: Vec<Cell> = self
            .feed
            .columns()
            .iter()
            .map(|c| Cell::Text(c.name.to_string()))
            .collect();
        self.put(&header)
    }
}

/// Rows per Parquet record batch.
const PARQUET_BATCH_ROWS: usize = 65_536;

enum ColumnBuilder {
    Text(StringBuilder),
    Date(Date32Builder),
    Decimal(Decimal128Builder),
    Integer(Int64Builder),
}

impl ColumnBuilder {
    fn new(kind: ColumnType) -> ColumnBuilder {
        match kind {
            ColumnType::Text | ColumnType::Code | ColumnType::Period => {
                ColumnBuilder::Text(StringBuilder::new())
            }
            ColumnType::Date => ColumnBuilder::Date(Date32Builder::new()),
            ColumnType::Money | ColumnType::Decimal => {
                ColumnBuilder::Decimal(Decimal128Builder::new())
            }
            ColumnType::Integer => ColumnBuilder::Integer(Int64Builder::new()),
        }
    }

    fn data_type(kind: ColumnType) -> DataType {
        match kind {
            ColumnType::Text | ColumnType::Code | ColumnType::Period => DataType::Utf8,
            ColumnType::Date => DataType::Date32,
            ColumnType::Money | ColumnType::Decimal => DataType::Decimal128(18, 2),
            ColumnType::Integer => DataType::Int64,
        }
    }

    fn append(&mut self, cell: &Cell) {
        match self {
            ColumnBuilder::Text(b) => match cell {
                Cell::Empty => b.append_null(),
                Cell::Text(t) | Cell::Invalid(t) => b.append_value(t),
                Cell::Code(en, _) => b.append_value(en),
                Cell::Period(m) => b.append_value(m.to_string()),
                other => {
                    let mut s = String::new();
                    push_text(&mut s, other, false);
                    b.append_value(s);
                }
            },
            ColumnBuilder::Date(b) => match cell {
                Cell::Date(d) => b.append_value(d.days()),
                _ => b.append_null(),
            },
            ColumnBuilder::Decimal(b) => match cell {
                Cell::Money(v) | Cell::Decimal(v) => b.append_value(i128::from(*v)),
                _ => b.append_null(),
            },
            ColumnBuilder::Integer(b) => match cell {
                Cell::Integer(v) => b.append_value(*v),
                _ => b.append_null(),
            },
        }
    }

    fn finish(&mut self) -> Result<ArrayRef, arrow_schema::ArrowError> {
        Ok(match self {
            ColumnBuilder::Text(b) => Arc::new(b.finish()),
            ColumnBuilder::Date(b) => Arc::new(b.finish()),
            ColumnBuilder::Decimal(b) => Arc::new(b.finish().with_precision_and_scale(18, 2)?),
            ColumnBuilder::Integer(b) => Arc::new(b.finish()),
        })
    }
}

/// Parquet (Snappy) with one column per contract column in its natural Arrow type.
struct ParquetFeedWriter {
    path: PathBuf,
    schema: Arc<Schema>,
    builders: Vec<ColumnBuilder>,
    rows: usize,
    writer: parquet::arrow::ArrowWriter<File>,
}

fn parquet_error(path: &Path, message: impl ToString) -> SynthError {
    SynthError::Parquet {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

impl ParquetFeedWriter {
    fn create(path: &Path, feed: Feed) -> Result<ParquetFeedWriter, SynthError> {
        let fields: Vec<Field> = feed
            .columns()
            .iter()
            .map(|c| Field::new(c.name, ColumnBuilder::data_type(c.kind), true))
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let file = File::create(path).map_err(|e| io_error(path, e))?;
        let props = parquet::file::properties::WriterProperties::builder()
            .set_compression(parquet::basic::Compression::SNAPPY)
            .set_max_row_group_row_count(Some(1 << 20))
            .build();
        let writer = parquet::arrow::ArrowWriter::try_new(file, schema.clone(), Some(props))
            .map_err(|e| parquet_error(path, e))?;
        Ok(ParquetFeedWriter {
            path: path.to_path_buf(),
            builders: feed
                .columns()
                .iter()
                .map(|c| ColumnBuilder::new(c.kind))
                .collect(),
            schema,
            rows: 0,
            writer,
        })
    }

    fn flush_batch(&mut self) -> Result<(), SynthError> {
        if self.rows == 0 {
            return Ok(());
        }
        let columns = self
            .builders
            .iter_mut()
            .map(ColumnBuilder::finish)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| parquet_error(&self.path, e))?;
        let batch = RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|e| parquet_error(&self.path, e))?;
        self.writer
            .write(&batch)
            .map_err(|e| parquet_error(&self.path, e))?;
        self.rows = 0;
        Ok(())
    }
}

impl FeedWriter for ParquetFeedWriter {
    fn write_row(&mut self, cells: &[Cell]) -> Result<(), SynthError> {
        for (builder, cell) in self.builders.iter_mut().zip(cells) {
            builder.append(cell);
        }
        self.rows += 1;
        if self.rows >= PARQUET_BATCH_ROWS {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), SynthError> {
        self.flush_batch()?;
        let path = self.path.clone();
        self.writer.close().map_err(|e| parquet_error(&path, e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_written_in_yuan_with_two_decimals_and_optional_grouping() {
        let mut s = String::new();
        push_yuan(&mut s, 123_456_789, false);
        assert_eq!(s, "1234567.89");
        s.clear();
        push_yuan(&mut s, 123_456_789, true);
        assert_eq!(s, "1,234,567.89");
        s.clear();
        push_yuan(&mut s, -10_000, false);
        assert_eq!(s, "-100.00");
        s.clear();
        push_hundredths(&mut s, 6350);
        assert_eq!(s, "63.5");
    }

    #[test]
    fn chinese_csv_writes_compact_dates_and_periods() {
        let mut s = String::new();
        push_text(
            &mut s,
            &Cell::Date(Date::from_ymd(2026, 6, 3).unwrap_or(Date::from_days(0))),
            true,
        );
        assert_eq!(s, "20260603");
        s.clear();
        push_text(&mut s, &Cell::Code("male", "男"), true);
        assert_eq!(s, "男");
    }
}
