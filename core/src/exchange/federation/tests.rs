//! Two nodes in one process, each with its own database and CA: the sender's outbox, the
//! receiver's idempotent inbox and the sender's check of the sealed receipt, on SQLite and on
//! PostgreSQL. The same over HTTPS between real processes is `tests/federation.rs`.

use super::*;
use crate::accounts::{Actor, Role, Roles};
use crate::exchange::directory::{
    Agreement, NewOrganisation, ReceiptKind, add_trust_anchor, create_organisation, set_agreement,
};
use crate::exchange::receipt::{RECEIPT_FILE, SIGNATURE_FILE, SIGNED_MEDIA_TYPE, signed_container};
use crate::exchange::send::{SenderKind, SendingParty};
use crate::exchange::testing::{World, administrator};
use crate::store::DbPool;
use crate::store::testing::TestDb;

fn organisation(id: &str, name: &str, tax_id: &str) -> NewOrganisation {
    NewOrganisation {
        id: id.into(),
        name: name.into(),
        tax_id: tax_id.into(),
        address: "Bakı".into(),
        phone: None,
        email: format!("info@{id}.gov.az"),
    }
}

/// Node A sends from its `min-digital` to `min-economy`, whose home is node B.
fn two_nodes(a_pool: &DbPool, b_pool: &DbPool) {
    let admin = administrator();
    let a = World::new(a_pool);
    let b = World::new(b_pool);
    let a_root = a.exchange.ca.root().der.clone();
    let b_root = b.exchange.ca.root().der.clone();
    let digital = organisation("min-digital", "Rəqəmsal İnkişaf Nazirliyi", "1400000011");
    let economy = organisation("min-economy", "İqtisadiyyat Nazirliyi", "1400000012");
    create_organisation(&a.exchange.ca, &admin, &digital).unwrap();
    create_organisation(&b.exchange.ca, &admin, &economy).unwrap();
    add_peer(
        a_pool,
        &admin,
        "node-b",
        "https://localhost:9443",
        std::slice::from_ref(&b_root),
    )
    .unwrap();
    add_peer(
        b_pool,
        &admin,
        "node-a",
        "https://localhost:8443/",
        std::slice::from_ref(&a_root),
    )
    .unwrap();
    add_remote_organisation(a_pool, &admin, "node-b", &economy).unwrap();
    add_remote_organisation(b_pool, &admin, "node-a", &digital).unwrap();
    let economy_id = OrganisationId("min-economy".into());
    add_trust_anchor(b_pool, &admin, &economy_id, &a_root).unwrap();

    // Send: one transaction with a pending delivery and its transfer; the local worker leaves it.
    let mut letter = a.letter("digital-1", "Rəqəmsal hesabat".as_bytes());
    letter.addressees = vec![economy_id.clone()];
    let party = SendingParty {
        organisation: OrganisationId("min-digital".into()),
        actor: "client:test".into(),
        kind: SenderKind::AutomatedSystem,
    };
    let sent = a.exchange.send(&party, &letter).unwrap();
    let delivery_id = sent.deliveries[0].id.clone();
    assert_eq!(a.exchange.deliver_pending(100).unwrap(), 0);
    assert_eq!(a.exchange.deliver(&delivery_id).unwrap(), None);
    let due = a.exchange.due_transfers(10).unwrap();
    assert_eq!(due.len(), 1);
    let request = &due[0];
    assert_eq!(request.peer.id, "node-b");
    assert_eq!(request.peer.base_url, "https://localhost:9443");

    // The receiving node registers it once and answers with the recipient's sealed receipt.
    let incoming = request.transfer.clone();
    let answer = b.exchange.receive_transfer("node-a", &incoming).unwrap();
    assert_eq!(answer.status, DeliveryStatus::Acknowledged, "{answer:?}");
    assert!(!answer.repeated);
    // EDE 4.3.3: a repeat (the sender never heard the answer) gets the same answer and bytes.
    let again = b.exchange.receive_transfer("node-a", &incoming).unwrap();
    assert!(again.repeated);
    assert_eq!(again.receipt, answer.receipt);
    assert_eq!(
        again.recipient_registration_number,
        answer.recipient_registration_number
    );
    assert_eq!(b.exchange.inbox(&economy_id, 0, 100).unwrap().len(), 1);
    // Only the node whose organisation sends may deliver for it.
    assert!(matches!(
        b.exchange.receive_transfer("node-c", &incoming),
        Err(Error::Forbidden(_))
    ));
    let mut reused = incoming.clone();
    reused.envelope = a
        .exchange
        .send(&party, &{
            let mut other = a.letter("digital-2", "Başqa məktub".as_bytes());
            other.addressees = vec![economy_id.clone()];
            other
        })
        .map(|v| {
            let mut conn = a_pool.get().unwrap();
            crate::store::blob(&mut conn, &v.envelope_sha256).unwrap()
        })
        .unwrap();
    assert!(matches!(
        b.exchange.receive_transfer("node-a", &reused),
        Err(Error::Refused {
            code: "message_id_reused",
            ..
        })
    ));

    // A receipt altered on the way is not taken: the delivery stays open and is asked again.
    let container = answer.receipt.clone().unwrap();
    let mut files = crate::exchange::asic::read(&container, SIGNED_MEDIA_TYPE, "receipt").unwrap();
    let mut receipt = files.remove(RECEIPT_FILE).unwrap();
    let at = receipt.iter().position(|&c| c == b'2').unwrap();
    receipt[at] = b'3';
    let forged = TransferAnswer {
        receipt: Some(signed_container(&receipt, &files.remove(SIGNATURE_FILE).unwrap()).unwrap()),
        ..answer.clone()
    };
    let status = a
        .exchange
        .record_transfer_answer(&delivery_id, &forged)
        .unwrap();
    assert_eq!(status, DeliveryStatus::Pending);
    let view = a.exchange.document(&party.organisation, &sent.id).unwrap();
    let transfer = view.deliveries[0].transfer.clone().unwrap();
    assert_eq!(transfer.status, "pending");
    assert_eq!(transfer.attempts, 1);
    assert!(transfer.last_error.unwrap().contains("receipt"));
    assert!(transfer.next_attempt_at.unwrap() > crate::time::now());
    // Nor one sealed under another CA than the peer's (here A's own), though it is intact.
    let mut files = crate::exchange::asic::read(&container, SIGNED_MEDIA_TYPE, "receipt").unwrap();
    let genuine = files.remove(RECEIPT_FILE).unwrap();
    let holder =
        crate::exchange::directory::organisation(&mut a_pool.get().unwrap(), &party.organisation)
            .unwrap();
    let foreign = TransferAnswer {
        receipt: Some(
            signed_container(&genuine, &a.exchange.seal_with(&holder, &genuine).unwrap()).unwrap(),
        ),
        ..answer.clone()
    };
    let status = a
        .exchange
        .record_transfer_answer(&delivery_id, &foreign)
        .unwrap();
    assert_eq!(status, DeliveryStatus::Pending);
    let view = a.exchange.document(&party.organisation, &sent.id).unwrap();
    let transfer = view.deliveries[0].transfer.clone().unwrap();
    assert_eq!(transfer.attempts, 2);
    assert!(
        transfer
            .last_error
            .as_deref()
            .unwrap()
            .contains("did not pass"),
        "{transfer:?}"
    );

    // The genuine answer acknowledges it, with the receipt kept as received.
    let status = a
        .exchange
        .record_transfer_answer(&delivery_id, &answer)
        .unwrap();
    assert_eq!(status, DeliveryStatus::Acknowledged);
    let view = a.exchange.document(&party.organisation, &sent.id).unwrap();
    let delivery = &view.deliveries[0];
    assert_eq!(delivery.status, DeliveryStatus::Acknowledged);
    assert_eq!(
        delivery.incoming_number,
        answer.recipient_registration_number
    );
    assert_eq!(delivery.transfer.as_ref().unwrap().status, "done");
    assert_eq!(
        a.exchange
            .receipt(&party.organisation, &sent.id, &economy_id)
            .unwrap(),
        container
    );

    // Under a signed-receipt agreement on B (where the receipt is given): registered, then
    // awaiting the receipt, asked again until a registrar of the recipient signed it (EDE 4.5).
    let agreement = Agreement {
        receipt_kind: ReceiptKind::Signed,
        term_hours: 48,
    };
    set_agreement(b_pool, &admin, &party.organisation, &economy_id, agreement).unwrap();
    let mut letter = a.letter("digital-3", "İmzalı qəbz gözlənilir".as_bytes());
    letter.addressees = vec![economy_id.clone()];
    let sent = a.exchange.send(&party, &letter).unwrap();
    let delivery_id = sent.deliveries[0].id.clone();
    let request = a
        .exchange
        .due_transfers(10)
        .unwrap()
        .into_iter()
        .find(|r| r.delivery_id == delivery_id)
        .unwrap();
    let answer = b
        .exchange
        .receive_transfer("node-a", &request.transfer)
        .unwrap();
    assert_eq!(answer.status, DeliveryStatus::AwaitingReceipt, "{answer:?}");
    assert!(answer.receipt.is_none());
    let status = a
        .exchange
        .record_transfer_answer(&delivery_id, &answer)
        .unwrap();
    assert_eq!(status, DeliveryStatus::AwaitingReceipt);
    let view = a.exchange.document(&party.organisation, &sent.id).unwrap();
    assert_eq!(
        view.deliveries[0].transfer.as_ref().unwrap().status,
        "awaiting_receipt"
    );
    assert_eq!(
        view.deliveries[0].incoming_number,
        answer.recipient_registration_number
    );
    let registrar = Actor {
        id: "user:registrar".into(),
        roles: Roles::new(vec![Role::Registrar]).unwrap(),
        organisation: Some(economy_id.clone()),
    };
    b.exchange
        .acknowledge_with_seal(&registrar, &sent.id)
        .unwrap();
    let answer = b
        .exchange
        .receive_transfer("node-a", &request.transfer)
        .unwrap();
    assert!(answer.repeated);
    assert_eq!(answer.status, DeliveryStatus::Acknowledged);
    let status = a
        .exchange
        .record_transfer_answer(&delivery_id, &answer)
        .unwrap();
    assert_eq!(status, DeliveryStatus::Acknowledged);
    assert_eq!(
        a.exchange
            .receipt(&party.organisation, &sent.id, &economy_id)
            .unwrap(),
        answer.receipt.unwrap()
    );
}

