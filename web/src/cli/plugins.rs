//! `mubadile plugins list`: the format plugins this node runs, where each comes from, the
//! formats it reads, and the plugin files it refused (docs/plugins.md).

use clap::Subcommand;
use mubadile_core::config::Config;

use crate::plugins::dynamic::Origin;

/// Format plugins.
#[derive(Subcommand)]
pub enum PluginsCommand {
    /// Show the plugins this configuration loads (built-ins first), where each comes from (built
    /// in, or a library file and its SHA-256), its formats, and every refused plugin file.
    List,
}

/// Runs `command`.
pub fn run(config: &Config, command: PluginsCommand) -> anyhow::Result<()> {
    match command {
        PluginsCommand::List => {
            print!("{}", listing(config));
            Ok(())
        }
    }
}

fn listing(config: &Config) -> String {
    let (installed, refused) = crate::plugins::installed(config);
    let mut out = String::new();
    for item in &installed {
        let origin = match &item.origin {
            Origin::BuiltIn => "built-in".to_owned(),
            Origin::File { path, sha256 } => format!("{} (sha256 {sha256})", path.display()),
        };
        out.push_str(&format!("{}\t{origin}\n", item.plugin.name()));
        for format in item.plugin.formats() {
            out.push_str(&format!("\t{} [{}]\n", format.name, format.media_type));
        }
    }
    for refusal in &refused {
        out.push_str(&format!(
            "refused\t{}: {}\n",
            refusal.path.display(),
            refusal.reason
        ));
    }
    out
}
