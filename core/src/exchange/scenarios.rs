//! The lifecycle of EDE 2.1 end to end inside the engine, on both back ends, against the real
//! embedded CA whose revocation data is fetched over HTTP: each transition a test named after
//! its clause.
#![cfg(test)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use diesel::prelude::*;

use super::delivery::DeliveryStatus;
use super::directory::{Agreement, Category, ReceiptKind, set_agreement, set_category};
use super::envelope;
use super::testing::{World, administrator};
use crate::both_backends;
use crate::exchange::receipt::Receipt;
use crate::journal::{self, Journal};
use crate::store::DbPool;
use crate::store::schema::{blobs, journal_entries, mail_outbox};

/// Recipients and subjects of the queued notices about documents, oldest first (the CA's own
/// mail about issued seals left out).
fn mails(pool: &DbPool) -> Vec<(String, String)> {
    let mut conn = pool.get().unwrap();
    let all: Vec<(String, String)> = mail_outbox::table
        .order(mail_outbox::id.asc())
        .select((mail_outbox::recipient, mail_outbox::subject))
        .load(&mut conn)
        .unwrap();
    all.into_iter()
        .filter(|(_, subject)| !subject.starts_with("Sertifikat"))
        .collect()
}

/// EDE 4.5–4.6: Finance signs its receipts to Justice within 24 hours.
fn signed_receipts_within_a_day(pool: &DbPool, w: &World) {
    set_agreement(
        pool,
        &administrator(),
        &w.justice,
        &w.finance,
        Agreement {
            receipt_kind: ReceiptKind::Signed,
            term_hours: 24,
        },
    )
    .unwrap();
}

fn events(
    pool: &DbPool,
    world: &World,
    organisation: &super::OrganisationId,
    journal: Journal,
) -> Vec<String> {
    let _ = world;
    let mut conn = pool.get().unwrap();
    journal::entries(&mut conn, organisation, journal, 0, 100)
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect()
}

both_backends!(
    fn ede_2_1_a_sealed_document_is_verified_registered_and_acknowledged(pool: &DbPool) {
        let w = World::new(pool);
        let sent = w
            .exchange
            .send(&w.party(), &w.letter("m-1", b"Hesabat"))
            .unwrap();
        assert_eq!(
            sent.requisites.registration_number,
            format!(
                "{}-O-000001",
                chrono::Datelike::year(&crate::time::baku_date(crate::time::now()))
            )
        );
        assert_eq!(sent.deliveries.len(), 1);
        assert_eq!(sent.deliveries[0].status, DeliveryStatus::Pending);
        assert_eq!(sent.sent_by_kind, "automated_system");

        // The envelope is self-contained: it opens and its seal verifies without the database.
        let bytes = w.exchange.envelope(&w.justice, &sent.id).unwrap();
        let opened = envelope::open(&bytes).unwrap();
        assert_eq!(opened.contents.requisites, sent.requisites);
        assert_eq!(opened.contents.attachments.len(), 1);

        assert_eq!(w.exchange.deliver_pending(10).unwrap(), 1);
        let view = w.exchange.document(&w.justice, &sent.id).unwrap();
        let delivery = &view.deliveries[0];
        assert_eq!(
            delivery.status,
            DeliveryStatus::Acknowledged,
            "{delivery:?}"
        );
        assert!(
            delivery
                .incoming_number
                .as_deref()
                .unwrap()
                .contains("-I-000001")
        );

        // EDE 4.4: the receipt binds exactly the envelope received.
        let receipt: Receipt = serde_json::from_slice(
            &w.exchange
                .receipt(&w.justice, &sent.id, &w.finance)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            receipt.envelope_sha256,
            hex::encode(crate::crypto::sha256(&bytes))
        );
        assert_eq!(receipt.receipt_kind, ReceiptKind::Automatic);
        assert_eq!(receipt.verification, "TOTAL-PASSED");

        assert_eq!(
            events(pool, &w, &w.justice, Journal::Outgoing),
            ["registered", "acknowledged"]
        );
        assert_eq!(
            events(pool, &w, &w.finance, Journal::Incoming),
            ["registered"]
        );
        let inbox = w.exchange.inbox(&w.finance, 0, 10).unwrap();
        assert_eq!(inbox.len(), 1);
        assert_eq!(inbox[0].document_id, sent.id);
        assert!(
            w.exchange
                .inbox(&w.finance, inbox[0].cursor, 10)
                .unwrap()
                .is_empty()
        );
        let mut conn = pool.get().unwrap();
        assert_eq!(
            journal::verify(&mut conn, &w.justice, Journal::Outgoing)
                .unwrap()
                .entries,
            2
        );
        // Each side is told, in the transaction that records the step.
        let told: Vec<String> = mails(pool)
            .into_iter()
            .map(|(to, subject)| format!("{to}: {}", subject.split(" / ").next().unwrap()))
            .collect();
        assert_eq!(
            told,
            [
                "info@min-finance.gov.az: Yeni sənəd",
                "info@min-justice.gov.az: Alınma təsdiqləndi"
            ]
        );
    }
);

