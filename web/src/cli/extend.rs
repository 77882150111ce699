//! `mubadile extend FILE --level T|LT`: raises every signature of a signed file to B-T (a
//! signature timestamp) or B-LT (the validation data embedded too), for keeping.

use std::path::PathBuf;

use anyhow::Context;
use mubadile_core::config::Config;
use mubadile_core::signing::HttpTimestampSource;
use mubadile_core::signing::extend::{Level, extend};

use super::verify::local_validation;

#[derive(clap::Args)]
pub struct ExtendArgs {
    /// The signed file.
    file: PathBuf,
    /// The level to reach: T (timestamped) or LT (with validation data for long-term keeping).
    #[arg(long)]
    level: Level,
    /// The signed data of a detached signature.
    #[arg(long)]
    detached: Option<PathBuf>,
    /// The RFC 3161 time-stamping service (default: this platform's, under server.public_url).
    #[arg(long)]
    tsa: Option<String>,
    /// Where to write the extended file.
    #[arg(long)]
    out: PathBuf,
}

/// Runs `mubadile extend`.
pub fn run(config: &Config, args: ExtendArgs) -> anyhow::Result<()> {
    let document = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let detached = args
        .detached
        .as_ref()
        .map(|p| std::fs::read(p).with_context(|| format!("cannot read {}", p.display())))
        .transpose()?;
    let tsa = HttpTimestampSource {
        url: args.tsa.clone().unwrap_or_else(|| {
            format!("{}/pki/tsa", config.server.public_url.trim_end_matches('/'))
        }),
    };
    let validation = local_validation(config)?;
    let extended = extend(
        &validation.validator,
        &validation.anchors,
        &tsa,
        &document,
        detached.as_deref(),
        args.level,
    )?;
    std::fs::write(&args.out, extended)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!("Extended file written to {}", args.out.display());
    Ok(())
}
