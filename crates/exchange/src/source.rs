//! Reading feed files (CSV, XLSX, Parquet) as chunks of raw records.
//!
//! Every format becomes the same [`RawChunk`]: the fields of a few tens of thousands of records
//! as one byte buffer with offsets, so that the validation workers have one input shape and one
//! code path. CSV fields stay in the file's encoding (GB18030 keeps ASCII delimiters intact, so
//! splitting before decoding is safe) and are transcoded by the workers; XLSX and Parquet
//! cells are written as UTF-8 text (dates as `YYYY-MM-DD`, months as `YYYY-MM`) — Parquet's
//! by the workers too ([`RawChunk::into_text`]), so that the reader thread only decodes.

use crate::schema::ValueType;
use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use arrow_schema::DataType;
use calamine::{Data, Reader};
use domain::Date;
use encoding_rs::GB18030;
use std::borrow::Cow;
use std::fmt::Write as _;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

/// Records per chunk handed to a validation worker.
pub const CHUNK_ROWS: usize = 32 * 1024;

/// The text encoding of a CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextEncoding {
    /// UTF-8 (a BOM is allowed); the default.
    #[default]
    #[serde(rename = "utf-8")]
    Utf8,
    /// GB18030, which includes GBK and GB2312.
    Gb18030,
}

impl TextEncoding {
    /// Parses an encoding label: `utf-8`/`utf8`, `gb18030`, `gbk`, `gb2312` (any case).
    pub fn parse(label: &str) -> Option<TextEncoding> {
        match label.trim().to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Some(TextEncoding::Utf8),
            "gb18030" | "gbk" | "gb2312" | "cp936" => Some(TextEncoding::Gb18030),
            _ => None,
        }
    }

    /// The canonical label.
    pub fn as_str(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "utf-8",
            TextEncoding::Gb18030 => "gb18030",
        }
    }

    /// Decodes one field; `None` when the bytes are not text in this encoding.
    pub fn decode(self, bytes: &[u8]) -> Option<Cow<'_, str>> {
        match self {
            TextEncoding::Utf8 => std::str::from_utf8(bytes).ok().map(Cow::Borrowed),
            TextEncoding::Gb18030 => {
                GB18030.decode_without_bom_handling_and_without_replacement(bytes)
            }
        }
    }
}

/// The file formats of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Comma-separated values.
    Csv,
    /// Excel workbook (first sheet).
    Xlsx,
    /// Apache Parquet.
    Parquet,
}

impl Format {
    /// The format of a file extension (`csv`, `xlsx`, `parquet`), case-insensitive.
    pub fn from_extension(ext: &str) -> Option<Format> {
        match ext.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            "parquet" => Some(Format::Parquet),
            _ => None,
        }
    }
}

/// Records of a file, as field bytes with offsets.
#[derive(Debug, Default)]
pub struct RawChunk {
    /// Row number of the first record (data rows count from 1).
    pub first_row: u64,
    /// The encoding of the field bytes.
    pub encoding: TextEncoding,
    /// All field bytes, concatenated.
    pub data: Vec<u8>,
    /// The end offset in `data` of each field.
    pub field_ends: Vec<usize>,
    /// For each record, the end index in `field_ends` of its fields.
    pub record_ends: Vec<usize>,
    /// Source bytes (or rows, for XLSX and Parquet) this chunk covers, for progress.
    pub work: u64,
    /// Parquet rows not yet written as text, with the contract type of each column: the
    /// reader only decodes, and [`RawChunk::into_text`] (run by a validation worker) writes
    /// the fields.
    pub arrow: Option<(arrow_array::RecordBatch, Vec<Option<ValueType>>)>,
}

impl RawChunk {
    fn new(first_row: u64, encoding: TextEncoding) -> RawChunk {
        RawChunk {
            first_row,
            encoding,
            ..RawChunk::default()
        }
    }

    /// The number of records.
    pub fn len(&self) -> usize {
        match &self.arrow {
            Some((batch, _)) => batch.num_rows(),
            None => self.record_ends.len(),
        }
    }