both_backends!(
    fn ede_4_6_an_unconfirmed_receipt_is_overdue_then_counts_as_not_sent(pool: &DbPool) {
        let w = World::new(pool);
        signed_receipts_within_a_day(pool, &w);
        let sent = w
            .exchange
            .send(&w.party(), &w.letter("m-1", b"Hesabat"))
            .unwrap();
        w.exchange.deliver_pending(10).unwrap();
        let start = sent.sent_at;
        let hours = |h| start + chrono::Duration::hours(h);
        assert_eq!(w.exchange.enforce_deadlines(hours(23)).unwrap().overdue, 0);
        assert_eq!(w.exchange.enforce_deadlines(hours(25)).unwrap().overdue, 1);
        let delivery = w
            .exchange
            .document(&w.justice, &sent.id)
            .unwrap()
            .deliveries[0]
            .clone();
        assert_eq!(
            delivery.overdue_at.unwrap().timestamp(),
            hours(25).timestamp()
        );
        assert_eq!(
            delivery.due_at.timestamp(),
            hours(49).timestamp(),
            "a new term of the same length"
        );
        assert_eq!(delivery.status, DeliveryStatus::AwaitingReceipt);
        // A second run in the same term changes nothing.
        assert_eq!(
            w.exchange.enforce_deadlines(hours(30)).unwrap(),
            Default::default()
        );
        let run = w.exchange.enforce_deadlines(hours(50)).unwrap();
        assert_eq!((run.overdue, run.not_sent), (0, 1));
        let delivery = w
            .exchange
            .document(&w.justice, &sent.id)
            .unwrap()
            .deliveries[0]
            .clone();
        assert_eq!(delivery.status, DeliveryStatus::NotSent);
        assert_eq!(
            events(pool, &w, &w.justice, Journal::Outgoing),
            ["registered", "overdue", "not_sent"]
        );
        assert_eq!(
            events(pool, &w, &w.finance, Journal::Incoming),
            ["registered", "overdue", "not_sent"]
        );
        // The arrival notice first, then the two of EDE 4.6.
        let told: Vec<(String, String)> = mails(pool).into_iter().skip(1).collect();
        assert_eq!(told[0].0, "info@min-finance.gov.az");
        assert!(told[0].1.starts_with("Alınma təsdiqi gecikir"), "{told:?}");
        assert_eq!(told[1].0, "info@min-justice.gov.az");
        assert!(
            told[1].1.starts_with("Sənəd göndərilməmiş sayılır"),
            "{told:?}"
        );
    }
);

both_backends!(
    fn ede_4_1_an_unsigned_document_is_refused_naming_what_is_missing(pool: &DbPool) {
        let w = World::new(pool);
        let mut letter = w.letter("m-1", b"x");
        letter.document.content = b"plain text, no signature".to_vec();
        letter.title = " ".into();
        letter.addressees.push("min-nowhere".parse_id());
        let err = w.exchange.send(&w.party(), &letter).unwrap_err();
        assert_eq!(err.code(), "incomplete_document");
        let text = err.to_string();
        for expected in [
            "no signature",
            "title",
            "min-nowhere is not in the directory",
        ] {
            assert!(text.contains(expected), "{text}");
        }
        let mut conn = pool.get().unwrap();
        let stored: i64 = blobs::table.count().get_result(&mut conn).unwrap();
        assert_eq!(stored, 0, "nothing is kept of a refused send");
    }
);

both_backends!(
    fn ede_1_2_a_category_marked_not_exchangeable_is_never_sent(pool: &DbPool) {
        let w = World::new(pool);
        set_category(
            pool,
            &administrator(),
            &Category {
                organisation_id: w.justice.clone(),
                name: "state-secret".into(),
                exchangeable: false,
                retention_years: 75,
            },
        )
        .unwrap();
        let mut letter = w.letter("m-1", b"x");
        letter.category = Some("state-secret".into());
        assert_eq!(
            w.exchange.send(&w.party(), &letter).unwrap_err().code(),
            "category_not_exchangeable"
        );
    }
);

both_backends!(
    fn ede_4_3_3_the_same_message_id_never_registers_a_second_document(pool: &DbPool) {
        let w = World::new(pool);
        let letter = w.letter("m-1", b"Hesabat");
        let first = w.exchange.send(&w.party(), &letter).unwrap();
        let again = w.exchange.send(&w.party(), &letter).unwrap();
        assert_eq!(again.id, first.id);
        assert!(again.repeated);
        let other = w.letter("m-1", b"another text");
        assert_eq!(
            w.exchange.send(&w.party(), &other).unwrap_err().code(),
            "message_id_reused"
        );
        assert_eq!(
            events(pool, &w, &w.justice, Journal::Outgoing),
            ["registered"]
        );
    }
);

both_backends!(
    fn ede_4_3_3_an_automatic_repeat_counts_as_not_sent_and_answers_the_original_receipt(
        pool: &DbPool,
    ) {
        let w = World::new(pool);
        let letter = w.letter("m-1", b"Hesabat");
        let first = w.exchange.send(&w.party(), &letter).unwrap();
        w.exchange.deliver_pending(10).unwrap();
        let mut repeat = letter.clone();
        repeat.message_id = "m-2".into();
        let second = w.exchange.send(&w.party(), &repeat).unwrap();
        w.exchange.deliver_pending(10).unwrap();
        let first = w.exchange.document(&w.justice, &first.id).unwrap();
        let second = w.exchange.document(&w.justice, &second.id).unwrap();
        let (original, duplicate) = (&first.deliveries[0], &second.deliveries[0]);
        assert_eq!(duplicate.status, DeliveryStatus::Duplicate);
        assert_eq!(
            duplicate.duplicate_of.as_deref(),
            Some(original.id.as_str())
        );
        assert_eq!(duplicate.receipt_sha256, original.receipt_sha256);
        assert!(
            duplicate.incoming_number.is_none(),
            "a repeat is never registered"
        );
        assert_eq!(
            events(pool, &w, &w.finance, Journal::Incoming),
            ["registered", "duplicate"]
        );
    }
);

