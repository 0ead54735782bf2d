//! Reading typed values (profiles, applications, cases) out of the line-remembering YAML tree of
//! [`crate::yaml`], so that every error — a syntax error, an unknown field, a wrong type, a
//! failed check inside a value — names the file and the line it comes from.
//!
//! Scalars keep their text: an amount written `417.50` reaches the money parser as the text
//! `417.50`, never through floating point.

use std::fmt;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};

use crate::yaml::{self, Node, NodeKind};

/// A problem in a YAML file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct LoadError {
    /// The file (as given by the caller).
    pub file: String,
    /// The line, from 1 (0 when unknown).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Parses `text` (the contents of `file`) as YAML and deserializes a `T` from it.
pub fn from_yaml_str<T: DeserializeOwned>(text: &str, file: &str) -> Result<T, LoadError> {
    let node = yaml::parse(text).map_err(|e| LoadError {
        file: file.to_owned(),
        line: e.line,
        message: e.message,
    })?;
    from_node(&node, file)
}

/// Deserializes a `T` from a parsed YAML node.
pub fn from_node<T: DeserializeOwned>(node: &Node, file: &str) -> Result<T, LoadError> {
    T::deserialize(NodeDeserializer { node }).map_err(|e| LoadError {
        file: file.to_owned(),
        line: e.line.unwrap_or(node.line),
        message: e.message,
    })
}

/// The error of the node deserializer: a message and, once known, the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeError {
    line: Option<usize>,
    message: String,
}

impl NodeError {
    fn at(line: usize, message: impl Into<String>) -> NodeError {
        NodeError {
            line: Some(line),
            message: message.into(),
        }
    }

    fn or_line(mut self, line: usize) -> NodeError {
        if self.line.is_none() {
            self.line = Some(line);
        }
        self
    }
}

impl fmt::Display for NodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for NodeError {}

impl de::Error for NodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        NodeError {
            line: None,
            message: msg.to_string(),
        }
    }
}

/// A serde deserializer reading one node.
struct NodeDeserializer<'a> {
    node: &'a Node,
}

impl<'a> NodeDeserializer<'a> {
    fn scalar(&self) -> Result<&'a str, NodeError> {
        match &self.node.kind {
            NodeKind::Scalar { text, .. } => Ok(text),
            NodeKind::Seq(_) => Err(NodeError::at(
                self.node.line,
                "expected a value, found a list",
            )),
            NodeKind::Map(_) => Err(NodeError::at(
                self.node.line,
                "expected a value, found a mapping",
            )),
        }
    }

    fn parse<T: std::str::FromStr>(&self, what: &str) -> Result<T, NodeError> {
        let text = self.scalar()?;
        text.trim()
            .parse()
            .map_err(|_| NodeError::at(self.node.line, format!("expected {what}, found `{text}`")))
    }

    fn fix<T>(&self, r: Result<T, NodeError>) -> Result<T, NodeError> {
        r.map_err(|e| e.or_line(self.node.line))
    }
}

macro_rules! number {
    ($method:ident, $visit:ident, $t:ty, $what:expr) => {
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
            let v: $t = self.parse($what)?;
            self.fix(visitor.$visit(v))
        }
    };
}