    /// Whether the chunk has no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The same records as UTF-8 text fields: Parquet rows written out, GB18030 transcoded
    /// (a field that is not GB18030 text becomes a single invalid byte, so that decoding it
    /// still fails), UTF-8 as it is.
    pub fn into_text(mut self) -> Result<RawChunk, arrow_schema::ArrowError> {
        if let Some((batch, types)) = self.arrow.take() {
            let columns: Vec<ColumnText> = (0..batch.num_columns())
                .map(|i| ColumnText::new(batch.column(i).as_ref(), types.get(i).copied().flatten()))
                .collect::<Result<_, _>>()?;
            let mut text = String::new();
            self.data.reserve(batch.num_rows() * columns.len() * 8);
            for row in 0..batch.num_rows() {
                for column in &columns {
                    self.push_field(column.cell(row, &mut text));
                }
                self.end_record();
            }
            return Ok(self);
        }
        if self.encoding == TextEncoding::Utf8 {
            return Ok(self);
        }
        let mut out = RawChunk {
            first_row: self.first_row,
            encoding: TextEncoding::Utf8,
            data: Vec::new(),
            field_ends: Vec::with_capacity(self.field_ends.len()),
            record_ends: self.record_ends,
            work: self.work,
            arrow: None,
        };
        out.data.reserve(self.data.len() + self.data.len() / 2);
        let mut start = 0;
        for &end in &self.field_ends {
            if !crate::gb18030::decode_into(&self.data[start..end], &mut out.data) {
                out.data.push(0xFF);
            }
            out.field_ends.push(out.data.len());
            start = end;
        }
        Ok(out)
    }

    /// The byte ranges in `data` of the fields of record `i`.
    pub fn record_ranges(&self, i: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
        let from = if i == 0 { 0 } else { self.record_ends[i - 1] };
        let to = self.record_ends[i];
        (from..to).map(move |f| {
            let start = if f == 0 { 0 } else { self.field_ends[f - 1] };
            start..self.field_ends[f]
        })
    }

    fn push_field(&mut self, bytes: &[u8]) {
        self.data.extend_from_slice(bytes);
        self.field_ends.push(self.data.len());
    }