both_backends!(
    fn ede_5_4_an_envelope_changed_in_transit_is_refused_and_both_journals_record_why(
        pool: &DbPool,
    ) {
        let w = World::new(pool);
        let sent = w
            .exchange
            .send(&w.party(), &w.letter("m-1", b"Hesabat"))
            .unwrap();
        let original = w.exchange.envelope(&w.justice, &sent.id).unwrap();
        let changed = replace_bytes(&original, b"il,mebleg", b"il,MEBLEG");
        let reason = refusal_of_changed(pool, &w, &sent, changed);
        assert!(reason.contains("hesabat.csv does not match"), "{reason}");
        assert_eq!(
            events(pool, &w, &w.justice, Journal::Outgoing),
            ["registered", "refused"]
        );
        assert_eq!(events(pool, &w, &w.finance, Journal::Incoming), ["refused"]);
        assert_eq!(
            w.exchange
                .receipt(&w.justice, &sent.id, &w.finance)
                .unwrap_err()
                .code(),
            "no_receipt_yet"
        );
    }
);

both_backends!(
    fn ede_5_4_defective_requisites_are_refused_naming_the_element(pool: &DbPool) {
        let w = World::new(pool);
        let sent = w
            .exchange
            .send(&w.party(), &w.letter("m-1", b"Hesabat"))
            .unwrap();
        let original = w.exchange.envelope(&w.justice, &sent.id).unwrap();
        // A sender's system that writes a defective requisites document and lists its digest
        // in the manifest, so that only the schema can catch it.
        let b64 = |bytes: &[u8]| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(crate::crypto::sha256(bytes))
        };
        let files =
            crate::exchange::asic::read(&original, envelope::MEDIA_TYPE, "envelope").unwrap();
        let xml = files[envelope::REQUISITES].clone();
        let defective = String::from_utf8(xml.clone())
            .unwrap()
            .replace("</Sender>", "<Secret>1</Secret></Sender>")
            .into_bytes();
        let mut changed = replace_bytes(&original, b"</Sender>", b"<Secret>1</Secret></Sender>");
        changed = replace_bytes(&changed, b64(&xml).as_bytes(), b64(&defective).as_bytes());
        let reason = refusal_of_changed(pool, &w, &sent, changed);
        assert!(
            reason.starts_with(
                "the requisites are defective (EDE 5.1.1): requisites.xml /Requisites/Sender/Secret:"
            ),
            "{reason}"
        );
        assert_eq!(events(pool, &w, &w.finance, Journal::Incoming), ["refused"]);
    }
);

both_backends!(
    fn ede_4_5_a_signed_receipt_binds_the_envelope_and_is_signed_for_the_recipient(pool: &DbPool) {
        let w = World::new(pool);
        signed_receipts_within_a_day(pool, &w);
        let sent = w
            .exchange
            .send(&w.party(), &w.letter("m-1", b"Hesabat"))
            .unwrap();
        assert_eq!((sent.deliveries[0].due_at - sent.sent_at).num_hours(), 24);
        w.exchange.deliver_pending(10).unwrap();
        let view = w.exchange.document(&w.justice, &sent.id).unwrap();
        assert_eq!(view.deliveries[0].status, DeliveryStatus::AwaitingReceipt);
        assert_eq!(
            w.exchange
                .receipt(&w.justice, &sent.id, &w.finance)
                .unwrap_err()
                .code(),
            "no_receipt_yet"
        );

        let draft = w.exchange.receipt_draft(&w.finance, &sent.id).unwrap();
        assert_eq!(
            draft,
            w.exchange.receipt_draft(&w.finance, &sent.id).unwrap(),
            "the draft is stable"
        );
        assert_eq!(
            w.exchange
                .receipt_draft(&w.health, &sent.id)
                .unwrap_err()
                .code(),
            "not_found"
        );
        // Signed by someone of the sender: refused (GOV 3.2).
        let err = w
            .exchange
            .acknowledge(&w.finance, &sent.id, &w.aygun.sign(&draft, false))
            .unwrap_err();
        assert_eq!(err.code(), "receipt_signer_not_recipient", "{err}");
        // A signature over other bytes: refused.
        let err = w
            .exchange
            .acknowledge(&w.finance, &sent.id, &w.leyla.sign(b"other", false))
            .unwrap_err();
        assert_eq!(err.code(), "receipt_signature_invalid", "{err}");

        let signature = w.leyla.sign(&draft, false);
        let view = w
            .exchange
            .acknowledge(&w.finance, &sent.id, &signature)
            .unwrap();
        assert_eq!(view.deliveries[0].status, DeliveryStatus::Acknowledged);
        let container = w
            .exchange
            .receipt(&w.justice, &sent.id, &w.finance)
            .unwrap();
        let files = crate::exchange::asic::read(
            &container,
            crate::exchange::receipt::SIGNED_MEDIA_TYPE,
            "receipt",
        )
        .unwrap();
        assert_eq!(files[crate::exchange::receipt::RECEIPT_FILE], draft);
        assert_eq!(files[crate::exchange::receipt::SIGNATURE_FILE], signature);
        let receipt: Receipt = serde_json::from_slice(&draft).unwrap();
        assert_eq!(receipt.envelope_sha256, view.envelope_sha256);
        assert_eq!(
            events(pool, &w, &w.justice, Journal::Outgoing),
            ["registered", "acknowledged"]
        );
        assert_eq!(
            w.exchange
                .acknowledge(&w.finance, &sent.id, &signature)
                .unwrap_err()
                .code(),
            "receipt_not_due"
        );
    }
);

