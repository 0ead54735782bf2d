//! Tables of figures: every chart is followed by the same numbers as a table, and every table
//! can be downloaded as CSV (UTF-8 with a byte-order mark, so that spreadsheet programs read
//! the Chinese headers) or as an Excel workbook. Tables hold aggregates only, never a person.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::Fen;
use maud::{Markup, html};

/// One cell of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text (a label or a code).
    Text(String),
    /// A count.
    Int(i64),
    /// An amount of money, shown in yuan.
    Money(Fen),
    /// A share in thousandths, shown as a percentage with one decimal.
    PerMille(i64),
}

impl Cell {
    /// The cell as shown in a page and written to CSV.
    pub fn shown(&self) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Money(f) => f.to_string(),
            Cell::PerMille(n) => format!("{}.{}%", n / 10, (n % 10).abs()),
        }
    }

    fn is_number(&self) -> bool {
        !matches!(self, Cell::Text(_))
    }
}

/// A table: an id used in download addresses, a caption, column headers and rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// A short code (`by_tier`), unique on its page, safe in a URL and a file name.
    pub id: &'static str,
    /// The caption (also the worksheet's name in a workbook).
    pub caption: String,
    /// Column headers.
    pub headers: Vec<String>,
    /// Rows of cells, as many as headers.
    pub rows: Vec<Vec<Cell>>,
}

/// A download format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values.
    Csv,
    /// An Excel workbook (Office Open XML).
    Xlsx,
}

impl Format {
    /// Parses `csv` or `xlsx`.
    pub fn parse(text: &str) -> Option<Format> {
        match text {
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            _ => None,
        }
    }
}

impl Table {
    /// The table as HTML, with links to download it. `base` is the page's path.
    pub fn render(&self, base: &str, csv_label: &str, xlsx_label: &str) -> Markup {
        html! {
            div class="table-scroll" {
            table id={"table-" (self.id)} {
                caption { (self.caption) }
                thead { tr { @for h in &self.headers { th scope="col" { (h) } } } }
                tbody {
                    @for row in &self.rows {
                        tr {
                            @for (i, cell) in row.iter().enumerate() {
                                @if i == 0 {
                                    th scope="row" class=[cell.is_number().then_some("num")] { (cell.shown()) }
                                } @else {
                                    td class=[cell.is_number().then_some("num")] { (cell.shown()) }
                                }
                            }
                        }
                    }
                }
            }
            }
            p class="downloads" {
                a href={(base) "?format=csv&table=" (self.id)} download { (csv_label) }
                " · "
                a href={(base) "?format=xlsx&table=" (self.id)} download { (xlsx_label) }
            }
        }
    }

    /// The table as CSV text (CRLF line ends, fields quoted when needed).
    pub fn csv(&self) -> String {
        let mut out = String::from("\u{feff}");
        let line = |fields: Vec<String>, out: &mut String| {
            out.push_str(&fields.join(","));
            out.push_str("\r\n");
        };
        line(
            self.headers.iter().map(|h| csv_field(h)).collect(),
            &mut out,
        );
        for row in &self.rows {
            let fields = row
                .iter()
                .map(|c| match c {
                    Cell::Text(t) => csv_field(t),
                    number => number.shown(),
                })
                .collect();
            line(fields, &mut out);
        }
        out
    }
}

fn csv_field(text: &str) -> String {
    // Text with a leading =, +, - or @ would be read as a formula by spreadsheet programs.
    let guarded = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// Tables as an Excel workbook, one worksheet per table. Money is written as a number of yuan
/// with two decimals: the workbook's only number type is a double, and every amount in fen up
/// to 2^53 converts to the nearest double of its yuan value, shown exactly at two decimals.
pub fn xlsx(tables: &[&Table]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format as CellFormat, Workbook};
    let mut book = Workbook::new();
    let bold = CellFormat::new().set_bold();
    let money = CellFormat::new().set_num_format("0.00");
    let percent = CellFormat::new().set_num_format("0.0%");
    let mut names: Vec<String> = Vec::new();
    for table in tables {
        let sheet = book.add_worksheet();
        let mut name = sheet_name(&table.caption);
        if names.contains(&name) || name.is_empty() {
            name = table.id.chars().take(31).collect();
        }
        sheet.set_name(&name)?;
        names.push(name);
        for (c, h) in table.headers.iter().enumerate() {
            sheet.write_string_with_format(0, col(c), h, &bold)?;
        }
        for (r, row) in table.rows.iter().enumerate() {
            let r = u32::try_from(r + 1).unwrap_or(u32::MAX);
            for (c, cell) in row.iter().enumerate() {
                match cell {
                    Cell::Text(t) => sheet.write_string(r, col(c), t)?,
                    Cell::Int(n) => sheet.write_number(r, col(c), *n as f64)?,
                    Cell::Money(f) => {
                        sheet.write_number_with_format(r, col(c), f.0 as f64 / 100.0, &money)?
                    }
                    Cell::PerMille(n) => {
                        sheet.write_number_with_format(r, col(c), *n as f64 / 1000.0, &percent)?
                    }
                };
            }
        }
        sheet.autofit();
    }
    book.save_to_buffer()
}

