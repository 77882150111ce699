//! Evidence records on both back ends: a first record for a batch under one timestamp, timestamp
//! and hash-tree renewal, what a change or a removed renewal looks like, openssl's view of
//! every timestamp, and the TSA certificate's revocation through the embedded CA.

use std::sync::Arc;

use chrono::Duration;
use diesel::prelude::*;

use super::check::{CheckContext, check};
use super::syntax::{EvidenceRecord, sequence_der, time_stamp_der};
use super::tree::root_from;
use crate::both_backends;
use crate::crypto::digest;
use crate::exchange::Exchange;
use crate::exchange::testing::World;
use crate::store::DbPool;
use crate::store::schema::{archive_evidence, documents};
use crate::testkit::openssl_ok;
use crate::validation::{Indication, PlatformValidation};

/// Sends `n` letters and checkpoints the journals: `n` envelopes and some checkpoints to cover.
fn archive(w: &World, n: usize) -> Vec<String> {
    let sent: Vec<String> = (0..n)
        .map(|i| {
            let letter = w.letter(&format!("m-{i}"), format!("Hesabat {i}").as_bytes());
            w.exchange.send(&w.party(), &letter).unwrap().id
        })
        .collect();
    w.exchange.deliver_pending(10).unwrap();
    w.exchange.checkpoint_all().unwrap();
    sent
}

fn envelopes(pool: &DbPool) -> Vec<String> {
    let mut conn = pool.get().unwrap();
    documents::table
        .select(documents::envelope_sha256)
        .distinct()
        .load(&mut conn)
        .unwrap()
}

fn record(pool: &DbPool, sha256: &str) -> EvidenceRecord {
    let mut conn = pool.get().unwrap();
    super::stored(&mut conn, sha256).unwrap().unwrap()
}

fn envelope_bytes(pool: &DbPool, sha256: &str) -> Vec<u8> {
    let mut conn = pool.get().unwrap();
    crate::store::blob(&mut conn, sha256).unwrap()
}

fn checked(
    exchange: &Exchange,
    object: &[u8],
    record: &EvidenceRecord,
) -> Result<super::EvidenceCheck, super::EvidenceProblem> {
    let validator = &exchange.validation.validator;
    check(
        object,
        record,
        &CheckContext {
            anchors: &exchange.validation.anchors,
            certificates: &validator.known_certificates,
            policy: &validator.policy,
            now: crate::time::now(),
        },
    )
}

/// openssl accepts every timestamp of `record` over the hash it covers, recomputed here from the
/// object and the reduced trees (`openssl ts -verify -digest … -token_in`).
fn openssl_accepts_every_timestamp(exchange: &Exchange, object: &[u8], record: &EvidenceRecord) {
    let dir = tempfile::tempdir().unwrap();
    let mut pem = String::new();
    for c in &exchange.validation.validator.known_certificates {
        let block = der::EncodePem::to_pem(&c.certificate, der::pem::LineEnding::LF);
        pem.push_str(&block.unwrap());
    }
    std::fs::write(dir.path().join("cas.pem"), pem).unwrap();
    let chains = &record.archive_time_stamp_sequence;
    for (i, chain) in chains.iter().enumerate() {
        let algorithm = chain[0].digest_algorithm.as_ref().unwrap().oid;
        for (j, ats) in chain.iter().enumerate() {
            let leaf = match (i, j) {
                (0, 0) => digest(&algorithm, object).unwrap(),
                (_, 0) => {
                    let older = sequence_der(&chains[..i]).unwrap();
                    let joined = [
                        digest(&algorithm, object).unwrap(),
                        digest(&algorithm, &older).unwrap(),
                    ]
                    .concat();
                    digest(&algorithm, &joined).unwrap()
                }
                _ => digest(&algorithm, &time_stamp_der(&chain[j - 1]).unwrap()).unwrap(),
            };
            let reduced: Vec<Vec<Vec<u8>>> = ats
                .reduced_hashtree
                .iter()
                .flatten()
                .map(|l| l.iter().map(|h| h.as_bytes().to_vec()).collect())
                .collect();
            let root = root_from(&algorithm, &leaf, &reduced).unwrap();
            std::fs::write(dir.path().join("t.tst"), time_stamp_der(ats).unwrap()).unwrap();
            let out = openssl_ok(
                &[
                    "ts",
                    "-verify",
                    "-digest",
                    &hex::encode(&root),
                    "-token_in",
                    "-in",
                    "t.tst",
                    "-CAfile",
                    "cas.pem",
                ],
                dir.path(),
            );
            assert!(out.contains("Verification: OK"), "{out}");
        }
    }
}