#[test]
fn ede_4_3_3_and_4_5_two_nodes_exchange_once_with_receipts_sealed_by_the_recipient_sqlite() {
    let (a, b) = (TestDb::sqlite(), TestDb::sqlite());
    two_nodes(a.pool(), b.pool());
}

#[test]
fn ede_4_3_3_and_4_5_two_nodes_exchange_once_with_receipts_sealed_by_the_recipient_postgres() {
    let (a, b) = (TestDb::postgres(), TestDb::postgres());
    two_nodes(a.pool(), b.pool());
}

#[test]
fn a_peer_needs_an_https_url_and_a_root() {
    let db = TestDb::sqlite();
    let admin = administrator();
    let world = World::new(db.pool());
    let root = world.exchange.ca.root().der.clone();
    for url in ["http://node:8443", "https://", "https://node:8443/path"] {
        assert!(matches!(
            add_peer(
                db.pool(),
                &admin,
                "node-b",
                url,
                std::slice::from_ref(&root)
            ),
            Err(Error::InvalidInput {
                what: "peer URL",
                ..
            })
        ));
    }
    assert!(add_peer(db.pool(), &admin, "node-b", "https://node:8443", &[]).is_err());
    let issuing = world.exchange.ca.issuing()[0].der.clone();
    assert!(matches!(
        add_peer(db.pool(), &admin, "node-b", "https://node:8443", &[issuing]),
        Err(Error::InvalidInput {
            what: "peer roots",
            ..
        })
    ));
    // Added again, it is replaced, not doubled.
    add_peer(
        db.pool(),
        &admin,
        "node-b",
        "https://a:1",
        std::slice::from_ref(&root),
    )
    .unwrap();
    add_peer(db.pool(), &admin, "node-b", "https://b:2", &[root]).unwrap();
    let known = peers(&mut db.pool().get().unwrap()).unwrap();
    assert_eq!(known.len(), 1);
    assert_eq!(known[0].base_url, "https://b:2");
}
