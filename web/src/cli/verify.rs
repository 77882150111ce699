//! `mubadile verify FILE`: validates every signature of a signed file (SVR 2.3) and prints the
//! report. Works without a running server: it trusts the platform's root when this node's
//! database is at hand, the configured anchors, and any `--anchor` given.
//!
//! An envelope is opened and its form, seal and document signatures checked. An archival package
//! (EDE 7) is verified from its own contents alone, never going online: files, envelope, journal
//! entries and their checkpoints, seal, signatures and receipts.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::ValueEnum;
use mubadile_core::ca::authority::hierarchy_certificates;
use mubadile_core::config::Config;
use mubadile_core::exchange::archive::{is_package, verify_package};
use mubadile_core::exchange::envelope::{is_envelope, open as open_envelope};
use mubadile_core::pki::{RevocationChecker, TrustAnchors, read_certificates};
use mubadile_core::store::open_pool;
use mubadile_core::validation::{Indication, PlatformValidation};

/// Exit code when every signature is TOTAL-PASSED.
pub const PASSED: u8 = 0;
/// Exit code when a signature is TOTAL-FAILED (negative, SVR 5.4).
pub const FAILED: u8 = 10;
/// Exit code when a signature is INDETERMINATE (incomplete, SVR 5.5: verify again later or
/// supply what is missing).
pub const INDETERMINATE: u8 = 11;

#[derive(clap::Args)]
#[command(
    after_help = "Exit codes: 0 every signature TOTAL-PASSED (positive); 10 a signature \
TOTAL-FAILED (negative); 11 a signature INDETERMINATE (incomplete: try again later or supply what \
is missing); 3 the input is not a signed document or an option is wrong; 1 any other failure."
)]
pub struct VerifyArgs {
    /// The signed file (.p7s, .p7m, .pdf, …), an envelope (.asice) or an archival package
    /// exported by the platform.
    file: PathBuf,
    /// The signed data of a detached signature.
    #[arg(long)]
    detached: Option<PathBuf>,
    /// Validate as of this time (RFC 3339, e.g. 2026-03-01T12:00:00Z) instead of now.
    #[arg(long)]
    at: Option<DateTime<Utc>>,
    /// Trust this root certificate as well (PEM or DER); may be repeated.
    #[arg(long)]
    anchor: Vec<PathBuf>,
    /// How to print the report.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    report: ReportFormat,
    /// Write the report to this file instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Report formats.
#[derive(Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    /// Plain text for people.
    Text,
    /// The JSON report of the REST API.
    Json,
    /// ETSI TS 119 102-2 XML.
    Xml,
}

/// Runs `mubadile verify`.
pub fn run(config: &Config, args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let document = read(&args.file)?;
    let detached = args.detached.as_deref().map(read).transpose()?;
    let validation = local_validation(config)?;
    let mut extra = Vec::new();
    for path in &args.anchor {
        extra.extend(read_certificates(&read(path)?, "trust anchor")?);
    }
    let anchors = validation.with_anchors(&extra)?;
    if is_package(&document) {
        return package(validation, &anchors, &document, &args);
    }
    if is_envelope(&document) {
        return envelope(&validation, &anchors, &document, &args);
    }
    let report =
        validation
            .validator
            .validate(&document, detached.as_deref(), &anchors, args.at)?;
    let text = match args.report {
        ReportFormat::Text => report.to_string(),
        ReportFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
        ReportFormat::Xml => report.to_etsi_xml()?,
    };
    write_out(&args, &text)?;
    Ok(ExitCode::from(exit_code(report.indication)))
}

/// An envelope (ASiC-E): its form and digests (EDE 5.1.1), then the seal over its manifest and
/// every signature of the document it carries (EDE 5.1.2).
fn envelope(
    validation: &PlatformValidation,
    anchors: &TrustAnchors,
    bytes: &[u8],
    args: &VerifyArgs,
) -> anyhow::Result<ExitCode> {
    if args.detached.is_some() {
        anyhow::bail!("--detached does not apply to an envelope: it carries what its seal signs");
    }
    let opened = open_envelope(bytes)?;
    let validator = &validation.validator;
    let seal = validator.validate(&opened.seal, Some(&opened.manifest), anchors, args.at)?;
    let document = &opened.contents.document;
    let signed = validator.validate(&document.content, None, anchors, args.at)?;
    let requisites = &opened.contents.requisites;
    let indication = seal.indication.max(signed.indication);
    let text = match args.report {
        ReportFormat::Text => format!(
            "Envelope {} of {}, from {}: form and every digest of its manifest intact \
             (EDE 5.1.1)\n\nThe seal:\n{seal}\nThe document {}:\n{signed}\nResult: {} ({})\n",
            requisites.registration_number,
            requisites.registration_date,
            requisites.sender.name,
            document.name,
            indication.name(),
            indication.result()
        ),
        ReportFormat::Json => {
            serde_json::to_string_pretty(&serde_json::json!({
                "requisites": requisites,
                "indication": indication,
                "seal": seal,
                "document": signed,
            }))? + "\n"
        }
        ReportFormat::Xml => anyhow::bail!(
            "an envelope's verification is reported as text or JSON; the ETSI XML report is for \
             single signed files"
        ),
    };
    write_out(args, &text)?;
    Ok(ExitCode::from(exit_code(indication)))
}

/// An archival package, checked offline: only what it carries counts.
fn package(
    mut validation: PlatformValidation,
    anchors: &TrustAnchors,
    document: &[u8],
    args: &VerifyArgs,
) -> anyhow::Result<ExitCode> {
    if args.detached.is_some() || args.at.is_some() {
        anyhow::bail!(
            "--detached and --at do not apply to an archival package: it carries its data, and \
             its checkpoints say as of when to judge it"
        );
    }
    validation.validator.revocation = RevocationChecker::offline();
    let verification = verify_package(document, &validation.validator, anchors)?;
    let text = match args.report {
        ReportFormat::Text => verification.to_string(),
        ReportFormat::Json => serde_json::to_string_pretty(&verification)? + "\n",
        ReportFormat::Xml => anyhow::bail!(
            "an archival package's verification is reported as text or JSON; the ETSI XML \
             report is for single signed files"
        ),
    };
    write_out(args, &text)?;
    Ok(ExitCode::from(exit_code(verification.indication)))
}

fn write_out(args: &VerifyArgs, text: &str) -> anyhow::Result<()> {
    match &args.out {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout().write_all(text.as_bytes())?,
    }
    Ok(())
}

fn exit_code(indication: Indication) -> u8 {
    match indication {
        Indication::TotalPassed => PASSED,
        Indication::TotalFailed => FAILED,
        Indication::Indeterminate => INDETERMINATE,
    }
}

/// Validation as this node sets it up, without a running server.
pub fn local_validation(config: &Config) -> anyhow::Result<PlatformValidation> {
    Ok(crate::plugins::platform_validation(
        config,
        &platform_hierarchy(config)?,
    )?)
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// This node's CA certificates, when its database exists; verifying never creates one.
fn platform_hierarchy(config: &Config) -> anyhow::Result<Vec<Vec<u8>>> {
    let url = config.database_url();
    if let Some(path) = url.strip_prefix("sqlite://")
        && !Path::new(path).exists()
    {
        return Ok(Vec::new());
    }
    let pool = open_pool(&url, 1)?;
    let mut conn = pool.get()?;
    Ok(hierarchy_certificates(&mut conn)?)
}