    fn end_record(&mut self) {
        self.record_ends.push(self.field_ends.len());
    }
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Reading the file failed.
    #[error("cannot read {file}: {source}")]
    Io {
        /// The file name.
        file: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The CSV structure is broken (e.g. an unclosed quote).
    #[error("{file} is not readable CSV: {message}")]
    Csv {
        /// The file name.
        file: String,
        /// What the CSV reader said (no cell values).
        message: String,
    },
    /// The workbook cannot be opened or has no sheet.
    #[error("{file} is not a readable XLSX workbook: {message}")]
    Xlsx {
        /// The file name.
        file: String,
        /// What the workbook reader said.
        message: String,
    },
    /// The Parquet file cannot be read.
    #[error("{file} is not a readable Parquet file: {message}")]
    Parquet {
        /// The file name.
        file: String,
        /// What the Parquet reader said.
        message: String,
    },
    /// The file has no header row.
    #[error("{file} has no header row")]
    NoHeader {
        /// The file name.
        file: String,
    },
}

/// An open feed file: its header, then its records chunk by chunk.
pub struct SourceFile {
    /// The header names as written (decoded, not yet normalised).
    pub header: Vec<String>,
    /// Total work units (bytes for CSV, rows otherwise), for progress.
    pub total_work: u64,
    inner: Inner,
    file: String,
    next_row: u64,
    date_like: Vec<Option<ValueType>>,
}

enum Inner {
    Csv {
        reader: csv::Reader<BufReader<File>>,
        encoding: TextEncoding,
        last_pos: u64,
    },
    Xlsx {
        rows: calamine::Range<Data>,
        next: usize,
    },
    Parquet {
        reader: parquet::arrow::arrow_reader::ParquetRecordBatchReader,
    },
}

impl SourceFile {
    /// Opens a file and reads its header.
    pub fn open(
        path: &Path,
        format: Format,
        encoding: TextEncoding,
    ) -> Result<SourceFile, SourceError> {
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let io = |source| SourceError::Io {
            file: file.clone(),
            source,
        };
        let (header, total_work, inner) = match format {
            Format::Csv => {
                let f = File::open(path).map_err(io)?;
                let total = f.metadata().map_err(io)?.len();
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .flexible(true)
                    .buffer_capacity(1 << 20)
                    .from_reader(BufReader::with_capacity(1 << 20, f));
                let mut record = csv::ByteRecord::new();
                let found = reader
                    .read_byte_record(&mut record)
                    .map_err(|e| SourceError::Csv {
                        file: file.clone(),
                        message: e.to_string(),
                    })?;
                if !found {
                    return Err(SourceError::NoHeader { file });
                }
                let header = record
                    .iter()
                    .enumerate()
                    .map(|(i, b)| {
                        let b = if i == 0 {
                            b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b)
                        } else {
                            b
                        };
                        match encoding.decode(b) {
                            Some(s) => s.into_owned(),
                            None => String::from_utf8_lossy(b).into_owned(),
                        }
                    })
                    .collect();
                let last_pos = record.position().map_or(0, |p| p.byte());
                (
                    header,
                    total,
                    Inner::Csv {
                        reader,
                        encoding,
                        last_pos,
                    },
                )
            }
            Format::Xlsx => {
                let xlsx_err = |e: &dyn std::fmt::Display| SourceError::Xlsx {
                    file: file.clone(),
                    message: e.to_string(),
                };
                let mut book: calamine::Xlsx<_> =
                    calamine::open_workbook(path).map_err(|e| xlsx_err(&e))?;
                let range = match book.worksheet_range_at(0) {
                    Some(r) => r.map_err(|e| xlsx_err(&e))?,
                    None => return Err(xlsx_err(&"the workbook has no sheet")),
                };
                // Row 1 of the sheet is the header, even when the used range starts lower.
                let start_row = range.start().map_or(0, |(r, _)| r);
                if start_row != 0 {
                    return Err(SourceError::NoHeader { file });
                }
                let header: Vec<String> = match range.rows().next() {
                    Some(cells) => cells.iter().map(cell_text_plain).collect(),
                    None => return Err(SourceError::NoHeader { file }),
                };
                let total = range.height().saturating_sub(1) as u64;
                (
                    header,
                    total,
                    Inner::Xlsx {
                        rows: range,
                        next: 1,
                    },
                )
            }
            Format::Parquet => {
                let pq = |e: &dyn std::fmt::Display| SourceError::Parquet {
                    file: file.clone(),
                    message: e.to_string(),
                };
                let f = File::open(path).map_err(io)?;
                let builder =
                    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
                        .map_err(|e| pq(&e))?;
                let total = builder.metadata().file_metadata().num_rows().max(0) as u64;
                let header = builder
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect();
                let reader = builder
                    .with_batch_size(CHUNK_ROWS)
                    .build()
                    .map_err(|e| pq(&e))?;
                (header, total, Inner::Parquet { reader })
            }
        };
        Ok(SourceFile {
            header,
            total_work,
            inner,
            file,
            next_row: 1,
            date_like: Vec::new(),
        })
    }

    /// Tells the reader which file columns hold dates or months, so that XLSX serial numbers
    /// and Parquet temporal values become contract date text.
    pub fn set_column_types(&mut self, types: Vec<Option<ValueType>>) {
        self.date_like = types;
    }

    fn column_type(&self, i: usize) -> Option<ValueType> {
        self.date_like.get(i).copied().flatten()
    }

