//! A small YAML tree that remembers the line of every node, so that the checker can name the
//! file and line of each problem. Built from the `yaml-rust2` event parser; anchors and aliases
//! are refused (a pack is read by people: every value is written where it is used).

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A YAML node with the (1-based) line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The line of the node in its file, from 1.
    pub line: usize,
    /// What the node holds.
    pub kind: NodeKind,
}

/// The content of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A scalar, with whether it was written plain (unquoted); plain `~`/`null`/empty is null.
    Scalar {
        /// The text.
        text: String,
        /// Written without quotes.
        plain: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in file order.
    Map(Vec<(Node, Node)>),
}

/// A YAML syntax error with its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// The line, from 1.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl Node {
    /// The scalar text, if the node is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// Whether the node is a plain null (`~`, `null` or nothing).
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar { text, plain: true } if text.is_empty() || text == "~" || text == "null")
    }

    /// The value of `key` when the node is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            NodeKind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The entries when the node is a mapping.
    pub fn entries(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The items when the node is a sequence.
    pub fn items(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// Converts to JSON: plain scalars that read as integers, decimals or booleans become
    /// numbers and booleans, null becomes null, everything else text.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            NodeKind::Scalar { text, plain } => {
                if self.is_null() {
                    Value::Null
                } else if !*plain {
                    Value::String(text.clone())
                } else if text == "true" {
                    Value::Bool(true)
                } else if text == "false" {
                    Value::Bool(false)
                } else if let Ok(i) = text.parse::<i64>() {
                    Value::from(i)
                } else {
                    Value::String(text.clone())
                }
            }
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.as_str().unwrap_or_default().to_owned(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Parses one YAML document. An empty text is an empty mapping.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, false).map_err(|e| SyntaxError {
        line: e.marker().line(),
        message: e.info().to_owned(),
    })?;
    if let Some(error) = builder.error {
        return Err(error);
    }
    Ok(builder.root.unwrap_or(Node {
        line: 1,
        kind: NodeKind::Map(Vec::new()),
    }))
}

enum Open {
    Seq(usize, Vec<Node>),
    Map(usize, Vec<(Node, Node)>, Option<Node>),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Open>,
    root: Option<Node>,
    error: Option<SyntaxError>,
}

impl Builder {
    fn push_node(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Open::Seq(_, items)) => items.push(node),
            Some(Open::Map(_, entries, key)) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let line = mark.line();
        match ev {
            Event::Scalar(text, style, anchor, _) => {
                if anchor != 0 && self.error.is_none() {
                    self.error = Some(SyntaxError {
                        line,
                        message: "anchors are not allowed in a policy pack".into(),
                    });
                }
                let plain = style == TScalarStyle::Plain;
                self.push_node(Node {
                    line,
                    kind: NodeKind::Scalar { text, plain },
                });
            }
            Event::Alias(_) => {
                if self.error.is_none() {
                    self.error = Some(SyntaxError {
                        line,
                        message: "aliases are not allowed in a policy pack".into(),
                    });
                }
                self.push_node(Node {
                    line,
                    kind: NodeKind::Scalar {
                        text: String::new(),
                        plain: true,
                    },
                });
            }
            Event::SequenceStart(..) => self.stack.push(Open::Seq(line, Vec::new())),
            Event::MappingStart(..) => self.stack.push(Open::Map(line, Vec::new(), None)),
            Event::SequenceEnd | Event::MappingEnd => {
                let node = match self.stack.pop() {
                    Some(Open::Seq(line, items)) => Node {
                        line,
                        kind: NodeKind::Seq(items),
                    },
                    Some(Open::Map(line, entries, _)) => Node {
                        line,
                        kind: NodeKind::Map(entries),
                    },
                    None => return,
                };
                self.push_node(node);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_remembered() {
        let node = parse("a: 1\nb:\n  - x\n  - y: 2\n").unwrap();
        assert_eq!(node.get("a").unwrap().line, 1);
        let b = node.get("b").unwrap().items().unwrap();
        assert_eq!(b[0].line, 3);
        assert_eq!(b[1].get("y").unwrap().line, 4);
    }

    #[test]
    fn syntax_errors_have_lines() {
        let error = parse("a: 1\nb: [1, 2\n").unwrap_err();
        assert!(error.line >= 2, "{error:?}");
    }
}
