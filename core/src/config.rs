//! Configuration: one TOML file plus environment overrides (documented in `docs/configuration.md`).
//!
//! Every setting has a default that runs the platform on its embedded default: SQLite and local
//! files under `data_dir`. An environment variable `MUBADILE__SECTION__KEY=value` overrides
//! `key` in `[section]` of the file (keys are lower-cased; values are parsed as TOML where they
//! parse, else taken as strings), so containers need no file at all.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The prefix of environment overrides.
pub const ENV_PREFIX: &str = "MUBADILE__";

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the platform keeps its database (for SQLite), keys and published files.
    pub data_dir: PathBuf,
    /// The HTTP server.
    pub server: ServerConfig,
    /// The database.
    pub storage: StorageConfig,
    /// The embedded certificate authority.
    pub ca: CaConfig,
    /// Outgoing e-mail.
    pub mail: MailConfig,
    /// Signature validation.
    pub validation: ValidationConfig,
    /// Format plugins loaded at run time besides the built-in ones (docs/plugins.md).
    pub plugins: PluginsConfig,
    /// Scheduled jobs.
    pub jobs: JobsConfig,
    /// The web UI's sign-in.
    pub ui: UiConfig,
}

/// The web UI's sign-in (docs/ui.md, docs/configuration.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UiConfig {
    /// Whether CA officers (the CSP 13.3 roles) must have a second factor: an officer without one
    /// is sent to enrol before any other page.
    pub require_second_factor_for_ca_officers: bool,
    /// Name of the environment variable holding the key that encrypts second-factor secrets; when
    /// unset, the key is kept in `data_dir/keys/second-factor-key`.
    pub second_factor_key_env: String,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            require_second_factor_for_ca_officers: false,
            second_factor_key_env: "MUBADILE_SECOND_FACTOR_KEY".into(),
        }
    }
}

/// Scheduled jobs (docs/configuration.md). Each job keeps its own schedule unless a period is
/// given here; whatever the period, nodes sharing a database run a job once per period
/// (`crate::schedule`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobsConfig {
    /// Per job (a name of [`crate::schedule::JOBS`]), a period in seconds replacing its schedule:
    /// for drills and tests, or to run a job more often than its default.
    pub every_seconds: std::collections::BTreeMap<String, u32>,
    /// How far ahead `renew_archive_evidence` looks, in days (RFC 4998 5.2): an evidence record
    /// whose newest timestamp's TSA certificate ends, or whose algorithms stop being acceptable
    /// under the algorithm policy, within this margin is renewed now.
    pub evidence_renewal_margin_days: u32,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            every_seconds: std::collections::BTreeMap::new(),
            evidence_renewal_margin_days: 90,
        }
    }
}

/// The HTTP server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address and port to listen on.
    pub listen: String,
    /// The base URL under which this node is reached from outside; certificates name their CRL,
    /// OCSP and issuer URLs under it, so it must be stable.
    pub public_url: String,
    /// Address and port of the TLS listener (HTTPS), where agencies' systems may authenticate
    /// with a TLS client certificate from the platform's CA instead of a token; none by default.
    pub tls_listen: Option<String>,
    /// DNS names of the node's TLS server certificate, which the platform's CA issues and
    /// renews itself.
    pub tls_names: Vec<String>,
}

/// The database.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// `sqlite://PATH` (relative paths are under `data_dir`) or `postgres://…`.
    pub database_url: String,
    /// Largest number of pooled connections.
    pub max_connections: u32,
}

/// The embedded certificate authority.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaConfig {
    /// Organisation name that appears in the CA certificates.
    pub organisation: String,
    /// ISO 3166 country code of the CA.
    pub country: String,
    /// Common name of the root CA.
    pub root_name: String,
    /// Key algorithm of the root CA (`rsa-3072`, `rsa-4096`, `ecdsa-p256`, `ecdsa-p384`, `ed25519`).
    pub root_key: String,
    /// The issuing CAs under the root; at least one.
    pub issuing: Vec<IssuingCaConfig>,
    /// The OID arc under which the platform's certificate policies and private extensions live
    /// (the OID register, SVC). The default lies under the example arc `2.999` and is meant for
    /// trials only: an operator sets the arc its organisation registered.
    pub oid_arc: String,
    /// Where CA private keys live.
    pub key_store: KeyStoreConfig,
    /// Hours between scheduled CRL publications; never more than 3 (CSP 9.4).
    pub crl_interval_hours: u32,
}

