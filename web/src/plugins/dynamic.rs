//! Plugins loaded at run time (DESIGN.md "Format plugins", docs/plugins.md): only library files
//! whose SHA-256 the configuration allow-lists, after the built-in plugins. Every other library
//! in the plugin directory, a changed file, or one built for another ABI version is refused with
//! a logged message saying what to do, and the node carries on with the rest.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mubadile_core::config::PluginsConfig;
use mubadile_plugin_api::FormatPlugin;

/// File extensions of plugin libraries in the plugin directory.
const LIBRARY_EXTENSIONS: [&str; 3] = ["so", "dylib", "dll"];

/// A plugin this node runs and where it came from.
pub struct Installed {
    /// The plugin.
    pub plugin: Arc<dyn FormatPlugin>,
    /// Where it came from.
    pub origin: Origin,
}

/// Where an installed plugin came from.
pub enum Origin {
    /// Linked into this binary.
    BuiltIn,
    /// Loaded from an allow-listed library file.
    File {
        /// The library file.
        path: PathBuf,
        /// Its SHA-256, as checked against the allow-list (lower-case hexadecimal).
        sha256: String,
    },
}

/// A plugin library that was not loaded, and why.
pub struct Refusal {
    /// The library file.
    pub path: PathBuf,
    /// What is wrong and what to do.
    pub reason: String,
}

/// Loads every allow-listed library of `config`, skipping the names in `taken` (the built-ins);
/// each refusal is also logged as a warning.
///
/// What is opened is a private copy of exactly the bytes whose hash was checked, so a file
/// swapped in the plugin directory after the check is never loaded.
pub fn load_allowed(config: &PluginsConfig, taken: &[&str]) -> (Vec<Installed>, Vec<Refusal>) {
    let mut names: Vec<String> = taken.iter().map(|n| (*n).to_owned()).collect();
    let mut installed = Vec::new();
    let mut refused = Vec::new();
    for path in candidates(config) {
        match load_one(config, &path, &names) {
            Ok(plugin) => {
                names.push(plugin.plugin.name().to_owned());
                tracing::info!(path = %path.display(), name = plugin.plugin.name(), "plugin loaded");
                installed.push(plugin);
            }
            Err(reason) => {
                tracing::warn!(path = %path.display(), "plugin refused: {reason}");
                refused.push(Refusal { path, reason });
            }
        }
    }
    (installed, refused)
}

/// The allow-listed files and every library in the plugin directory, each once, in path order.
fn candidates(config: &PluginsConfig) -> BTreeSet<PathBuf> {
    let mut paths: BTreeSet<PathBuf> = config.allow.iter().map(|a| a.path.clone()).collect();
    if let Ok(entries) = std::fs::read_dir(&config.directory) {
        paths.extend(
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.is_file()
                        && p.extension()
                            .and_then(|e| e.to_str())
                            .is_some_and(|e| LIBRARY_EXTENSIONS.contains(&e))
                }),
        );
    }
    paths
}

fn load_one(config: &PluginsConfig, path: &Path, taken: &[String]) -> Result<Installed, String> {
    let bytes = std::fs::read(path).map_err(|e| {
        format!("cannot read it ({e}); fix the path in [[plugins.allow]] or remove the entry")
    })?;
    let sha256 = hex::encode(mubadile_core::crypto::sha256(&bytes));
    let Some(allowed) = config.allow.iter().find(|a| a.path == path) else {
        return Err(format!(
            "it is not allow-listed; if you trust it, add [[plugins.allow]] with path = {:?} and \
             sha256 = \"{sha256}\" to the configuration",
            path.display().to_string()
        ));
    };
    if !allowed.sha256.eq_ignore_ascii_case(&sha256) {
        return Err(format!(
            "it changed since it was allow-listed: the configuration expects SHA-256 {}, the file \
             has {sha256}; put back the allow-listed build, or allow-list this one if you trust it",
            allowed.sha256
        ));
    }
    let plugin = load_verified_copy(path, &bytes, &sha256)?;
    if taken.iter().any(|n| n == plugin.name()) {
        return Err(format!(
            "a plugin named {:?} is already installed; remove one of the two",
            plugin.name()
        ));
    }
    Ok(Installed {
        plugin: Arc::new(plugin),
        origin: Origin::File {
            path: path.to_path_buf(),
            sha256,
        },
    })
}

/// Opens the library `bytes` (read from `path`, hash `sha256` checked) from a copy in a new
/// directory only this process can write, so that what is loaded is what was checked; the copy
/// is removed once open (the loaded library stays mapped).
fn load_verified_copy(
    path: &Path,
    bytes: &[u8],
    sha256: &str,
) -> Result<mubadile_plugin_api::abi::load::DynamicPlugin, String> {
    let copy_failed = |e: std::io::Error| {
        format!("cannot make a private copy to load ({e}); check the temporary directory")
    };
    let random = mubadile_core::crypto::random_bytes::<8>().map_err(|e| e.to_string())?;
    let dir = std::env::temp_dir().join(format!("mubadile-plugin-{}", hex::encode(random)));
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    // `create` fails if anything is there already, so the directory is this process's own.
    builder.create(&dir).map_err(copy_failed)?;
    let file_name = match path.extension().and_then(|e| e.to_str()) {
        Some(extension) => format!("{sha256}.{extension}"),
        None => sha256.to_string(),
    };
    let copy = dir.join(file_name);
    let loaded = std::fs::write(&copy, bytes)
        .map_err(copy_failed)
        .and_then(|()| {
            mubadile_plugin_api::abi::load::load(&copy).map_err(|mut e| {
                // Name the file the operator knows, not the private copy.
                e.path = path.to_path_buf();
                e.to_string()
            })
        });
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        tracing::warn!(dir = %dir.display(), "cannot remove the plugin's private copy: {e}");
    }
    loaded
}