fn col(c: usize) -> u16 {
    u16::try_from(c).unwrap_or(u16::MAX)
}

/// A worksheet name: at most 31 characters, none of `[]:*?/\`.
fn sheet_name(caption: &str) -> String {
    caption
        .chars()
        .filter(|c| !matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\' | '\''))
        .take(31)
        .collect()
}

/// A download response: `name` is a file name of ASCII letters, digits, `-` and `.`. The
/// export is recorded in the audit ledger (action `export`, purpose statistics, the plain SM3
/// of the file as sent) before the file leaves: no entry, no file. The response names the entry
/// in `X-Ledger-Entry`.
pub async fn export(
    state: &crate::AppState,
    user: &crate::auth::Signed,
    format: Format,
    name: &str,
    tables: &[&Table],
) -> Result<Response, crate::WebError> {
    let (body, content_type, ext) = match format {
        Format::Csv => {
            let text: String = tables
                .iter()
                .map(|t| t.csv())
                .collect::<Vec<_>>()
                .join("\r\n");
            (text.into_bytes(), "text/csv; charset=utf-8", "csv")
        }
        Format::Xlsx => (
            xlsx(tables)
                .map_err(|e| crate::WebError::Internal(format!("writing a workbook: {e}")))?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
    };
    let safe: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let file = format!("{safe}.{ext}");
    let entry = state
        .store()
        .record_export(
            &user.scope,
            &file,
            store::ledger::Purpose::Statistics,
            &body,
            state.now(),
        )
        .await?;
    let disposition = format!("attachment; filename=\"{file}\"");
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert("x-ledger-entry", HeaderValue::from(entry));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            id: "by_tier",
            caption: "按救助类别".into(),
            headers: vec!["类别".into(), "户数".into(), "金额".into(), "覆盖率".into()],
            rows: vec![
                vec![
                    Cell::Text("低保, \"城市\"".into()),
                    Cell::Int(12),
                    Cell::Money(Fen(123_456)),
                    Cell::PerMille(125),
                ],
                vec![
                    Cell::Text("=SUM(A1)".into()),
                    Cell::Int(0),
                    Cell::Money(Fen(0)),
                    Cell::PerMille(1000),
                ],
            ],
        }
    }

    #[test]
    fn csv_quotes_guards_formulas_and_starts_with_a_bom() {
        let csv = table().csv();
        assert_eq!(
            csv,
            "\u{feff}类别,户数,金额,覆盖率\r\n\"低保, \"\"城市\"\"\",12,1234.56,12.5%\r\n'=SUM(A1),0,0.00,100.0%\r\n"
        );
    }

    #[test]
    fn html_has_caption_header_cells_and_download_links() {
        let html = table().render("/dashboard", "CSV", "Excel").into_string();
        assert!(html.contains("<caption>按救助类别</caption>"));
        assert!(html.contains(r#"<th scope="col">户数</th>"#));
        assert!(html.contains(r#"<td class="num">1234.56</td>"#));
        assert!(html.contains(r#"href="/dashboard?format=csv&amp;table=by_tier""#));
        assert!(html.contains(r#"href="/dashboard?format=xlsx&amp;table=by_tier""#));
    }

    #[test]
    fn workbook_is_a_zip_with_one_sheet_per_table() {
        let t = table();
        let mut other = table();
        other.id = "other";
        let bytes = xlsx(&[&t, &other]).unwrap();
        assert_eq!(&bytes[..2], b"PK");
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("xl/worksheets/sheet2.xml"));
        assert!(!text.contains("xl/worksheets/sheet3.xml"));
    }

    #[test]
    fn formats_and_sheet_names() {
        assert_eq!(Format::parse("csv"), Some(Format::Csv));
        assert_eq!(Format::parse("xlsx"), Some(Format::Xlsx));
        assert_eq!(Format::parse("pdf"), None);
        assert_eq!(sheet_name("a/b[c]:d*e?f\\g"), "abcdefg");
        assert_eq!(sheet_name(&"x".repeat(40)).len(), 31);
        assert_eq!(Cell::PerMille(5).shown(), "0.5%");
    }
}