/// One issuing CA.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuingCaConfig {
    /// Short, URL-safe label used in paths, e.g. `issuing-1`.
    pub label: String,
    /// Common name of the issuing CA.
    pub name: String,
    /// Key algorithm, as for the root.
    pub key: String,
}

/// Where CA private keys live.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum KeyStoreConfig {
    /// Encrypted PKCS#8 files under `data_dir/keys`, unlocked by a passphrase taken from the
    /// environment variable `passphrase_env`, or, when that is unset, from the file
    /// `data_dir/keys/passphrase` that the first start creates with owner-only permissions.
    Software {
        /// Name of the environment variable holding the passphrase.
        passphrase_env: String,
    },
    /// A PKCS#11 token; CA keys are generated inside it and never leave it.
    Pkcs11 {
        /// Path of the PKCS#11 module, e.g. `/usr/lib/softhsm/libsofthsm2.so`.
        module: PathBuf,
        /// Label of the token.
        token_label: String,
        /// Name of the environment variable holding the user PIN.
        pin_env: String,
    },
}

/// Outgoing e-mail.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// `smtp://host:port` (plain, for a local relay), `smtps://…` or `smtp+starttls://…`; empty
    /// disables mail (notifications are then only recorded).
    pub smtp_url: String,
    /// Sender address.
    pub from: String,
    /// PEM file of further root certificates to trust for the mail server's TLS certificate
    /// (relative: under `data_dir`), besides the system's.
    pub ca_file: Option<PathBuf>,
}

/// Signature validation (docs/validation.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ValidationConfig {
    /// Trust the platform's own root CA (GOV 1.3: the anchors an organisation accepts).
    pub trust_platform_root: bool,
    /// Further trusted root certificates: PEM or DER files (relative paths are under `data_dir`).
    pub trust_anchors: Vec<PathBuf>,
    /// An algorithm policy file replacing the shipped one; empty: the shipped policy.
    pub algorithm_policy: Option<PathBuf>,
    /// Seconds before fetching a CRL or an OCSP answer gives up.
    pub fetch_timeout_seconds: u64,
}

/// Format plugins loaded at run time (docs/plugins.md). Only files allow-listed here with their
/// SHA-256 are loaded; anything else in `directory` is refused and logged.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PluginsConfig {
    /// Directory whose plugin libraries (`.so`, `.dylib`, `.dll`) are considered (relative:
    /// under `data_dir`); a missing directory holds none.
    pub directory: PathBuf,
    /// The plugin files that may be loaded.
    pub allow: Vec<AllowedPlugin>,
}

/// One allow-listed plugin file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowedPlugin {
    /// The library file (relative: under `directory`).
    pub path: PathBuf,
    /// SHA-256 of the file, 64 hexadecimal digits; a file with another hash is refused.
    pub sha256: String,
}

impl Default for PluginsConfig {
    fn default() -> Self {
        PluginsConfig {
            directory: PathBuf::from("plugins"),
            allow: Vec::new(),
        }
    }
}

impl Default for ValidationConfig {
    fn default() -> Self {
        ValidationConfig {
            trust_platform_root: true,
            trust_anchors: Vec::new(),
            algorithm_policy: None,
            fetch_timeout_seconds: 10,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("data"),
            server: ServerConfig::default(),
            storage: StorageConfig::default(),
            ca: CaConfig::default(),
            mail: MailConfig::default(),
            validation: ValidationConfig::default(),
            plugins: PluginsConfig::default(),
            jobs: JobsConfig::default(),
            ui: UiConfig::default(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            public_url: "http://127.0.0.1:8080".into(),
            tls_listen: None,
            tls_names: vec!["localhost".into()],
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            database_url: "sqlite://mubadile.db".into(),
            max_connections: 8,
        }
    }
}

impl Default for CaConfig {
    fn default() -> Self {
        CaConfig {
            organisation: "Mübadilə".into(),
            country: "AZ".into(),
            root_name: "Mübadilə Root CA".into(),
            root_key: "ecdsa-p384".into(),
            issuing: vec![IssuingCaConfig {
                label: "issuing-1".into(),
                name: "Mübadilə Issuing CA 1".into(),
                key: "ecdsa-p256".into(),
            }],
            oid_arc: crate::ca::oids::EXAMPLE_ARC.into(),
            key_store: KeyStoreConfig::Software {
                passphrase_env: "MUBADILE_KEY_PASSPHRASE".into(),
            },
            crl_interval_hours: 1,
        }
    }
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            smtp_url: String::new(),
            from: "mubadile@localhost".into(),
            ca_file: None,
        }
    }
}