/// pyasn1-alt-modules' RFC 4998 module (in the venv through pkilint) decodes `record` as an
/// `EvidenceRecord`, re-encodes the same DER, and finds `chains` chains of `stamps` timestamps.
fn pyasn1_reads(record: &EvidenceRecord, chains: usize, stamps: usize) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("r.ers"), record.der().unwrap()).unwrap();
    let script = r#"
import sys
from pyasn1.codec.der import decoder, encoder
from pyasn1_alt_modules import rfc4998, rfc5652
data = open(sys.argv[1], 'rb').read()
record, rest = decoder.decode(data, asn1Spec=rfc4998.EvidenceRecord())
assert not rest and encoder.encode(record) == data
chains = record['archiveTimeStampSequence']
stamps = [ats for chain in chains for ats in chain]
for ats in stamps:
    assert ats['timeStamp']['contentType'] == rfc5652.id_signedData
print(int(record['version']), len(chains), len(stamps),
      sum(len(ats['reducedHashtree']) for ats in stamps if ats['reducedHashtree'].isValue))
"#;
    let out = std::process::Command::new(crate::testkit::venv_tool("python"))
        .args(["-c", script, "r.ers"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fields: Vec<usize> = text
        .split_whitespace()
        .map(|f| f.parse().unwrap())
        .collect();
    assert_eq!(fields[..3], [1, chains, stamps], "{text}");
    assert!(fields[3] >= 1, "the reduced hash trees read: {text}");
}

both_backends!(
    fn rfc_4998_one_timestamp_covers_a_whole_batch_and_each_record_verifies(pool: &DbPool) {
        let w = World::new(pool);
        archive(&w, 3);
        let run = w
            .exchange
            .renew_archive_evidence(Duration::days(30))
            .unwrap();
        let (checkpoints, receipts): (i64, i64) = {
            let mut conn = pool.get().unwrap();
            let checkpoints = crate::store::schema::journal_checkpoints::table
                .count()
                .get_result(&mut conn)
                .unwrap();
            let receipts = crate::store::schema::deliveries::table
                .filter(crate::store::schema::deliveries::receipt_sha256.is_not_null())
                .count()
                .get_result(&mut conn)
                .unwrap();
            (checkpoints, receipts)
        };
        // Every envelope, every receipt and every checkpoint signature.
        assert!(receipts >= 3, "{receipts}");
        assert_eq!(
            run.first,
            3 + usize::try_from(checkpoints + receipts).unwrap(),
            "{run:?}"
        );
        assert_eq!((run.timestamps_renewed, run.hash_trees_renewed), (0, 0));
        let shas = envelopes(pool);
        let records: Vec<EvidenceRecord> = shas.iter().map(|s| record(pool, s)).collect();
        // ONE token for the whole batch; each object its own reduced tree.
        let token = &records[0].archive_time_stamp_sequence[0][0].time_stamp;
        assert!(
            records
                .iter()
                .all(|r| &r.archive_time_stamp_sequence[0][0].time_stamp == token)
        );
        assert!(records.iter().all(|r| {
            r.archive_time_stamp_sequence[0][0]
                .reduced_hashtree
                .is_some()
        }));
        for (sha, r) in shas.iter().zip(&records) {
            let object = envelope_bytes(pool, sha);
            let seen = checked(&w.exchange, &object, r).unwrap();
            assert_eq!(seen.stamps.len(), 1);
            openssl_accepts_every_timestamp(&w.exchange, &object, r);
        }
        // A second run has nothing to do.
        let again = w
            .exchange
            .renew_archive_evidence(Duration::days(30))
            .unwrap();
        assert_eq!(again.total(), 0, "{again:?}");
    }
);

both_backends!(
    fn rfc_4998_5_2_timestamp_renewal_before_the_tsa_certificate_ends(pool: &DbPool) {
        let w = World::new(pool);
        archive(&w, 2);
        let first = w
            .exchange
            .renew_archive_evidence(Duration::days(30))
            .unwrap();
        // A margin beyond the TSA certificate's end: every newest timestamp is due.
        let run = w
            .exchange
            .renew_archive_evidence(Duration::days(365 * 100))
            .unwrap();
        assert_eq!(run.timestamps_renewed, first.first, "{run:?}");
        let run = w
            .exchange
            .renew_archive_evidence(Duration::days(365 * 100))
            .unwrap();
        assert_eq!(run.timestamps_renewed, first.first, "{run:?}");
        for sha in envelopes(pool) {
            let r = record(pool, &sha);
            assert_eq!(r.archive_time_stamp_sequence.len(), 1);
            assert_eq!(r.archive_time_stamp_sequence[0].len(), 3);
            let object = envelope_bytes(pool, &sha);
            let seen = checked(&w.exchange, &object, &r).unwrap();
            assert_eq!(seen.stamps.len(), 3);
            openssl_accepts_every_timestamp(&w.exchange, &object, &r);
            pyasn1_reads(&r, 1, 3);

            // A changed byte of the envelope: named as not covered.
            let mut changed = object.clone();
            let last = changed.len() - 1;
            changed[last] ^= 1;
            let problem = checked(&w.exchange, &changed, &r).unwrap_err();
            assert_eq!(problem.indication, Indication::TotalFailed);
            assert!(
                problem
                    .why
                    .contains("timestamp 1.1 does not cover this object"),
                "{}",
                problem.why
            );

            // A renewal taken out of the chain: the one after it no longer follows.
            let mut removed = r.clone();
            removed.archive_time_stamp_sequence[0].remove(1);
            let problem = checked(&w.exchange, &object, &removed).unwrap_err();
            assert_eq!(problem.indication, Indication::TotalFailed);
            assert!(
                problem
                    .why
                    .contains("timestamp 1.2 does not cover timestamp 1.1: a renewal was removed"),
                "{}",
                problem.why
            );
        }
    }
);

both_backends!(
    fn rfc_4998_5_2_hash_tree_renewal_when_the_hash_nears_its_end(pool: &DbPool) {
        let w = World::new(pool);
        archive(&w, 2);
        w.exchange
            .renew_archive_evidence(Duration::days(30))
            .unwrap();
        // The policy now says SHA-256 ends in ten days.
        let dir = tempfile::tempdir().unwrap();
        let until = (crate::time::now() + Duration::days(10)).to_rfc3339();
        let policy = crate::validation::policy::DEFAULT_POLICY.replace(
            "{ name = \"sha256\" }",
            &format!("{{ name = \"sha256\", until = \"{until}\" }}"),
        );
        std::fs::write(dir.path().join("policy.toml"), policy).unwrap();
        let mut config = crate::config::Config {
            data_dir: dir.path().to_path_buf(),
            ..Default::default()
        };
        config.validation.algorithm_policy = Some(dir.path().join("policy.toml"));
        let hierarchy = {
            let mut conn = pool.get().unwrap();
            crate::ca::authority::hierarchy_certificates(&mut conn).unwrap()
        };
        let validation = PlatformValidation::new(
            &config,
            vec![Arc::new(mubadile_plugin_cms::CmsPlugin)],
            &hierarchy,
        )
        .unwrap();
        let later = Exchange::new(pool.clone(), w.exchange.ca.clone(), Arc::new(validation));
        // Within a 30-day margin: every chain is renewed with SHA-384; the last envelope's blob
        // is erased (as after disposal) and skipped.
        let shas = envelopes(pool);
        let erased = shas[1].clone();
        {
            let mut conn = pool.get().unwrap();
            diesel::update(crate::store::schema::blobs::table.find(&erased))
                .set(
                    crate::store::schema::blobs::erased_at
                        .eq(Some(crate::time::to_db(crate::time::now()))),
                )
                .execute(&mut conn)
                .unwrap();
        }
        let object = envelope_bytes(pool, &shas[0]);
        let run = later.renew_archive_evidence(Duration::days(30)).unwrap();
        assert_eq!(run.skipped, 1, "{run:?}");
        assert!(run.hash_trees_renewed >= 1, "{run:?}");
        let r = record(pool, &shas[0]);
        assert_eq!(r.archive_time_stamp_sequence.len(), 2);
        assert_eq!(
            r.archive_time_stamp_sequence[1][0]
                .digest_algorithm
                .as_ref()
                .unwrap()
                .oid,
            crate::crypto::oids::ID_SHA_384
        );
        assert_eq!(r.digest_algorithms.len(), 2);
        let seen = checked(&later, &object, &r).unwrap();
        assert_eq!(seen.stamps.last().unwrap().algorithm, "sha384");
        openssl_accepts_every_timestamp(&later, &object, &r);
        pyasn1_reads(&r, 2, 2);
        // The erased envelope's record is left as it was, with its one SHA-256 chain.
        assert_eq!(record(pool, &erased).archive_time_stamp_sequence.len(), 1);
        let mut conn = pool.get().unwrap();
        let algorithm: String = archive_evidence::table
            .find(&shas[0])
            .select(archive_evidence::digest_algorithm)
            .first(&mut conn)
            .unwrap();
        assert_eq!(algorithm, "sha384");
        // A renewal whose new chain is taken out of the record: the newest SHA-256 chain is
        // reported as no longer valid once SHA-256 has ended (checked as of a later "now").
        let mut old = r.clone();
        old.archive_time_stamp_sequence.pop();
        let validator = &later.validation.validator;
        let problem = check(
            &object,
            &old,
            &CheckContext {
                anchors: &later.validation.anchors,
                certificates: &validator.known_certificates,
                policy: &validator.policy,
                now: crate::time::now() + Duration::days(20),
            },
        )
        .unwrap_err();
        assert_eq!(problem.indication, Indication::Indeterminate);
        assert!(problem.why.contains("sha256"), "{}", problem.why);
    }
);

both_backends!(
    fn the_renewal_job_runs_on_one_of_two_nodes_per_period(pool: &DbPool) {
        use crate::schedule::{RENEW_ARCHIVE_EVIDENCE, claim_run, finish_run};
        let w = World::new(pool);
        archive(&w, 1);
        let day = Duration::days(1);
        let now = crate::time::now();
        // Two nodes tick at once: one claims the period and runs, the other does not.
        let claims = ["node-a", "node-b"]
            .map(|node| claim_run(pool, RENEW_ARCHIVE_EVIDENCE, node, now, day).unwrap());
        assert_eq!(claims, [true, false]);
        let run = w
            .exchange
            .renew_archive_evidence(Duration::days(90))
            .unwrap();
        assert!(run.first >= 1, "{run:?}");
        finish_run(pool, RENEW_ARCHIVE_EVIDENCE, "node-a", now, day).unwrap();
        assert!(!claim_run(pool, RENEW_ARCHIVE_EVIDENCE, "node-b", now, day).unwrap());
    }
);

/// `record` does not hold for `object`: `indication`, for a reason holding each of `words`.
fn fails(
    exchange: &Exchange,
    object: &[u8],
    record: &EvidenceRecord,
    indication: Indication,
    words: &[&str],
) {
    let problem = checked(exchange, object, record).unwrap_err();
    assert_eq!(problem.indication, indication, "{}", problem.why);
    assert!(
        words.iter().all(|w| problem.why.contains(w)),
        "{}",
        problem.why
    );
}

/// One letter sent and checkpointed, and its first records made: the world, the envelope's
/// SHA-256 and bytes.
fn one_envelope_recorded(pool: &DbPool) -> (World, String, Vec<u8>) {
    let w = World::new(pool);
    archive(&w, 1);
    w.exchange
        .renew_archive_evidence(Duration::days(30))
        .unwrap();
    let sha = envelopes(pool).remove(0);
    let object = envelope_bytes(pool, &sha);
    (w, sha, object)
}

/// Revokes the platform TSA's certificate (key compromise) through the embedded CA, which
/// publishes new CRLs at once (CSP 9.4).
fn revoke_the_tsa(w: &World) {
    let tsa = w.exchange.ca.time_stamp_authority();
    let serial = crate::ca::register::Serial::from_bytes(
        tsa.certificate.tbs_certificate.serial_number.as_bytes(),
    );
    w.exchange
        .ca
        .revoke(
            &crate::exchange::testing::administrator(),
            &serial,
            crate::ca::reason::RevocationReason::KeyCompromise,
            None,
            Some("test: the TSA key is compromised"),
        )
        .unwrap();
}

/// `record` with every CRL taken out of its timestamps (as a record made before they were kept).
fn without_crls(record: &EvidenceRecord) -> EvidenceRecord {
    let mut bare = record.clone();
    for ats in bare.archive_time_stamp_sequence.iter_mut().flatten() {
        let mut signed: cms::signed_data::SignedData = ats.time_stamp.content.decode_as().unwrap();
        signed.crls = None;
        ats.time_stamp.content = der::Any::encode_from(&signed).unwrap();
    }
    bare
}

both_backends!(
    fn rfc_4998_4_2_every_timestamp_carries_the_crls_of_its_tsa_path(pool: &DbPool) {
        let (w, sha, object) = one_envelope_recorded(pool);
        // A record whose one timestamp carries no CRL (as one made before they were kept):
        // INDETERMINATE, naming what is missing.
        let first = record(pool, &sha);
        fails(
            &w.exchange,
            &object,
            &without_crls(&first),
            Indication::Indeterminate,
            &[
                "timestamp 1.1: it carries no CRL of",
                "as of the time it attests",
            ],
        );
        w.exchange
            .renew_archive_evidence(Duration::days(365 * 100))
            .unwrap();
        let r = record(pool, &sha);
        // The TSA's issuing CA's CRL and the root's, in each token; the TSA's signature holds.
        for ats in r.archive_time_stamp_sequence.iter().flatten() {
            assert_eq!(
                crate::exchange::archive::evidence::tsa_status::carried_crls(&ats.time_stamp).len(),
                2,
                "{ats:?}"
            );
        }
        openssl_accepts_every_timestamp(&w.exchange, &object, &r);
        pyasn1_reads(&r, 1, 2);
        let seen = checked(&w.exchange, &object, &r).unwrap();
        assert!(seen.stamps[0].not_revoked_as_of <= seen.stamps[1].at);
        // The renewal covers the CRLs put in timestamp 1.1: taking them out is a change.
        fails(
            &w.exchange,
            &object,
            &without_crls(&r),
            Indication::TotalFailed,
            &["timestamp 1.2 does not cover timestamp 1.1"],
        );
    }
);

both_backends!(
    fn en_319_102_1_a_tsa_certificate_revoked_before_the_renewal_is_revoked_no_poe(pool: &DbPool) {
        let (w, sha, object) = one_envelope_recorded(pool);
        assert!(checked(&w.exchange, &object, &record(pool, &sha)).is_ok());
        // Timestamps and revocation times are to the second: revoked a second after 1.1.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        revoke_the_tsa(&w);
        // The renewal puts the CRL naming the revocation in timestamp 1.1 before covering it.
        let run = w
            .exchange
            .renew_archive_evidence(Duration::days(365 * 100))
            .unwrap();
        assert!(run.timestamps_renewed >= 1, "{run:?}");
        let r = record(pool, &sha);
        assert_eq!(r.archive_time_stamp_sequence[0].len(), 2);
        fails(
            &w.exchange,
            &object,
            &r,
            Indication::Indeterminate,
            &[
                "timestamp 1.1: ",
                "was revoked on",
                "timestamp 1.2 renewed it only on",
                "(REVOKED_NO_POE)",
            ],
        );
        // openssl still accepts each token's signature: only the status tells.
        openssl_accepts_every_timestamp(&w.exchange, &object, &r);

        // An object first timestamped after the revocation: the CRL its timestamp carries
        // already names the TSA certificate, so the record fails.
        let signature = b"a checkpoint signature stamped after the TSA was revoked";
        let late = w
            .exchange
            .checkpoint_evidence("min-justice/incoming/99".into(), signature)
            .unwrap();
        fails(
            &w.exchange,
            signature,
            &late,
            Indication::TotalFailed,
            &[
                "timestamp 1.1: ",
                "before the timestamp was made",
                "(REVOKED)",
            ],
        );
    }
);