impl<'de> de::Deserializer<'de> for NodeDeserializer<'_> {
    type Error = NodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        let r = match &self.node.kind {
            NodeKind::Scalar { text, plain } => {
                if self.node.is_null() {
                    visitor.visit_unit()
                } else if *plain && text == "true" {
                    visitor.visit_bool(true)
                } else if *plain && text == "false" {
                    visitor.visit_bool(false)
                } else if let (true, Ok(i)) = (*plain, text.parse::<i64>()) {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_str(text)
                }
            }
            NodeKind::Seq(items) => visitor.visit_seq(SeqReader {
                items: items.iter(),
            }),
            NodeKind::Map(entries) => visitor.visit_map(MapReader {
                entries: entries.iter(),
                value: None,
            }),
        };
        self.fix(r)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        let text = self.scalar()?;
        let v = match text {
            "true" | "yes" => true,
            "false" | "no" => false,
            _ => {
                return Err(NodeError::at(
                    self.node.line,
                    format!("expected true or false, found `{text}`"),
                ));
            }
        };
        self.fix(visitor.visit_bool(v))
    }

    number!(deserialize_i8, visit_i8, i8, "an integer");
    number!(deserialize_i16, visit_i16, i16, "an integer");
    number!(deserialize_i32, visit_i32, i32, "an integer");
    number!(deserialize_i64, visit_i64, i64, "an integer");
    number!(deserialize_u8, visit_u8, u8, "a whole number");
    number!(deserialize_u16, visit_u16, u16, "a whole number");
    number!(deserialize_u32, visit_u32, u32, "a whole number");
    number!(deserialize_u64, visit_u64, u64, "a whole number");

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        let text = self.scalar()?;
        self.fix(visitor.visit_str(text))
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        let text = self.scalar()?;
        self.fix(visitor.visit_str(text))
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        let text = self.scalar()?;
        self.fix(visitor.visit_str(text))
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        let text = self.scalar()?;
        self.fix(visitor.visit_str(text))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        if self.node.is_null() {
            self.fix(visitor.visit_none())
        } else {
            let line = self.node.line;
            visitor.visit_some(self).map_err(|e| e.or_line(line))
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        self.fix(visitor.visit_unit())
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, NodeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, NodeError> {
        let line = self.node.line;
        visitor
            .visit_newtype_struct(self)
            .map_err(|e| e.or_line(line))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        match &self.node.kind {
            NodeKind::Seq(items) => self.fix(visitor.visit_seq(SeqReader {
                items: items.iter(),
            })),
            _ if self.node.is_null() => self.fix(visitor.visit_seq(SeqReader { items: [].iter() })),
            _ => Err(NodeError::at(self.node.line, "expected a list")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, NodeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, NodeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        match &self.node.kind {
            NodeKind::Map(entries) => self.fix(visitor.visit_map(MapReader {
                entries: entries.iter(),
                value: None,
            })),
            _ if self.node.is_null() => self.fix(visitor.visit_map(MapReader {
                entries: [].iter(),
                value: None,
            })),
            _ => Err(NodeError::at(self.node.line, "expected a mapping")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, NodeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, NodeError> {
        match &self.node.kind {
            NodeKind::Scalar { text, .. } => {
                let r: Result<V::Value, NodeError> =
                    visitor.visit_enum(text.as_str().into_deserializer());
                self.fix(r)
            }
            NodeKind::Map(entries) if entries.len() == 1 => {
                let (key, value) = &entries[0];
                self.fix(visitor.visit_enum(EnumReader { key, value }))
            }
            _ => Err(NodeError::at(
                self.node.line,
                "expected a name, or a mapping with one key",
            )),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        visitor.visit_unit()
    }
}

struct SeqReader<'a> {
    items: std::slice::Iter<'a, Node>,
}

impl<'de> de::SeqAccess<'de> for SeqReader<'_> {
    type Error = NodeError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, NodeError> {
        match self.items.next() {
            None => Ok(None),
            Some(node) => seed
                .deserialize(NodeDeserializer { node })
                .map(Some)
                .map_err(|e| e.or_line(node.line)),
        }
    }
}

struct MapReader<'a> {
    entries: std::slice::Iter<'a, (Node, Node)>,
    value: Option<&'a Node>,
}

impl<'de> de::MapAccess<'de> for MapReader<'_> {
    type Error = NodeError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, NodeError> {
        match self.entries.next() {
            None => Ok(None),
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(NodeDeserializer { node: key })
                    .map(Some)
                    .map_err(|e| e.or_line(key.line))
            }
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, NodeError> {
        match self.value.take() {
            Some(node) => seed
                .deserialize(NodeDeserializer { node })
                .map_err(|e| e.or_line(node.line)),
            None => Err(de::Error::custom("a mapping value without its key")),
        }
    }
}

struct EnumReader<'a> {
    key: &'a Node,
    value: &'a Node,
}

impl<'de, 'a> de::EnumAccess<'de> for EnumReader<'a> {
    type Error = NodeError;
    type Variant = NodeDeserializer<'a>;

    fn variant_seed<V: de::DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), NodeError> {
        let v = seed
            .deserialize(NodeDeserializer { node: self.key })
            .map_err(|e| e.or_line(self.key.line))?;
        Ok((v, NodeDeserializer { node: self.value }))
    }
}

impl<'de> de::VariantAccess<'de> for NodeDeserializer<'_> {
    type Error = NodeError;

    fn unit_variant(self) -> Result<(), NodeError> {
        Ok(())
    }

    fn newtype_variant_seed<T: de::DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, NodeError> {
        let line = self.node.line;
        seed.deserialize(self).map_err(|e| e.or_line(line))
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, NodeError> {
        de::Deserializer::deserialize_seq(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, NodeError> {
        de::Deserializer::deserialize_map(self, visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        name: String,
        count: u32,
        #[serde(default)]
        flag: bool,
        #[serde(default)]
        items: Vec<Item>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Item {
        kind: Kind,
        amount: Option<String>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Alpha,
        BetaGamma,
    }

    #[test]
    fn reads_typed_values_with_text_kept() {
        let s: Sample = from_yaml_str(
            "name: 12\ncount: 3\nitems:\n  - {kind: beta_gamma, amount: 417.50}\n",
            "s.yaml",
        )
        .unwrap();
        assert_eq!(s.name, "12");
        assert_eq!(s.items[0].amount.as_deref(), Some("417.50"));
        assert_eq!(s.items[0].kind, Kind::BetaGamma);
        assert!(!s.flag);
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = from_yaml_str::<Sample>("name: a\ncount: 3\nitems:\n  - kind: delta\n", "s.yaml")
            .unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("s.yaml", 4), "{e}");
        let e = from_yaml_str::<Sample>("name: a\ncount: x\n", "s.yaml").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        let e = from_yaml_str::<Sample>("name: a\ncount: 1\ncolour: red\n", "s.yaml").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(e.message.contains("colour"), "{e}");
        let e = from_yaml_str::<Sample>("name: a\n", "s.yaml").unwrap_err();
        assert!(e.message.contains("count"), "{e}");
    }
}