impl Config {
    /// Loads the configuration from `path` (if given and present) and applies the environment
    /// overrides of the current process.
    pub fn load(path: Option<&Path>) -> Result<Config> {
        let text = match path {
            Some(p) => std::fs::read_to_string(p).map_err(|e| {
                Error::Config(format!(
                    "cannot read configuration file {}: {e}",
                    p.display()
                ))
            })?,
            None => String::new(),
        };
        Config::from_toml_and_env(&text, std::env::vars())
    }

    /// Parses `text` as TOML and applies `MUBADILE__SECTION__KEY` overrides from `env`.
    pub fn from_toml_and_env(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config> {
        let mut value: toml::Table = text
            .parse()
            .map_err(|e| Error::Config(format!("the configuration file is not valid TOML: {e}")))?;
        for (name, raw) in env {
            let Some(path) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let keys: Vec<String> = path.split("__").map(str::to_lowercase).collect();
            set_path(&mut value, &keys, parse_env_value(&raw))
                .map_err(|e| Error::Config(format!("environment variable {name}: {e}")))?;
        }
        let mut config: Config = toml::Value::Table(value)
            .try_into()
            .map_err(|e| Error::Config(format!("{e}")))?;
        config.mail.ca_file = config.mail.ca_file.as_deref().map(|p| config.data_path(p));
        config.plugins.directory = config.data_path(&config.plugins.directory);
        for plugin in &mut config.plugins.allow {
            if plugin.path.is_relative() {
                plugin.path = config.plugins.directory.join(&plugin.path);
            }
        }
        config.check()?;
        Ok(config)
    }

    /// The database URL with a relative SQLite path resolved under `data_dir`.
    pub fn database_url(&self) -> String {
        let url = &self.storage.database_url;
        match url.strip_prefix("sqlite://") {
            Some(path) if !Path::new(path).is_absolute() && path != ":memory:" => {
                format!("sqlite://{}", self.data_dir.join(path).display())
            }
            _ => url.clone(),
        }
    }

    /// `path` resolved under `data_dir` when relative.
    pub fn data_path(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.data_dir.join(path)
        }
    }

    fn check(&self) -> Result<()> {
        if self.ca.issuing.is_empty() {
            return Err(Error::Config(
                "[ca] needs at least one issuing CA in `issuing`".into(),
            ));
        }
        if self.ca.crl_interval_hours == 0 || self.ca.crl_interval_hours > 3 {
            return Err(Error::Config(
                "[ca] crl_interval_hours must be 1, 2 or 3: CSP 9.4 requires publication no later \
                 than 3 hours after a change"
                    .into(),
            ));
        }
        for (job, seconds) in &self.jobs.every_seconds {
            if !crate::schedule::JOBS.contains(&job.as_str()) {
                return Err(Error::Config(format!(
                    "[jobs] every_seconds names no job {job:?}; the jobs are {}",
                    crate::schedule::JOBS.join(", ")
                )));
            }
            if *seconds == 0 {
                return Err(Error::Config(format!(
                    "[jobs] every_seconds.{job} must be at least 1 second"
                )));
            }
            let crl_interval = self.ca.crl_interval_hours * 3600;
            if job == crate::schedule::PUBLISH_CRLS && *seconds > crl_interval {
                return Err(Error::Config(format!(
                    "[jobs] every_seconds.{job} is {seconds}: CRLs would outlive their next \
                     update; publish at least every [ca] crl_interval_hours ({crl_interval} \
                     seconds; CSP 9.4)"
                )));
            }
        }
        if !(1..=3650).contains(&self.jobs.evidence_renewal_margin_days) {
            return Err(Error::Config(format!(
                "[jobs] evidence_renewal_margin_days is {}: give 1 to 3650 days, longer than the \
                 renewal job's period, so evidence records are renewed before their timestamps \
                 stop proving anything (RFC 4998 5.2)",
                self.jobs.evidence_renewal_margin_days
            )));
        }
        for plugin in &self.plugins.allow {
            if plugin.sha256.len() != 64 || !plugin.sha256.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(Error::Config(format!(
                    "[[plugins.allow]] {}: sha256 must be the file's SHA-256 as 64 hexadecimal \
                     digits (sha256sum prints it), not {:?}",
                    plugin.path.display(),
                    plugin.sha256
                )));
            }
        }
        for ca in &self.ca.issuing {
            if ca.label.is_empty()
                || !ca
                    .label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
            {
                return Err(Error::Config(format!(
                    "issuing CA label {:?} must be non-empty ASCII letters, digits and '-'",
                    ca.label
                )));
            }
        }
        Ok(())
    }
}