    /// The next chunk of records, or `None` at the end of the file.
    pub fn next_chunk(&mut self) -> Result<Option<RawChunk>, SourceError> {
        let chunk = match &mut self.inner {
            Inner::Csv {
                reader,
                encoding,
                last_pos,
            } => {
                let mut chunk = RawChunk::new(self.next_row, *encoding);
                let mut record = csv::ByteRecord::new();
                chunk.data.reserve(CHUNK_ROWS * 64);
                while chunk.len() < CHUNK_ROWS {
                    let more =
                        reader
                            .read_byte_record(&mut record)
                            .map_err(|e| SourceError::Csv {
                                file: self.file.clone(),
                                message: e.to_string(),
                            })?;
                    if !more {
                        break;
                    }
                    let base = chunk.data.len();
                    chunk.data.extend_from_slice(record.as_slice());
                    for i in 0..record.len() {
                        if let Some(r) = record.range(i) {
                            chunk.field_ends.push(base + r.end);
                        }
                    }
                    chunk.end_record();
                }
                let pos = reader.position().byte();
                chunk.work = pos.saturating_sub(*last_pos);
                *last_pos = pos;
                chunk
            }
            Inner::Xlsx { rows, next } => {
                let mut chunk = RawChunk::new(self.next_row, TextEncoding::Utf8);
                let height = rows.height();
                let width = rows.width();
                let mut text = String::new();
                while chunk.len() < CHUNK_ROWS && *next < height {
                    for c in 0..width {
                        text.clear();
                        let cell = rows.get((*next, c)).unwrap_or(&Data::Empty);
                        let ty = self.date_like.get(c).copied().flatten();
                        write_cell(&mut text, cell, ty);
                        chunk.push_field(text.as_bytes());
                    }
                    chunk.end_record();
                    *next += 1;
                }
                chunk.work = chunk.len() as u64;
                chunk
            }
            Inner::Parquet { reader } => {
                let batch = match reader.next() {
                    None => return Ok(None),
                    Some(b) => b.map_err(|e| SourceError::Parquet {
                        file: self.file.clone(),
                        message: e.to_string(),
                    })?,
                };
                let mut chunk = RawChunk::new(self.next_row, TextEncoding::Utf8);
                let types = (0..batch.num_columns())
                    .map(|i| self.column_type(i))
                    .collect();
                chunk.arrow = Some((batch, types));
                chunk.work = chunk.len() as u64;
                chunk
            }
        };
        if chunk.is_empty() {
            return Ok(None);
        }
        self.next_row += chunk.len() as u64;
        Ok(Some(chunk))
    }
}

fn cell_text_plain(cell: &Data) -> String {
    let mut s = String::new();
    write_cell(&mut s, cell, None);
    s
}

/// Writes an XLSX cell as contract text. Date and month columns turn serial numbers into
/// `YYYY-MM-DD` / `YYYY-MM`; whole numbers lose their `.0`.
fn write_cell(out: &mut String, cell: &Data, ty: Option<ValueType>) {
    let serial = match cell {
        Data::Float(f) => Some(*f),
        Data::Int(i) => Some(*i as f64),
        Data::DateTime(d) => Some(d.as_f64()),
        _ => None,
    };
    if let (Some(ty), Some(serial)) = (ty.filter(|t| t.is_date_like()), serial) {
        // An 8-digit number in a date column is YYYYMMDD typed as a number, not a serial.
        if (10_000_000.0..100_000_000.0).contains(&serial)
            || (100_000.0..1_000_000.0).contains(&serial)
        {
            let _ = write!(out, "{serial:.0}");
            return;
        }
        if let Some(date) = Date::from_excel_serial(serial) {
            write_date(out, date, ty);
        }
        return;
    }
    match cell {
        Data::Empty | Data::Error(_) => {}
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => out.push_str(s),
        Data::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Data::Float(f) => write_float(out, *f),
        Data::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Data::DateTime(d) => write_float(out, d.as_f64()),
    }
}

/// Writes a floating-point cell as decimal text. Whole numbers lose their `.0`; a value that
/// is exactly a number of hundredths (money, as spreadsheets and some databases store it) is
/// written with two decimals without the general float formatting; anything else in the
/// shortest form that reads back as the same number.
fn write_float(out: &mut String, f: f64) {
    if f.abs() < 1e13 {
        let hundredths = (f * 100.0).round();
        // Below 10^13 two different hundredths are never the same float, so this test finds
        // exactly the floats whose shortest decimal form has at most two decimals.
        if hundredths / 100.0 == f {
            let h = hundredths as i128;
            if h % 100 == 0 {
                write_scaled(out, h / 100, 0);
            } else {
                write_scaled(out, h, 2);
            }
            return;
        }
    }
    if f.fract() == 0.0 && f.abs() < 1e15 {
        let _ = write!(out, "{f:.0}");
    } else {
        let _ = write!(out, "{f}");
    }
}

/// Writes a date as `YYYY-MM-DD`, or `YYYY-MM` for a period column, as `Date`'s and `Month`'s
/// `Display` do (digits written directly: this runs for every date cell of a Parquet file).
fn write_date(out: &mut String, date: Date, ty: ValueType) {
    let (y, m, d) = date.ymd();
    let year = y.unsigned_abs();
    if !(1000..=9999).contains(&y) {
        let _ = if ty == ValueType::Period {
            write!(out, "{}", date.month())
        } else {
            write!(out, "{date}")
        };
        return;
    }
    let digit = |v: u32| char::from(b'0' + (v % 10) as u8);
    out.extend([
        digit(year / 1000),
        digit(year / 100),
        digit(year / 10),
        digit(year),
        '-',
        digit(m / 10),
        digit(m),
    ]);
    if ty != ValueType::Period {
        out.extend(['-', digit(d / 10), digit(d)]);
    }
}

