//! The UI's message catalogs: Azerbaijani by default, English and Russian. Each language is one
//! TOML file in `web/locales/`, compiled into the binary; every catalog holds the same keys (a
//! unit test checks this, and that every key a template asks for exists). Errors are shown by
//! the stable code of the API's problem details (`error.CODE`), so the UI and the API agree.
//! Times are shown in Baku time (CSP 6.3) in the language's own format.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use mubadile_core::time::BAKU;

/// A language of the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locale {
    /// Azerbaijani, the default.
    #[default]
    Az,
    /// English.
    En,
    /// Russian.
    Ru,
}

impl Locale {
    /// Every language, in the order the switch shows them.
    pub const ALL: [Locale; 3] = [Locale::Az, Locale::En, Locale::Ru];

    /// The BCP 47 code, also stored as the user's choice.
    pub fn code(self) -> &'static str {
        match self {
            Locale::Az => "az",
            Locale::En => "en",
            Locale::Ru => "ru",
        }
    }

    /// The language's name in itself, as the switch shows it.
    pub fn native_name(self) -> &'static str {
        match self {
            Locale::Az => "Azərbaycanca",
            Locale::En => "English",
            Locale::Ru => "Русский",
        }
    }

    /// The language of `code`, if the UI has it.
    pub fn parse(code: &str) -> Option<Locale> {
        Locale::ALL.into_iter().find(|l| l.code() == code)
    }

    fn source(self) -> &'static str {
        match self {
            Locale::Az => include_str!("../../locales/az.toml"),
            Locale::En => include_str!("../../locales/en.toml"),
            Locale::Ru => include_str!("../../locales/ru.toml"),
        }
    }
}

type Catalog = HashMap<String, String>;

/// The catalogs, read once. A catalog that does not parse is empty (its keys then fall back to
/// Azerbaijani); the unit tests make sure every catalog parses.
static CATALOGS: LazyLock<[Catalog; 3]> = LazyLock::new(|| {
    Locale::ALL.map(|locale| {
        let mut catalog = Catalog::new();
        if let Ok(table) = locale.source().parse::<toml::Table>() {
            flatten("", &table, &mut catalog);
        }
        catalog
    })
});

fn flatten(prefix: &str, table: &toml::Table, into: &mut Catalog) {
    for (key, value) in table {
        let key = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner) => flatten(&key, inner, into),
            toml::Value::String(text) => {
                into.insert(key, text.clone());
            }
            other => {
                into.insert(key, other.to_string());
            }
        }
    }
}

/// The translator a page is rendered with.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tr {
    locale: Locale,
}

impl Tr {
    /// Translates into `locale`.
    pub fn new(locale: Locale) -> Tr {
        Tr { locale }
    }

    /// The text of `key`; the Azerbaijani text when this catalog lacks it, the key itself when
    /// none has it.
    pub fn get<'a>(&self, key: &'a str) -> &'a str {
        let catalogs = &*CATALOGS;
        catalogs[self.index()]
            .get(key)
            .or_else(|| catalogs[0].get(key))
            .map_or(key, |text| text.as_str())
    }

    /// The message for the stable error `code` of the API's problem details.
    pub fn error(&self, code: &str) -> String {
        let key = format!("error.{code}");
        let text = self.get(&key);
        if text == key {
            self.get("error.generic").to_string()
        } else {
            text.to_string()
        }
    }

    /// `at` in Baku time, in this language's format (CSP 6.3).
    pub fn time(&self, at: DateTime<Utc>) -> String {
        format!(
            "{} ({})",
            at.with_timezone(&BAKU).format(self.get("format.datetime")),
            self.get("format.baku")
        )
    }

    fn index(&self) -> usize {
        match self.locale {
            Locale::Az => 0,
            Locale::En => 1,
            Locale::Ru => 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;

    #[test]
    fn every_catalog_parses_and_holds_the_same_keys() {
        let keys = |locale: Locale| -> BTreeSet<String> {
            let table: toml::Table = locale.source().parse().unwrap();
            let mut catalog = Catalog::new();
            flatten("", &table, &mut catalog);
            catalog.into_keys().collect()
        };
        let az = keys(Locale::Az);
        assert!(az.len() > 100, "{}", az.len());
        for locale in [Locale::En, Locale::Ru] {
            let other = keys(locale);
            assert_eq!(
                az.symmetric_difference(&other).collect::<Vec<_>>(),
                Vec::<&String>::new(),
                "{} differs from az",
                locale.code()
            );
        }
    }

    /// Every `t.get("…")` in the UI's templates names a key of the catalogs.
    #[test]
    fn every_key_the_templates_use_exists() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates/ui");
        let mut files = vec![dir.clone()];
        let mut missing = Vec::new();
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for part in text.split("t.get(\"").skip(1) {
                let key = part.split('"').next().unwrap();
                if Tr::new(Locale::En).get(key) == key {
                    missing.push(format!("{}: {key}", path.display()));
                }
            }
        }
        assert!(missing.is_empty(), "{missing:?}");
    }

    #[test]
    fn csp_6_3_times_are_shown_in_baku_time_per_language() {
        let at = DateTime::parse_from_rfc3339("2026-12-01T20:30:05Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            Tr::new(Locale::Az).time(at),
            "02.12.2026 00:30:05 (Bakı vaxtı)"
        );
        assert_eq!(
            Tr::new(Locale::En).time(at),
            "2026-12-02 00:30:05 (Baku time)"
        );
    }

    #[test]
    fn error_codes_are_translated_and_unknown_ones_fall_back() {
        let ru = Tr::new(Locale::Ru);
        assert!(ru.error("sign_in_throttled").contains("15 минут"));
        assert_eq!(ru.error("no_such_code"), ru.get("error.generic"));
    }
}