both_backends!(
    fn ede_5_4_the_recipient_refuses_a_registered_document_and_the_sender_is_told(pool: &DbPool) {
        let w = World::new(pool);
        signed_receipts_within_a_day(pool, &w);
        let sent = w
            .exchange
            .send(&w.party(), &w.letter("m-1", b"Hesabat"))
            .unwrap();
        w.exchange.deliver_pending(10).unwrap();
        assert_eq!(
            w.exchange
                .refuse(&w.finance, &sent.id, " ")
                .unwrap_err()
                .code(),
            "invalid_input"
        );
        let view = w
            .exchange
            .refuse(
                &w.finance,
                &sent.id,
                "the annex named in the letter is missing",
            )
            .unwrap();
        assert_eq!(view.deliveries[0].status, DeliveryStatus::Refused);
        assert!(
            view.deliveries[0]
                .reason
                .as_deref()
                .unwrap()
                .contains("annex named in the letter")
        );
        assert_eq!(
            events(pool, &w, &w.justice, Journal::Outgoing),
            ["registered", "refused"]
        );
        assert_eq!(
            events(pool, &w, &w.finance, Journal::Incoming),
            ["registered", "refused"]
        );
        let last = mails(pool).pop().unwrap();
        assert_eq!(last.0, "info@min-justice.gov.az");
        assert!(last.1.starts_with("Sənəd qəbul edilmədi"), "{last:?}");
    }
);

both_backends!(
    fn ede_6_2_organisations_see_only_their_own_documents(pool: &DbPool) {
        let w = World::new(pool);
        let sent = w
            .exchange
            .send(&w.party(), &w.letter("m-1", b"Hesabat"))
            .unwrap();
        w.exchange.deliver_pending(10).unwrap();
        assert_eq!(
            w.exchange.document(&w.health, &sent.id).unwrap_err().code(),
            "not_found"
        );
        assert_eq!(
            w.exchange.envelope(&w.health, &sent.id).unwrap_err().code(),
            "not_found"
        );
        assert!(w.exchange.inbox(&w.health, 0, 10).unwrap().is_empty());
        let seen = w.exchange.document(&w.finance, &sent.id).unwrap();
        assert!(
            seen.message_id.is_empty(),
            "the sender's message id stays with the sender"
        );
    }
);

both_backends!(
    fn ede_6_2_journal_verify_names_the_first_altered_entry(pool: &DbPool) {
        let w = World::new(pool);
        for i in 0..3 {
            w.exchange
                .send(
                    &w.party(),
                    &w.letter(&format!("m-{i}"), format!("text {i}").as_bytes()),
                )
                .unwrap();
        }
        let mut conn = pool.get().unwrap();
        assert_eq!(
            journal::verify(&mut conn, &w.justice, Journal::Outgoing)
                .unwrap()
                .entries,
            3
        );
        diesel::update(journal_entries::table.find((&w.justice, "outgoing", 2_i64)))
            .set(journal_entries::registration_number.eq("forged"))
            .execute(&mut conn)
            .unwrap();
        let err = journal::verify(&mut conn, &w.justice, Journal::Outgoing)
            .unwrap_err()
            .to_string();
        assert!(err.contains("entry 2") && err.contains("altered"), "{err}");
        diesel::delete(journal_entries::table.find((&w.justice, "outgoing", 2_i64)))
            .execute(&mut conn)
            .unwrap();
        let err = journal::verify(&mut conn, &w.justice, Journal::Outgoing)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("entry 3") && err.contains("entry 2 before it is missing"),
            "{err}"
        );
    }
);

trait ParseId {
    fn parse_id(&self) -> super::OrganisationId;
}

impl ParseId for &str {
    fn parse_id(&self) -> super::OrganisationId {
        super::OrganisationId::parse(self).unwrap()
    }
}

/// Puts `changed` in place of the stored envelope of `sent` (a change in transit), delivers,
/// and returns the reason the refused delivery records.
fn refusal_of_changed(
    pool: &DbPool,
    w: &World,
    sent: &super::DocumentView,
    changed: Vec<u8>,
) -> String {
    let mut conn = pool.get().unwrap();
    diesel::update(blobs::table.find(&sent.envelope_sha256))
        .set(blobs::content.eq(changed))
        .execute(&mut conn)
        .unwrap();
    w.exchange.deliver_pending(10).unwrap();
    let view = w.exchange.document(&w.justice, &sent.id).unwrap();
    let delivery = &view.deliveries[0];
    assert_eq!(delivery.status, DeliveryStatus::Refused);
    delivery.reason.clone().unwrap()
}

