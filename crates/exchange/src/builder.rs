//! Builds Arrow record batches in a feed's lake schema directly from checked rows: values are
//! appended straight into column builders, with no intermediate strings.

use crate::schema::{DECIMAL_PRECISION, DECIMAL_SCALE, FeedSpec, ValueType};
use crate::validate::{CheckedRow, Value};
use arrow_array::builder::{Date32Builder, Decimal128Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::ArrowError;
use std::sync::Arc;

enum Column {
    Utf8(StringBuilder),
    Date(Date32Builder),
    Int(Int64Builder),
    Decimal(Decimal128Builder),
}

impl Column {
    fn new(ty: ValueType, capacity: usize) -> Column {
        match ty {
            ValueType::Date | ValueType::Period => {
                Column::Date(Date32Builder::with_capacity(capacity))
            }
            ValueType::Money | ValueType::Integer => {
                Column::Int(Int64Builder::with_capacity(capacity))
            }
            ValueType::Decimal => Column::Decimal(Decimal128Builder::with_capacity(capacity)),
            _ => Column::Utf8(StringBuilder::with_capacity(capacity, capacity * 8)),
        }
    }

    fn append(&mut self, value: &Value<'_>) {
        match (self, value) {
            (Column::Utf8(b), Value::Id(id)) => b.append_value(id.as_str()),
            (Column::Utf8(b), Value::Region(r)) => b.append_value(r.as_str()),
            (Column::Utf8(b), Value::Code(c)) => b.append_value(c),
            (Column::Utf8(b), Value::Text(t)) => b.append_value(t),
            (Column::Date(b), Value::Date(d)) => b.append_value(d.days()),
            (Column::Date(b), Value::Period(m)) => b.append_value(m.first_day().days()),
            (Column::Int(b), Value::Money(m)) => b.append_value(m.0),
            (Column::Int(b), Value::Integer(i)) => b.append_value(*i),
            (Column::Decimal(b), Value::Decimal(d)) => b.append_value(*d),
            (Column::Utf8(b), _) => b.append_null(),
            (Column::Date(b), _) => b.append_null(),
            (Column::Int(b), _) => b.append_null(),
            (Column::Decimal(b), _) => b.append_null(),
        }
    }

    fn finish(&mut self) -> Result<ArrayRef, ArrowError> {
        Ok(match self {
            Column::Utf8(b) => Arc::new(b.finish()),
            Column::Date(b) => Arc::new(b.finish()),
            Column::Int(b) => Arc::new(b.finish()),
            Column::Decimal(b) => Arc::new(
                b.finish()
                    .with_precision_and_scale(DECIMAL_PRECISION, DECIMAL_SCALE)?,
            ),
        })
    }
}

/// Accumulates accepted rows of one feed as Arrow columns.
pub struct LakeBatchBuilder {
    spec: &'static FeedSpec,
    rows: Int64Builder,
    columns: Vec<Column>,
    raw_id: Option<StringBuilder>,
    len: usize,
}

impl LakeBatchBuilder {
    /// An empty builder for a feed, sized for about `capacity` rows.
    pub fn new(spec: &'static FeedSpec, capacity: usize) -> LakeBatchBuilder {
        LakeBatchBuilder {
            spec,
            rows: Int64Builder::with_capacity(capacity),
            columns: spec
                .columns
                .iter()
                .map(|c| Column::new(c.ty, capacity))
                .collect(),
            raw_id: spec
                .feed
                .is_linked()
                .then(|| StringBuilder::with_capacity(capacity, 0)),
            len: 0,
        }
    }

    /// Appends one accepted row with its source row number.
    pub fn append(&mut self, row: u64, checked: &CheckedRow<'_>) {
        self.rows.append_value(row as i64);
        for (column, value) in self.columns.iter_mut().zip(&checked.values) {
            column.append(value);
        }
        if let Some(raw) = &mut self.raw_id {
            raw.append_option(checked.raw_id.as_deref());
        }
        self.len += 1;
    }

    /// The number of rows appended since the last [`finish`](Self::finish).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no row was appended since the last [`finish`](Self::finish).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The rows appended so far as one record batch; the builder starts over empty.
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.columns.len() + 2);
        arrays.push(Arc::new(self.rows.finish()));
        for column in &mut self.columns {
            arrays.push(column.finish()?);
        }
        if let Some(raw) = &mut self.raw_id {
            arrays.push(Arc::new(raw.finish()));
        }
        self.len = 0;
        RecordBatch::try_new(self.spec.lake_schema.clone(), arrays)
    }
}