/// Writes `v / 10^scale` as plain decimal text with exactly `scale` places (`1234.50`), as
/// Arrow's display does, without going through the formatting machinery.
fn write_scaled(out: &mut String, v: i128, scale: u32) {
    let mut digits = [0u8; 40];
    let mut len = 0;
    // 64-bit division where the value allows it: 128-bit division is a library call.
    match u64::try_from(v.unsigned_abs()) {
        Ok(mut n) => loop {
            digits[len] = b'0' + (n % 10) as u8;
            n /= 10;
            len += 1;
            if n == 0 {
                break;
            }
        },
        Err(_) => {
            let mut n = v.unsigned_abs();
            loop {
                digits[len] = b'0' + (n % 10) as u8;
                n /= 10;
                len += 1;
                if n == 0 {
                    break;
                }
            }
        }
    }
    let scale = scale as usize;
    while len <= scale {
        digits[len] = b'0';
        len += 1;
    }
    if v < 0 {
        out.push('-');
    }
    for i in (0..len).rev() {
        if i + 1 == scale {
            out.push('.');
        }
        out.push(char::from(digits[i]));
    }
}

/// Text of one Parquet column: strings borrowed, dates in contract form, anything else through
/// Arrow's display formatting (decimals keep their scale: `1234.50`).
enum ColumnText<'a> {
    Int64(&'a arrow::array::Int64Array),
    Int32(&'a arrow::array::Int32Array),
    Decimal(&'a arrow::array::Decimal128Array, u32),
    Float64(&'a arrow::array::Float64Array),
    Utf8(&'a arrow::array::StringArray),
    LargeUtf8(&'a arrow::array::LargeStringArray),
    View(&'a arrow::array::StringViewArray),
    Dates(arrow::array::Date32Array, ValueType),
    Other(ArrayFormatter<'a>, &'a dyn Array),
}

impl<'a> ColumnText<'a> {
    fn new(
        array: &'a dyn Array,
        ty: Option<ValueType>,
    ) -> Result<ColumnText<'a>, arrow_schema::ArrowError> {
        let temporal = matches!(
            array.data_type(),
            DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _)
        );
        if let Some(ty) = ty.filter(|t| t.is_date_like() && temporal) {
            let dates = cast(array, &DataType::Date32)?;
            return Ok(ColumnText::Dates(
                dates.as_primitive::<arrow::datatypes::Date32Type>().clone(),
                ty,
            ));
        }
        Ok(match array.data_type() {
            DataType::Utf8 => ColumnText::Utf8(array.as_string::<i32>()),
            DataType::LargeUtf8 => ColumnText::LargeUtf8(array.as_string::<i64>()),
            DataType::Utf8View => ColumnText::View(array.as_string_view()),
            DataType::Int64 => ColumnText::Int64(array.as_primitive()),
            DataType::Int32 => ColumnText::Int32(array.as_primitive()),
            DataType::Float64 => ColumnText::Float64(array.as_primitive()),
            DataType::Decimal128(_, scale) if (0..=38).contains(scale) => {
                ColumnText::Decimal(array.as_primitive(), *scale as u32)
            }
            _ => {
                let options = FormatOptions::default();
                ColumnText::Other(ArrayFormatter::try_new(array, &options)?, array)
            }
        })
    }

    /// The cell's bytes, borrowed when the column holds text; otherwise written to `out`.
    fn cell<'s>(&'s self, row: usize, out: &'s mut String) -> &'s [u8] {
        match self {
            ColumnText::Utf8(a) if a.is_valid(row) => a.value(row).as_bytes(),
            ColumnText::LargeUtf8(a) if a.is_valid(row) => a.value(row).as_bytes(),
            ColumnText::View(a) if a.is_valid(row) => a.value(row).as_bytes(),
            _ => {
                out.clear();
                self.write(row, out);
                out.as_bytes()
            }
        }
    }

    fn write(&self, row: usize, out: &mut String) {
        match self {
            ColumnText::Int64(a) if a.is_valid(row) => {
                write_scaled(out, i128::from(a.value(row)), 0)
            }
            ColumnText::Int32(a) if a.is_valid(row) => {
                write_scaled(out, i128::from(a.value(row)), 0)
            }
            ColumnText::Decimal(a, scale) if a.is_valid(row) => {
                write_scaled(out, a.value(row), *scale)
            }
            ColumnText::Float64(a) if a.is_valid(row) => write_float(out, a.value(row)),
            ColumnText::Utf8(a) if a.is_valid(row) => out.push_str(a.value(row)),
            ColumnText::LargeUtf8(a) if a.is_valid(row) => out.push_str(a.value(row)),
            ColumnText::View(a) if a.is_valid(row) => out.push_str(a.value(row)),
            ColumnText::Dates(a, ty) if a.is_valid(row) => {
                write_date(out, Date::from_days(a.value(row)), *ty)
            }
            ColumnText::Other(f, a) if a.is_valid(row) => {
                let _ = write!(out, "{}", f.value(row));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Decimal128Array, Int64Array};

    #[test]
    fn dates_are_written_as_they_display() {
        for days in (-800_000..3_000_000)
            .step_by(997)
            .chain([0, -1, 19_000, 2_932_896])
        {
            let date = Date::from_days(days);
            let mut ours = String::new();
            write_date(&mut ours, date, ValueType::Date);
            assert_eq!(ours, date.to_string());
            ours.clear();
            write_date(&mut ours, date, ValueType::Period);
            assert_eq!(ours, date.month().to_string());
        }
    }

    #[test]
    fn floats_keep_their_value_and_money_its_two_decimals() {
        let mut seed = 7u64;
        let mut samples = vec![
            0.0,
            -0.0,
            0.1,
            0.29,
            1.005,
            1234.5,
            99.99,
            1e12 + 0.01,
            1e14,
            2.5e-7,
        ];
        for _ in 0..20_000 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            let cents = (seed >> 20) % 10_000_000_000;
            samples.push(cents as f64 / 100.0);
            samples.push(-(cents as f64) / 100.0);
            samples.push(f64::from_bits(seed >> 2));
        }
        for f in samples {
            let mut ours = String::new();
            write_float(&mut ours, f);
            let shortest = format!("{f}");
            if !f.is_finite() {
                assert_eq!(ours, shortest);
                continue;
            }
            assert_eq!(ours.parse::<f64>().ok(), Some(f), "{ours} for {shortest}");
            let decimals = |t: &str| t.split_once('.').map_or(0, |(_, d)| d.len());
            if decimals(&shortest) <= 2 && f.abs() < 1e13 {
                assert!(decimals(&ours) <= 2, "{ours} for {shortest}");
            } else {
                assert_eq!(ours, shortest);
            }
        }
    }

    #[test]
    fn numbers_are_written_as_arrow_displays_them() {
        let values = [
            0i128,
            5,
            -5,
            99,
            100,
            -100,
            123_456,
            -1,
            i64::MAX as i128,
            1_000_000_007,
            u64::MAX as i128,
            u64::MAX as i128 * 10 + 7,
            -(u64::MAX as i128) * 1000 - 3,
        ];
        for scale in [0i8, 1, 2, 4] {
            let array = Decimal128Array::from(values.to_vec())
                .with_precision_and_scale(38, scale)
                .unwrap();
            let options = FormatOptions::default();
            let formatter = ArrayFormatter::try_new(&array, &options).unwrap();
            for (row, v) in values.iter().enumerate() {
                let mut ours = String::new();
                write_scaled(&mut ours, *v, scale as u32);
                assert_eq!(
                    ours,
                    formatter.value(row).to_string(),
                    "{v} at scale {scale}"
                );
            }
        }
        let ints = Int64Array::from(vec![0, 7, -42, i64::MIN, i64::MAX]);
        let column = ColumnText::new(&ints, None).unwrap();
        let mut text = String::new();
        let cells: Vec<String> = (0..ints.len())
            .map(|r| String::from_utf8(column.cell(r, &mut text).to_vec()).unwrap())
            .collect();
        assert_eq!(
            cells,
            [
                "0",
                "7",
                "-42",
                &i64::MIN.to_string(),
                &i64::MAX.to_string()
            ]
        );
    }
}