/// Rebuilds the ZIP with `from` replaced by `to` inside the attachment (stored, so the change
/// survives), keeping the manifest as it was: a change in transit.
fn replace_bytes(envelope_bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(envelope_bytes)).unwrap();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let name = file.name().unwrap().to_string();
        let mut content = Vec::new();
        file.read_to_end(&mut content).unwrap();
        if let Some(at) = content.windows(from.len()).position(|w| w == from) {
            content.splice(at..at + from.len(), to.iter().copied());
        }
        zip.start_file(
            name,
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored),
        )
        .unwrap();
        zip.write_all(&content).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

both_backends!(
    fn ede_7_1_3_archivists_find_documents_by_every_requisite_and_by_text(pool: &DbPool) {
        use crate::exchange::SearchQuery;
        let w = World::new(pool);
        let mut budget = w.letter("m-1", "Nazirliyin maliyyə planı".as_bytes());
        budget.attachments[0].content = "Büdcə layihəsi, 2027".as_bytes().to_vec();
        let mut order = w.letter("m-2", b"second");
        order.kind = "order".into();
        let refused = w.letter("m-3", b"third");
        w.exchange.send(&w.party(), &budget).unwrap();
        w.exchange.send(&w.party(), &order).unwrap();
        let third = w.exchange.send(&w.party(), &refused).unwrap();
        let mut conn = pool.get().unwrap();
        let changed = replace_bytes(
            &w.exchange.envelope(&w.justice, &third.id).unwrap(),
            b"il,mebleg",
            b"il,MEBLEG",
        );
        diesel::update(blobs::table.find(&third.envelope_sha256))
            .set(blobs::content.eq(changed))
            .execute(&mut conn)
            .unwrap();
        w.exchange.deliver_pending(10).unwrap();

        let count = |viewer: &crate::exchange::OrganisationId, query: SearchQuery| {
            w.exchange.search(viewer, &query).unwrap().items.len()
        };
        let q = SearchQuery::default;
        assert_eq!(count(&w.justice, q()), 3);
        assert_eq!(
            count(
                &w.finance,
                SearchQuery {
                    direction: Some("received".into()),
                    ..q()
                }
            ),
            3
        );
        assert_eq!(
            count(
                &w.justice,
                SearchQuery {
                    direction: Some("received".into()),
                    ..q()
                }
            ),
            0
        );
        assert_eq!(
            count(&w.health, q()),
            0,
            "an organisation finds only its own documents"
        );
        assert_eq!(
            count(
                &w.justice,
                SearchQuery {
                    text: Some("MALİYYƏ PLANI".into()),
                    ..q()
                }
            ),
            1,
            "the signed text of the main document is searched"
        );
        assert_eq!(
            count(
                &w.justice,
                SearchQuery {
                    text: Some("BÜDCƏ layihəsi".into()),
                    ..q()
                }
            ),
            1
        );
        assert_eq!(
            count(
                &w.justice,
                SearchQuery {
                    text: Some("50%_".into()),
                    ..q()
                }
            ),
            0,
            "wildcards match literally"
        );
        assert_eq!(
            count(
                &w.justice,
                SearchQuery {
                    kind: Some("order".into()),
                    ..q()
                }
            ),
            1
        );
        assert_eq!(
            count(
                &w.justice,
                SearchQuery {
                    status: Some("refused".into()),
                    ..q()
                }
            ),
            1
        );
        assert_eq!(
            count(
                &w.justice,
                SearchQuery {
                    status: Some("acknowledged".into()),
                    ..q()
                }
            ),
            2
        );
        assert_eq!(
            count(
                &w.justice,
                SearchQuery {
                    signature_result: Some("TOTAL-PASSED".into()),
                    ..q()
                }
            ),
            2
        );
        assert_eq!(
            count(
                &w.finance,
                SearchQuery {
                    number: Some("-I-000002".into()),
                    ..q()
                }
            ),
            1
        );
        assert_eq!(
            count(
                &w.justice,
                SearchQuery {
                    counterparty: Some("min-finance".into()),
                    ..q()
                }
            ),
            3
        );
        let tomorrow = crate::time::baku_date(crate::time::now()) + chrono::Duration::days(1);
        assert_eq!(
            count(
                &w.justice,
                SearchQuery {
                    from: Some(tomorrow),
                    ..q()
                }
            ),
            0
        );
        assert_eq!(
            count(
                &w.justice,
                SearchQuery {
                    to: Some(tomorrow),
                    ..q()
                }
            ),
            3
        );

        let first = w
            .exchange
            .search(
                &w.justice,
                &SearchQuery {
                    limit: Some(2),
                    ..q()
                },
            )
            .unwrap();
        assert_eq!(first.items.len(), 2);
        let rest = w
            .exchange
            .search(
                &w.justice,
                &SearchQuery {
                    limit: Some(2),
                    after: first.next.clone(),
                    ..q()
                },
            )
            .unwrap();
        assert_eq!(rest.items.len(), 1);
        assert!(rest.next.is_none());
        let mut seen: Vec<String> = first
            .items
            .iter()
            .chain(&rest.items)
            .map(|h| h.document_id.clone())
            .collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 3, "pages neither repeat nor skip");
        assert_eq!(
            w.exchange
                .search(
                    &w.justice,
                    &SearchQuery {
                        status: Some("lost".into()),
                        ..q()
                    }
                )
                .unwrap_err()
                .code(),
            "invalid_input"
        );
    }
);

