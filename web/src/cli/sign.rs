//! `mubadile sign prepare|finish`: two-step external signing from the command line. `prepare`
//! writes the data the holder's own token must sign (e.g. with `openssl pkeyutl` or a PKCS#11
//! tool) and the session; `finish` inserts the signature value and writes the signed file.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use mubadile_core::config::Config;
use mubadile_core::pki::read_certificates;
use mubadile_core::signing::SignatureOptions;
use mubadile_core::signing::external::{self, SigningSession};
use mubadile_plugin_api::{DocMdpPermissions, SignTarget, SignatureAppearance};

use super::verify::local_validation;

#[derive(Subcommand)]
pub enum SignCommand {
    /// Step one: what the holder's token must sign.
    Prepare {
        /// The signer's certificate (PEM or DER).
        #[arg(long)]
        certificate: PathBuf,
        /// Certificates to carry above it (PEM); by default this platform's issuing CA.
        #[arg(long)]
        chain: Option<PathBuf>,
        /// A new signature over this file…
        #[arg(
            long,
            required_unless_present = "document",
            conflicts_with = "document"
        )]
        content: Option<PathBuf>,
        /// …not carrying the file inside the signature (a detached .p7s).
        #[arg(long, requires = "content")]
        detached: bool,
        /// …in this format: `cms` (CAdES, the default) or `xml` (XAdES: enveloped in XML
        /// content, else enveloping; detached with `--detached`), as REST's `format`.
        #[arg(long, requires = "content", default_value = "cms")]
        format: String,
        /// Or: one more signature on this signed file…
        #[arg(long)]
        document: Option<PathBuf>,
        /// …whose signed data is this file, when it is detached…
        #[arg(long, requires = "document")]
        detached_content: Option<PathBuf>,
        /// …or a counter-signature over its signature with this id (see `mubadile verify`).
        #[arg(long, requires = "document", conflicts_with = "detached_content")]
        counter_sign: Option<String>,
        /// A visible stamp (PDF): a JSON file as REST's `appearance`, e.g. `{"page": 1,
        /// "rect": [300, 40, 560, 150], "registration_number": "…", "registration_date":
        /// "2026-11-30"}`; the signer's name, position and organisation come from the
        /// certificate.
        #[arg(long)]
        appearance: Option<PathBuf>,
        /// A certification signature (PDF, the document's first signature) with these DocMDP
        /// permissions, as REST's `certify`: 1 no changes, 2 form filling and signing (the
        /// default when given without a value), 3 also annotations.
        #[arg(long, num_args = 0..=1, default_missing_value = "2", value_parser = docmdp_permissions)]
        certify: Option<DocMdpPermissions>,
        /// Sign into this existing empty signature field of the PDF, as REST's `field`.
        #[arg(long)]
        field: Option<String>,
        /// Where to write the preparation (JSON with the session; give it to `finish`).
        #[arg(long)]
        out: PathBuf,
        /// Where to write the raw bytes to be signed.
        #[arg(long)]
        data_out: PathBuf,
    },
    /// Step two: insert the signature value and write the signed file.
    Finish {
        /// The preparation `prepare` wrote.
        #[arg(long)]
        prepared: PathBuf,
        /// The signature value over the data to be signed (DER, or r‖s for ECDSA).
        #[arg(long)]
        signature: PathBuf,
        /// Where to write the signed file.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Runs `mubadile sign …`.
pub fn run(config: Config, command: SignCommand) -> anyhow::Result<()> {
    let validation = local_validation(&config)?;
    let validator = &validation.validator;
    match command {
        SignCommand::Prepare {
            certificate,
            chain,
            content,
            detached,
            format,
            document,
            detached_content,
            counter_sign,
            appearance,
            certify,
            field,
            out,
            data_out,
        } => {
            let appearance: Option<SignatureAppearance> = appearance
                .map(|path| {
                    serde_json::from_slice(&read(&path)?).with_context(|| {
                        format!("{} is not a signature appearance", path.display())
                    })
                })
                .transpose()?;
            let mut certificates = read_certificates(&read(&certificate)?, "certificate")?;
            if certificates.len() != 1 {
                anyhow::bail!(
                    "{} holds {} certificates; give the signer's alone (the chain with --chain)",
                    certificate.display(),
                    certificates.len()
                );
            }
            let certificate = certificates.remove(0);
            let chain = match chain {
                Some(path) => read_certificates(&read(&path)?, "chain")?,
                None => validation.chain_for(&certificate)?,
            };
            let (plugin, target) = match (content, document) {
                (Some(content), _) => (
                    validator.plugin_named(&format)?,
                    SignTarget::New {
                        content: read(&content)?,
                        attached: !detached,
                    },
                ),
                (None, Some(document)) => {
                    let document = read(&document)?;
                    let (plugin, _) = validator.plugin_for(&document)?;
                    let target = match counter_sign {
                        Some(signature) => SignTarget::Counter {
                            document,
                            signature,
                        },
                        None => SignTarget::Parallel {
                            document,
                            detached_content: detached_content.as_deref().map(read).transpose()?,
                        },
                    };
                    (plugin, target)
                }
                (None, None) => anyhow::bail!("give --content or --document"),
            };
            let preparation = external::prepare(
                plugin.as_ref(),
                target,
                &certificate,
                &chain,
                mubadile_core::time::now(),
                SignatureOptions {
                    appearance,
                    certify,
                    field,
                },
            )?;
            write(&data_out, &preparation.data_to_be_signed)?;
            write(&out, serde_json::to_string_pretty(&preparation)?.as_bytes())?;
            println!(
                "Sign {} with {} ({} key); then: mubadile sign finish --prepared {} --signature SIG --out FILE (before {})",
                data_out.display(),
                preparation.signature_algorithm,
                preparation.key_algorithm,
                out.display(),
                preparation.expires_at.to_rfc3339()
            );
        }
        SignCommand::Finish {
            prepared,
            signature,
            out,
        } => {
            let preparation: serde_json::Value = serde_json::from_slice(&read(&prepared)?)
                .with_context(|| format!("{} is not a preparation", prepared.display()))?;
            let session = preparation["session"].as_str().with_context(|| {
                format!(
                    "{} has no session; run `mubadile sign prepare` again",
                    prepared.display()
                )
            })?;
            let session = SigningSession::decode(session)?;
            let plugin = validator.plugin_named(session.plugin())?;
            let signed = external::finish(
                plugin.as_ref(),
                &session,
                &read(&signature)?,
                mubadile_core::time::now(),
            )?;
            write(&out, &signed)?;
            println!("Signed file written to {}", out.display());
        }
    }
    Ok(())
}

/// `--certify`'s value: the DocMDP permissions 1, 2 or 3.
fn docmdp_permissions(text: &str) -> Result<DocMdpPermissions, String> {
    let p: u8 = text
        .parse()
        .map_err(|_| format!("{text:?} is not 1, 2 or 3"))?;
    DocMdpPermissions::try_from(p)
}

fn read(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn write(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
