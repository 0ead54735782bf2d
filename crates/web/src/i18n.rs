//! The message catalogues: every string a page shows comes from `i18n/zh.toml` (Chinese, the
//! first language) or `i18n/en.toml`. A test keeps the two catalogues' keys identical.

use std::collections::HashMap;
use std::sync::OnceLock;

/// A language of the user interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// 中文 (default).
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// The language of a `lang` cookie or query value; Chinese unless it says English.
    pub fn from_code(code: Option<&str>) -> Lang {
        match code {
            Some(c) if c.eq_ignore_ascii_case("en") => Lang::En,
            _ => Lang::Zh,
        }
    }

    /// The BCP 47 tag for the `lang` attribute.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The short code used in cookies and links.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The message for `key`; the key itself when the catalogue lacks it (a test forbids that).
    pub fn t(self, key: &str) -> &str {
        let catalogue = match self {
            Lang::Zh => catalogue(&ZH, include_str!("../i18n/zh.toml")),
            Lang::En => catalogue(&EN, include_str!("../i18n/en.toml")),
        };
        catalogue.get(key).map(String::as_str).unwrap_or(key)
    }
}

static ZH: OnceLock<HashMap<String, String>> = OnceLock::new();
static EN: OnceLock<HashMap<String, String>> = OnceLock::new();

fn catalogue(
    cell: &'static OnceLock<HashMap<String, String>>,
    text: &'static str,
) -> &'static HashMap<String, String> {
    cell.get_or_init(|| parse(text).unwrap_or_default())
}

fn parse(text: &str) -> Result<HashMap<String, String>, toml::de::Error> {
    let table: toml::Table = toml::from_str(text)?;
    let mut out = HashMap::new();
    flatten("", &table, &mut out);
    Ok(out)
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut HashMap<String, String>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            other => {
                out.insert(key, other.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogues_parse_and_have_the_same_keys() {
        let zh = parse(include_str!("../i18n/zh.toml")).unwrap();
        let en = parse(include_str!("../i18n/en.toml")).unwrap();
        let mut missing_en: Vec<_> = zh.keys().filter(|k| !en.contains_key(*k)).collect();
        let mut missing_zh: Vec<_> = en.keys().filter(|k| !zh.contains_key(*k)).collect();
        missing_en.sort();
        missing_zh.sort();
        assert!(missing_en.is_empty(), "missing in en.toml: {missing_en:?}");
        assert!(missing_zh.is_empty(), "missing in zh.toml: {missing_zh:?}");
        assert!(!zh.is_empty());
    }

    #[test]
    fn lookup_and_fallback() {
        assert_eq!(Lang::Zh.t("app.name"), "救助");
        assert_eq!(Lang::En.t("app.name"), "jiuzhu");
        assert_eq!(Lang::En.t("no.such.key"), "no.such.key");
        assert_eq!(Lang::from_code(Some("EN")), Lang::En);
        assert_eq!(Lang::from_code(None), Lang::Zh);
    }
}