both_backends!(
    fn ede_7_1_3_archivists_find_the_words_inside_a_signed_pdf(pool: &DbPool) {
        use crate::exchange::SearchQuery;
        use crate::exchange::envelope::DataObject;
        let w = World::new(pool);
        // Made by a real producer (Ghostscript), PAdES-signed by the holder.
        let pdf = crate::testkit::ghostscript_pdf(&[
            "Kənd Təsərrüfatı Nazirliyinə",
            "Çəltikçiliyin İnkişafı Proqramı haqqında",
        ]);
        let mut letter = w.letter("pdf-1", b"unused");
        letter.document = DataObject {
            name: "məktub.pdf".into(),
            media_type: "application/pdf".into(),
            content: w.aygun.sign_pdf(&pdf),
        };
        w.exchange.send(&w.party(), &letter).unwrap();
        w.exchange.deliver_pending(10).unwrap();

        let found = |viewer: &crate::exchange::OrganisationId, text: &str| {
            let query = SearchQuery {
                text: Some(text.into()),
                ..SearchQuery::default()
            };
            w.exchange.search(viewer, &query).unwrap().items.len()
        };
        assert_eq!(found(&w.justice, "çəltikçiliyin"), 1, "a word of the PDF");
        assert_eq!(found(&w.finance, "çəltikçiliyin"), 1, "and the recipient's");
        for folded in [
            "ÇƏLTİKÇİLİYİN",
            "Çəltikçiliyin",
            "inkişafi",
            "İNKİŞAFI",
            "TƏSƏRRÜFATI",
        ] {
            assert_eq!(found(&w.justice, folded), 1, "{folded} finds the word");
        }
        assert_eq!(
            found(&w.justice, "proqramı nazirliyinə"),
            1,
            "words of two lines"
        );
        assert_eq!(found(&w.justice, "pambıqçılıq"), 0, "a word not in it");
        assert_eq!(
            found(&w.health, "çəltikçiliyin"),
            0,
            "other organisations find nothing"
        );
    }
);

both_backends!(
    fn ede_6_2_signed_checkpoints_reveal_entries_removed_or_rewritten(pool: &DbPool) {
        let w = World::new(pool);
        for i in 0..3 {
            w.exchange
                .send(
                    &w.party(),
                    &w.letter(&format!("m-{i}"), format!("text {i}").as_bytes()),
                )
                .unwrap();
        }
        assert_eq!(
            w.exchange
                .checkpoint(&w.justice, Journal::Outgoing)
                .unwrap(),
            Some(3)
        );
        assert_eq!(
            w.exchange
                .checkpoint(&w.justice, Journal::Outgoing)
                .unwrap(),
            None,
            "nothing new to cover"
        );
        assert_eq!(
            w.exchange
                .checkpoint(&w.finance, Journal::Incoming)
                .unwrap(),
            None,
            "an empty journal"
        );
        let verified = w
            .exchange
            .verify_journal(&w.justice, Journal::Outgoing)
            .unwrap();
        assert_eq!(verified.checkpoint.unwrap().0, 3);

        // Rewritten: the last two entries replaced by a properly chained forgery.
        let mut conn = pool.get().unwrap();
        let original: Vec<journal::JournalEntry> =
            journal::entries(&mut conn, &w.justice, Journal::Outgoing, 1, 10).unwrap();
        diesel::delete(
            journal_entries::table
                .filter(journal_entries::organisation_id.eq(&w.justice))
                .filter(journal_entries::seq.ge(2_i64)),
        )
        .execute(&mut conn)
        .unwrap();
        for entry in &original {
            journal::append(
                &mut conn,
                crate::time::now(),
                &journal::NewEntry {
                    organisation: &w.justice,
                    journal: Journal::Outgoing,
                    event: journal::Event::Registered,
                    document_id: &entry.document_id,
                    registration_number: "forged",
                    counterparty: &w.finance,
                    content_sha256: &entry.content_sha256,
                    details: serde_json::json!({}),
                },
            )
            .unwrap();
        }
        assert_eq!(
            journal::verify(&mut conn, &w.justice, Journal::Outgoing)
                .unwrap()
                .entries,
            3,
            "the chain alone looks whole"
        );
        let err = w
            .exchange
            .verify_journal(&w.justice, Journal::Outgoing)
            .unwrap_err()
            .to_string();
        assert!(err.contains("entry 3 no longer has the hash"), "{err}");

        // Cut short: the last entry removed.
        diesel::delete(journal_entries::table.find((&w.justice, "outgoing", 3_i64)))
            .execute(&mut conn)
            .unwrap();
        let err = w
            .exchange
            .verify_journal(&w.justice, Journal::Outgoing)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ends at entry 2") && err.contains("entries were removed"),
            "{err}"
        );
    }
);