fn parse_env_value(raw: &str) -> toml::Value {
    format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

fn set_path(table: &mut toml::Table, keys: &[String], value: toml::Value) -> Result<(), String> {
    match keys {
        [] => Err("empty key".into()),
        [last] => {
            table.insert(last.clone(), value);
            Ok(())
        }
        [first, rest @ ..] => {
            let entry = table
                .entry(first.clone())
                .or_insert_with(|| toml::Value::Table(Default::default()));
            match entry {
                toml::Value::Table(t) => set_path(t, rest, value),
                _ => Err(format!("`{first}` is not a section")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_the_embedded_default() {
        let c = Config::from_toml_and_env("", []).unwrap();
        assert_eq!(c.database_url(), "sqlite://data/mubadile.db");
        assert_eq!(c.ca.issuing.len(), 1);
    }

    #[test]
    fn environment_overrides_the_file() {
        let env = [
            (
                "MUBADILE__SERVER__LISTEN".to_string(),
                "0.0.0.0:9000".to_string(),
            ),
            (
                "MUBADILE__CA__CRL_INTERVAL_HOURS".to_string(),
                "2".to_string(),
            ),
            ("OTHER".to_string(), "x".to_string()),
        ];
        let c = Config::from_toml_and_env("[server]\nlisten = \"127.0.0.1:1\"\n", env).unwrap();
        assert_eq!(c.server.listen, "0.0.0.0:9000");
        assert_eq!(c.ca.crl_interval_hours, 2);
    }

    #[test]
    fn csp_9_4_crl_interval_over_three_hours_is_refused() {
        let err = Config::from_toml_and_env("[ca]\ncrl_interval_hours = 4\n", []).unwrap_err();
        assert!(err.to_string().contains("CSP 9.4"), "{err}");
    }

    #[test]
    fn job_periods_name_known_jobs_and_csp_9_4_bounds_crl_publication() {
        let c = Config::from_toml_and_env(
            "",
            [(
                "MUBADILE__JOBS__EVERY_SECONDS".to_string(),
                "{ publish_crls = 4, deliver_mail = 2 }".to_string(),
            )],
        )
        .unwrap();
        assert_eq!(c.jobs.every_seconds["publish_crls"], 4);
        assert_eq!(c.jobs.every_seconds["deliver_mail"], 2);
        let err = Config::from_toml_and_env("[jobs.every_seconds]\npublish_crl = 4\n", [])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("publish_crl") && err.contains("publish_crls"),
            "{err}"
        );
        let err = Config::from_toml_and_env("[jobs.every_seconds]\npublish_crls = 3601\n", [])
            .unwrap_err()
            .to_string();
        assert!(err.contains("CSP 9.4") && err.contains("3600"), "{err}");
        let err = Config::from_toml_and_env("[jobs.every_seconds]\ndeliver_mail = 0\n", [])
            .unwrap_err()
            .to_string();
        assert!(err.contains("at least 1 second"), "{err}");
    }

    #[test]
    fn allowed_plugins_resolve_under_the_plugin_directory() {
        let text = format!(
            "data_dir = \"/srv/m\"\n[[plugins.allow]]\npath = \"libx.so\"\nsha256 = \"{}\"\n",
            "ab".repeat(32)
        );
        let c = Config::from_toml_and_env(&text, []).unwrap();
        assert_eq!(c.plugins.directory, PathBuf::from("/srv/m/plugins"));
        assert_eq!(
            c.plugins.allow[0].path,
            PathBuf::from("/srv/m/plugins/libx.so")
        );
    }

    #[test]
    fn an_allowed_plugin_without_a_sha256_of_64_hex_digits_is_refused() {
        let text = "[[plugins.allow]]\npath = \"libx.so\"\nsha256 = \"abc\"\n";
        let err = Config::from_toml_and_env(text, []).unwrap_err();
        assert!(err.to_string().contains("64 hexadecimal digits"), "{err}");
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = Config::from_toml_and_env("[server]\nlisen = \"x\"\n", []).unwrap_err();
        assert!(err.to_string().contains("lisen"), "{err}");
    }
}
