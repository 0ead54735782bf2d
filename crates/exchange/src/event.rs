//! Events (exchange.md §3): one feed row pushed as JSON, validated by exactly the same
//! [`validate_row`](crate::validate::validate_row) as a file row.

use crate::reject::Reject;
use crate::schema::Feed;
use crate::validate::{ValidRow, validate_row};

/// A validated event.
#[derive(Debug)]
pub struct Event {
    /// The sender's event identity (unique per sending department).
    pub event_id: String,
    /// The accepted row; its feed is [`ValidRow::feed`].
    pub row: ValidRow,
}

/// Why an event was refused.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Not JSON, or not an object with `event_id`, `feed` and `row`.
    #[error("not an event: {0}")]
    Shape(String),
    /// The feed is not one of the contract.
    #[error("unknown feed {0:?}")]
    UnknownFeed(String),
    /// The row breaks the contract; the same reason codes as a file row.
    #[error("the row was refused: {}", reasons(.0))]
    Rejected(Vec<Reject>),
}

fn reasons(rejects: &[Reject]) -> String {
    let list: Vec<String> = rejects
        .iter()
        .map(|r| format!("{} {}", r.column, r.reason.as_str()))
        .collect();
    list.join(", ")
}

impl Event {
    /// Parses and validates an event. Row values may be JSON strings, numbers or null.
    pub fn parse(json: &str) -> Result<Event, EventError> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| EventError::Shape(e.to_string()))?;
        let field = |name: &str| {
            value
                .get(name)
                .ok_or_else(|| EventError::Shape(format!("`{name}` is missing")))
        };
        let event_id = field("event_id")?
            .as_str()
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| EventError::Shape("`event_id` must be a non-empty string".into()))?
            .to_string();
        let feed_name = field("feed")?
            .as_str()
            .ok_or_else(|| EventError::Shape("`feed` must be a string".into()))?;
        let feed =
            Feed::parse(feed_name).ok_or_else(|| EventError::UnknownFeed(feed_name.to_string()))?;
        let row = field("row")?
            .as_object()
            .ok_or_else(|| EventError::Shape("`row` must be an object".into()))?;
        let mut texts: Vec<(&str, String)> = Vec::with_capacity(row.len());
        for (k, v) in row {
            let text = match v {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                _ => return Err(EventError::Shape(format!("`row.{k}` must be a string"))),
            };
            texts.push((k.as_str(), text));
        }
        let pairs: Vec<(&str, &str)> = texts.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let row = validate_row(feed, &pairs).map_err(EventError::Rejected)?;
        Ok(Event { event_id, row })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reject::Reason;

    fn id(first17: &str) -> String {
        let c = domain::id::check_char(first17.as_bytes()) as char;
        format!("{first17}{c}")
    }

    #[test]
    fn a_medical_event() {
        let json = format!(
            r#"{{"event_id": "medical-2026-000123", "feed": "medical", "row": {{"person_id": "{}", "settled_date": "2026-11-27", "total_cost": "86000.00", "fund_paid": "52000.00", "out_of_pocket": "34000.00", "kind": "inpatient"}}}}"#,
            id("99010119800101001")
        );
        let event = Event::parse(&json).unwrap();
        assert_eq!(event.event_id, "medical-2026-000123");
        assert_eq!(event.row.feed(), Feed::Medical);
        assert!(event.row.person_id().is_some());
    }

    #[test]
    fn a_bad_event_has_the_file_reason_codes() {
        let json = format!(
            r#"{{"event_id": "m-1", "feed": "medical", "row": {{"person_id": "{}", "settled_date": "2026-11-27", "total_cost": 100, "fund_paid": "0", "out_of_pocket": "100.01", "kind": "门诊"}}}}"#,
            id("99010119800101001")
        );
        match Event::parse(&json) {
            Err(EventError::Rejected(r)) => {
                assert_eq!(r.len(), 1);
                assert_eq!(r[0].reason, Reason::ExceedsTotal);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            Event::parse(r#"{"event_id":"x","feed":"pets","row":{}}"#),
            Err(EventError::UnknownFeed(_))
        ));
        assert!(matches!(Event::parse("[1]"), Err(EventError::Shape(_))));
    }
}