both_backends!(
    fn ede_7_2_an_archival_package_keeps_the_envelope_receipt_report_and_validation_data(
        pool: &DbPool,
    ) {
        use crate::exchange::archive::PACKAGE_MEDIA_TYPE;
        let w = World::new(pool);
        let sent = w
            .exchange
            .send(&w.party(), &w.letter("m-1", b"Hesabat"))
            .unwrap();
        w.exchange.deliver_pending(10).unwrap();
        let package = w.exchange.archive_package(&w.justice, &sent.id).unwrap();
        let files = crate::exchange::asic::read(&package, PACKAGE_MEDIA_TYPE, "package").unwrap();
        assert_eq!(
            files["envelope.asice"],
            w.exchange.envelope(&w.justice, &sent.id).unwrap()
        );
        assert!(files.contains_key("receipts/min-finance.json"));
        let report: serde_json::Value =
            serde_json::from_slice(&files["reports/min-finance.json"]).unwrap();
        assert_eq!(report["seal"]["indication"], "TOTAL-PASSED");
        let count = |folder: &str| {
            files
                .keys()
                .filter(|k| k.starts_with(&format!("validation-data/min-finance/{folder}/")))
                .count()
        };
        assert!(
            count("certificates") >= 3,
            "signer, seal and CA certificates: {:?}",
            files.keys()
        );
        assert!(
            count("ocsp") + count("crls") >= 2,
            "revocation answers for both signatures: {:?}",
            files.keys()
        );
        let journal: Vec<serde_json::Value> =
            serde_json::from_slice(&files["journal.json"]).unwrap();
        assert_eq!(journal.len(), 2, "registered and acknowledged");
        // EDE 7.1.2: sender, recipient, times sent and received; every file's hash.
        let manifest: serde_json::Value = serde_json::from_slice(&files["package.json"]).unwrap();
        assert_eq!(manifest["document"]["sender"], "min-justice");
        assert!(manifest["document"]["deliveries"][0]["delivered_at"].is_string());
        assert_eq!(manifest["retention_years"], 10);
        for entry in manifest["files"].as_array().unwrap() {
            let (path, sha256) = (entry[0].as_str().unwrap(), entry[1].as_str().unwrap());
            assert_eq!(
                hex::encode(crate::crypto::sha256(&files[path])),
                sha256,
                "{path}"
            );
        }
        assert_eq!(
            w.exchange
                .archive_package(&w.health, &sent.id)
                .unwrap_err()
                .code(),
            "not_found"
        );
    }
);

both_backends!(
    fn gov_1_3_a_recipient_accepts_another_centre_only_once_it_trusts_it(pool: &DbPool) {
        use crate::ca::authority::CertificateAuthority;
        use crate::ca::keystore::KeyStore;
        use crate::ca::lifecycle::{IssueRequest, KeySource};
        use crate::ca::profiles::{Enrollment, PersonHolder};
        let w = World::new(pool);
        // Another accredited centre, with its own CRLs and OCSP over HTTP.
        let foreign_db = crate::store::testing::TestDb::sqlite();
        let dir = tempfile::tempdir().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut config = crate::config::Config {
            data_dir: dir.path().to_path_buf(),
            ..Default::default()
        };
        config.server.public_url = format!("http://{}", listener.local_addr().unwrap());
        config.ca.organisation = "Başqa Mərkəz".into();
        config.ca.root_name = "Başqa Mərkəz Kök CA".into();
        config.ca.issuing[0].name = "Başqa Mərkəz Verən CA".into();
        let keys = KeyStore::open(&config).unwrap();
        let (foreign, _) =
            CertificateAuthority::open(&config, foreign_db.pool().clone(), &keys).unwrap();
        let foreign = std::sync::Arc::new(foreign);
        crate::testkit::PkiResponder::start(listener, foreign.clone());
        let issued = foreign
            .issue(
                &administrator(),
                &IssueRequest {
                    ca: None,
                    enrollment: Enrollment::PersonSignature(PersonHolder {
                        given_name: "Kamran".into(),
                        surname: "Əliyev".into(),
                        pseudonym: None,
                        fin: "8KQ2ZX1".into(),
                        organisation: "Ədliyyə Nazirliyi".into(),
                        organisation_id: None,
                        department: None,
                        position: "Məsləhətçi".into(),
                        email: "kamran@example.gov.az".into(),
                    }),
                    key: KeySource::Platform {
                        name: "kamran".into(),
                        algorithm: crate::crypto::KeyAlgorithm::EcdsaP256,
                    },
                    public_consent: false,
                },
            )
            .unwrap();
        let signer = foreign
            .platform_key(issued.key_ref.as_deref().unwrap())
            .unwrap();
        let signed = crate::signing::sign(
            &mubadile_plugin_cms::CmsPlugin,
            mubadile_plugin_api::SignTarget::New {
                content: b"Xarici imza".to_vec(),
                attached: true,
            },
            crate::signing::SigningIdentity {
                signer: signer.as_ref(),
                certificate: &issued.certificate,
                chain: &issued.chain,
            },
            crate::time::now(),
        )
        .unwrap();
        let mut letter = w.letter("m-1", b"unused");
        letter.document.content = signed;
        let sent = w.exchange.send(&w.party(), &letter).unwrap();
        w.exchange.deliver_pending(10).unwrap();
        let delivery = w
            .exchange
            .document(&w.justice, &sent.id)
            .unwrap()
            .deliveries[0]
            .clone();
        assert_eq!(
            delivery.status,
            DeliveryStatus::Pending,
            "not trusted: verification incomplete"
        );
        assert!(
            delivery
                .last_error
                .as_deref()
                .unwrap()
                .contains("NO_CERTIFICATE_CHAIN_FOUND"),
            "{delivery:?}"
        );

        crate::exchange::add_trust_anchor(pool, &administrator(), &w.finance, &foreign.root().der)
            .unwrap();
        assert_eq!(
            w.exchange.deliver(&delivery.id).unwrap(),
            Some(DeliveryStatus::Acknowledged)
        );
        let err = crate::exchange::add_trust_anchor(
            pool,
            &administrator(),
            &w.finance,
            &issued.certificate,
        )
        .unwrap_err();
        assert_eq!(err.code(), "invalid_input", "only roots are anchors");
    }
);

both_backends!(
    fn ede_5_3_a_registrar_accepts_with_the_seal_and_no_one_else_may(pool: &DbPool) {
        use crate::accounts::{Actor, Roles};
        let w = World::new(pool);
        signed_receipts_within_a_day(pool, &w);
        let sent = w
            .exchange
            .send(&w.party(), &w.letter("m-1", b"Hesabat"))
            .unwrap();
        w.exchange.deliver_pending(10).unwrap();
        let person = |roles: &str, organisation: &crate::exchange::OrganisationId| Actor {
            id: "user:leyla".into(),
            roles: Roles::parse(roles).unwrap(),
            organisation: Some(organisation.clone()),
        };
        // GOV 3.5: only a registrar of the recipient applies its seal to the receipt.
        let err = w
            .exchange
            .acknowledge_with_seal(&person("clerk", &w.finance), &sent.id)
            .unwrap_err();
        assert_eq!(err.code(), "forbidden", "{err}");
        let err = w
            .exchange
            .acknowledge_with_seal(&person("registrar", &w.health), &sent.id)
            .unwrap_err();
        assert_eq!(err.code(), "not_found", "{err}");

        let registrar = person("registrar", &w.finance);
        let view = w
            .exchange
            .acknowledge_with_seal(&registrar, &sent.id)
            .unwrap();
        assert_eq!(view.deliveries[0].status, DeliveryStatus::Acknowledged);
        let container = w
            .exchange
            .receipt(&w.justice, &sent.id, &w.finance)
            .unwrap();
        assert!(container.starts_with(b"PK"), "a signed receipt (ASiC-S)");
        let err = w
            .exchange
            .acknowledge_with_seal(&registrar, &sent.id)
            .unwrap_err();
        assert_eq!(err.code(), "receipt_not_due", "decided once");
    }
);

both_backends!(
    fn ede_6_1_sends_and_deliveries_at_the_same_moment_are_numbered_without_gaps_and_decided_once(
        pool: &DbPool,
    ) {
        // Sends in both directions and repeats of one message id race each other; they are
        // recorded in groups, and two workers decide the deliveries side by side.
        let w = World::new(pool);
        let finance_party = crate::exchange::SendingParty {
            organisation: w.finance.clone(),
            actor: "client:finance".into(),
            kind: crate::exchange::SenderKind::AutomatedSystem,
        };
        let reply = |id: &str| {
            let mut letter = w.letter(id, b"");
            letter.addressees = vec![w.justice.clone()];
            letter.document.content = w.leyla.sign(format!("Cavab {id}").as_bytes(), true);
            letter
        };
        // The same signed letter, sent by every thread.
        let same = w.letter("m-same", b"Eyni mektub");
        let sent: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..6)
                .map(|t| {
                    let (w, reply, finance_party, same) = (&w, &reply, &finance_party, &same);
                    s.spawn(move || {
                        let mut ids = Vec::new();
                        for i in 0..4 {
                            let id = format!("m-{t}-{i}");
                            let letter = w.letter(&id, id.as_bytes());
                            ids.push(w.exchange.send(&w.party(), &letter).unwrap().id);
                            let answer = reply(&format!("r-{t}-{i}"));
                            ids.push(w.exchange.send(finance_party, &answer).unwrap().id);
                        }
                        ids.push(w.exchange.send(&w.party(), same).unwrap().id);
                        ids
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        let mut distinct = sent.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 6 * 8 + 1, "m-same is one document");

        let decided: usize = std::thread::scope(|s| {
            let workers: Vec<_> = (0..2)
                .map(|_| s.spawn(|| w.exchange.deliver_pending(100).unwrap()))
                .collect();
            workers.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(
            decided + w.exchange.deliver_pending(100).unwrap(),
            6 * 8 + 1
        );

        let year = chrono::Datelike::year(&crate::time::baku_date(crate::time::now()));
        let numbers = |organisation, journal| {
            let mut conn = pool.get().unwrap();
            journal::verify(&mut conn, organisation, journal).unwrap();
            let mut numbers: Vec<String> =
                journal::entries(&mut conn, organisation, journal, 0, 1000)
                    .unwrap()
                    .into_iter()
                    .filter(|e| e.event == "registered")
                    .map(|e| e.registration_number)
                    .collect();
            numbers.sort();
            numbers
        };
        let series = |letter: char, n: usize| -> Vec<String> {
            (1..=n).map(|i| format!("{year}-{letter}-{i:06}")).collect()
        };
        for (organisation, sent_out) in [(&w.justice, 25), (&w.finance, 24)] {
            assert_eq!(
                numbers(organisation, Journal::Outgoing),
                series('O', sent_out)
            );
        }
        assert_eq!(numbers(&w.finance, Journal::Incoming), series('I', 25));
        assert_eq!(numbers(&w.justice, Journal::Incoming), series('I', 24));
        for id in &distinct {
            let document = w
                .exchange
                .document(&w.justice, id)
                .or_else(|_| w.exchange.document(&w.finance, id))
                .unwrap();
            assert_eq!(document.deliveries[0].status, DeliveryStatus::Acknowledged);
        }
    }
);
