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
use crate::exchange::{DocumentView, Exchange};
use crate::store::DbPool;
use crate::store::schema::transfers;
use crate::store::testing::TestDb;
use diesel::prelude::*;

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

/// Node A, whose `min-digital` sends, and node B, home of `min-economy`, each with its own
/// database and CA, each knowing the other as a peer.
struct Nodes {
    a: World,
    b: World,
    /// `min-digital`'s automated system, on A.
    party: SendingParty,
    /// The addressee, on B.
    economy: OrganisationId,
}

impl Nodes {
    fn new(a_pool: &DbPool, b_pool: &DbPool) -> Nodes {
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
        let economy = OrganisationId("min-economy".into());
        add_trust_anchor(b_pool, &admin, &economy, &a_root).unwrap();
        Nodes {
            a,
            b,
            party: SendingParty {
                organisation: OrganisationId("min-digital".into()),
                actor: "client:test".into(),
                kind: SenderKind::AutomatedSystem,
            },
            economy,
        }
    }

    /// A letter from `min-digital` to `min-economy`, sent on A; its delivery.
    fn send(&self, message_id: &str, content: &str) -> (DocumentView, String) {
        let mut letter = self.a.letter(message_id, content.as_bytes());
        letter.addressees = vec![self.economy.clone()];
        let sent = self.a.exchange.send(&self.party, &letter).unwrap();
        let delivery_id = sent.deliveries[0].id.clone();
        (sent, delivery_id)
    }

    /// Under a signed-receipt agreement (EDE 4.4) a letter sent on A, posted to B and its answer
    /// recorded on A: both sides await the recipient's signed receipt. The sent document, its
    /// delivery, the transfer posted and B's answer.
    fn awaiting_signed_receipt(
        &self,
        b_pool: &DbPool,
        message_id: &str,
        content: &str,
    ) -> (DocumentView, String, TransferRequest, TransferAnswer) {
        let agreement = Agreement {
            receipt_kind: ReceiptKind::Signed,
            term_hours: 48,
        };
        set_agreement(
            b_pool,
            &administrator(),
            &self.party.organisation,
            &self.economy,
            agreement,
        )
        .unwrap();
        let (sent, delivery_id) = self.send(message_id, content);
        let request = self.a.exchange.due_transfers(10).unwrap().pop().unwrap();
        let waiting = self
            .b
            .exchange
            .receive_transfer("node-a", &request.transfer)
            .unwrap();
        assert_eq!(waiting.status, DeliveryStatus::AwaitingReceipt);
        let status = self
            .a
            .exchange
            .record_transfer_answer(&delivery_id, &waiting)
            .unwrap();
        assert_eq!(status, DeliveryStatus::AwaitingReceipt);
        (sent, delivery_id, request, waiting)
    }
}

/// Node A sends from its `min-digital` to `min-economy`, whose home is node B.
fn two_nodes(a_pool: &DbPool, b_pool: &DbPool) {
    let admin = administrator();
    let Nodes {
        a,
        b,
        party,
        economy: economy_id,
    } = Nodes::new(a_pool, b_pool);

    // Send: one transaction with a pending delivery and its transfer; the local worker leaves it.
    let mut letter = a.letter("digital-1", "Rəqəmsal hesabat".as_bytes());
    letter.addressees = vec![economy_id.clone()];
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

/// Two engines on A's one database (two sending nodes of a cluster) post a burst at the same
/// time: each transfer is claimed by one of them, posted once and registered once on B; a
/// transfer whose engine died holding it is taken over once the claim has run out, and the
/// dead engine's late word neither undoes nor frees it.
fn workers_sharing_a_database(a_pool: &DbPool, b_pool: &DbPool) {
    let nodes = Nodes::new(a_pool, b_pool);
    let first = &nodes.a.exchange;
    let second = Exchange::new(a_pool.clone(), first.ca.clone(), first.validation.clone());
    let burst: Vec<String> = (0..10)
        .map(|i| nodes.send(&format!("burst-{i}"), &format!("Hesabat {i}")).1)
        .collect();
    let posts = std::sync::Mutex::new(Vec::<(usize, String)>::new());
    let work = |worker: usize, engine: &Exchange| {
        while let Some(request) = engine.due_transfers(1).unwrap().pop() {
            posts
                .lock()
                .unwrap()
                .push((worker, request.delivery_id.clone()));
            // As long as a call over the network: the other worker runs meanwhile.
            std::thread::sleep(std::time::Duration::from_millis(30));
            let answer = nodes
                .b
                .exchange
                .receive_transfer("node-a", &request.transfer)
                .unwrap();
            assert!(
                !answer.repeated,
                "{} was posted before",
                request.delivery_id
            );
            let status = engine
                .record_transfer_answer(&request.delivery_id, &answer)
                .unwrap();
            assert_eq!(status, DeliveryStatus::Acknowledged);
        }
    };
    std::thread::scope(|scope| {
        scope.spawn(|| work(1, first));
        scope.spawn(|| work(2, &second));
    });
    let posts = posts.into_inner().unwrap();
    let mut posted: Vec<&String> = posts.iter().map(|(_, id)| id).collect();
    posted.sort();
    let mut expected: Vec<&String> = burst.iter().collect();
    expected.sort();
    assert_eq!(posted, expected, "each transfer posted exactly once");
    for worker in [1, 2] {
        assert!(
            posts.iter().any(|(w, _)| *w == worker),
            "worker {worker} posted none: {posts:?}"
        );
    }
    let registered = nodes.b.exchange.inbox(&nodes.economy, 0, 100).unwrap();
    assert_eq!(registered.len(), 10);

    // The first engine claims a transfer and dies before it answers: no one else takes it
    // while the claim holds.
    let (sent, delivery_id) = nodes.send("orphan", "Sahibsiz qalan məktub");
    assert_eq!(first.due_transfers(10).unwrap().len(), 1);
    assert!(second.due_transfers(10).unwrap().is_empty());
    // Five minutes later the claim has run out and the second engine takes it over.
    let ran_out = crate::time::to_db(crate::time::now() - chrono::Duration::seconds(1));
    diesel::update(transfers::table.find(&delivery_id))
        .set(transfers::claimed_until.eq(ran_out))
        .execute(&mut a_pool.get().unwrap())
        .unwrap();
    let request = second.due_transfers(10).unwrap().pop().unwrap();
    assert_eq!(request.delivery_id, delivery_id);
    // The first engine's late failure must not free the claim its successor holds.
    first
        .record_transfer_failure(&delivery_id, "the peer did not answer in time")
        .unwrap();
    let holder: Option<String> = transfers::table
        .find(&delivery_id)
        .select(transfers::claimed_by)
        .first(&mut a_pool.get().unwrap())
        .unwrap();
    assert_eq!(holder.as_deref(), Some(second.claimant.as_str()));
    let answer = nodes
        .b
        .exchange
        .receive_transfer("node-a", &request.transfer)
        .unwrap();
    assert!(!answer.repeated);
    let status = second
        .record_transfer_answer(&delivery_id, &answer)
        .unwrap();
    assert_eq!(status, DeliveryStatus::Acknowledged);
    // Nor can its late word undo what was done.
    first
        .record_transfer_failure(&delivery_id, "the peer did not answer in time")
        .unwrap();
    let view = first.document(&nodes.party.organisation, &sent.id).unwrap();
    assert_eq!(view.deliveries[0].status, DeliveryStatus::Acknowledged);
    assert_eq!(view.deliveries[0].transfer.as_ref().unwrap().status, "done");
    assert!(first.due_transfers(10).unwrap().is_empty());
    let registered = nodes.b.exchange.inbox(&nodes.economy, 0, 100).unwrap();
    assert_eq!(registered.len(), 11);
}

#[test]
fn several_sending_workers_on_one_database_post_each_transfer_once_sqlite() {
    let (a, b) = (TestDb::sqlite(), TestDb::sqlite());
    workers_sharing_a_database(a.pool(), b.pool());
}

#[test]
fn several_sending_workers_on_one_database_post_each_transfer_once_postgres() {
    let (a, b) = (TestDb::postgres(), TestDb::postgres());
    workers_sharing_a_database(a.pool(), b.pool());
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

/// GOV 3.2 across nodes: under a signed-receipt agreement the sender takes a receipt signed by
/// a person only when the person's certificate names the recipient organisation. One signed by
/// a person of another organisation of the peer (certified by the peer's CA, so it passes under
/// the peer's roots) is not taken, and the reason is recorded on the transfer.
fn receipts_signed_for_the_recipient(a_pool: &DbPool, b_pool: &DbPool) {
    let nodes = Nodes::new(a_pool, b_pool);
    let (sent, delivery_id, request, waiting) =
        nodes.awaiting_signed_receipt(b_pool, "signed-by-a-person", "Şəxsən imzalanan qəbz");
    let draft = nodes
        .b
        .exchange
        .receipt_draft(&nodes.economy, &sent.id)
        .unwrap();

    // Leyla of B's Ministry of Finance signs the receipt of the Ministry of Economy.
    let stranger = signed_container(&draft, &nodes.b.leyla.sign(&draft, false)).unwrap();
    let answer = TransferAnswer {
        status: DeliveryStatus::Acknowledged,
        receipt: Some(stranger),
        ..waiting.clone()
    };
    let status = nodes
        .a
        .exchange
        .record_transfer_answer(&delivery_id, &answer)
        .unwrap();
    assert_eq!(status, DeliveryStatus::AwaitingReceipt);
    let view = nodes
        .a
        .exchange
        .document(&nodes.party.organisation, &sent.id)
        .unwrap();
    assert_eq!(view.deliveries[0].status, DeliveryStatus::AwaitingReceipt);
    assert!(view.deliveries[0].receipt_sha256.is_none());
    let transfer = view.deliveries[0].transfer.clone().unwrap();
    assert_eq!(transfer.status, "awaiting_receipt");
    let error = transfer.last_error.unwrap();
    assert!(
        error.contains("not signed for min-economy")
            && error.contains("Maliyyə Nazirliyi (NTRAZ-1400000002)")
            && error.contains("GOV 3.2"),
        "{error}"
    );

    // Fərid of the Ministry of Economy signs it on B; A takes the receipt as B answers it.
    let farid = nodes
        .b
        .person("Fərid", "7CD3EF4", "İqtisadiyyat Nazirliyi", "1400000012");
    nodes
        .b
        .exchange
        .acknowledge(&nodes.economy, &sent.id, &farid.sign(&draft, false))
        .unwrap();
    let answer = nodes
        .b
        .exchange
        .receive_transfer("node-a", &request.transfer)
        .unwrap();
    assert_eq!(answer.status, DeliveryStatus::Acknowledged);
    let status = nodes
        .a
        .exchange
        .record_transfer_answer(&delivery_id, &answer)
        .unwrap();
    assert_eq!(status, DeliveryStatus::Acknowledged);
    assert_eq!(
        nodes
            .a
            .exchange
            .receipt(&nodes.party.organisation, &sent.id, &nodes.economy)
            .unwrap(),
        answer.receipt.unwrap()
    );
}

#[test]
fn gov_3_2_a_receipt_signed_across_nodes_is_taken_only_from_a_person_of_the_recipient_sqlite() {
    let (a, b) = (TestDb::sqlite(), TestDb::sqlite());
    receipts_signed_for_the_recipient(a.pool(), b.pool());
}

#[test]
fn gov_3_2_a_receipt_signed_across_nodes_is_taken_only_from_a_person_of_the_recipient_postgres() {
    let (a, b) = (TestDb::postgres(), TestDb::postgres());
    receipts_signed_for_the_recipient(a.pool(), b.pool());
}

/// EDE 5.4 across nodes: the recipient's refusal travels sealed by the recipient, the same
/// bytes to every repeat, and the sender records it only once the seal passes under the peer's
/// roots and is the recipient's. A refusal unsealed, altered, sealed under another CA or by
/// another organisation of the peer is not taken; the transfer says why.
fn refusals_sealed_by_the_recipient(a_pool: &DbPool, b_pool: &DbPool) {
    let nodes = Nodes::new(a_pool, b_pool);
    let (sent, delivery_id, request, _) =
        nodes.awaiting_signed_receipt(b_pool, "to-be-refused", "Qoşması əskik məktub");
    let a = &nodes.a.exchange;
    nodes
        .b
        .exchange
        .refuse(&nodes.economy, &sent.id, "Qoşma əskikdir")
        .unwrap();
    let answer = nodes
        .b
        .exchange
        .receive_transfer("node-a", &request.transfer)
        .unwrap();
    assert_eq!(answer.status, DeliveryStatus::Refused);
    let sealed = answer.refusal.clone().unwrap();
    let again = nodes
        .b
        .exchange
        .receive_transfer("node-a", &request.transfer)
        .unwrap();
    assert_eq!(
        again.refusal.as_ref(),
        Some(&sealed),
        "the same bytes to a repeat"
    );

    let mut files = crate::exchange::asic::read(&sealed, SIGNED_MEDIA_TYPE, "refusal").unwrap();
    let notice = files.remove(REFUSAL_FILE).unwrap();
    let seal = files.remove(SIGNATURE_FILE).unwrap();
    let read: RefusalNotice = serde_json::from_slice(&notice).unwrap();
    assert_eq!(read.status, DeliveryStatus::Refused);
    assert_eq!(Some(read.reason.clone()), answer.reason);
    assert!(read.reason.contains("Qoşma əskikdir"), "{read:?}");
    let rejected = |refusal: Option<Vec<u8>>, why: &str| {
        let forged = TransferAnswer {
            refusal,
            ..answer.clone()
        };
        let status = a.record_transfer_answer(&delivery_id, &forged).unwrap();
        assert_eq!(status, DeliveryStatus::AwaitingReceipt, "{why}");
        let view = a.document(&nodes.party.organisation, &sent.id).unwrap();
        assert_eq!(view.deliveries[0].status, DeliveryStatus::AwaitingReceipt);
        let transfer = view.deliveries[0].transfer.clone().unwrap();
        let error = transfer.last_error.unwrap();
        assert!(error.contains(why), "{error}");
    };
    rejected(None, "without a refusal sealed by the recipient (EDE 5.4)");
    let altered = String::from_utf8(notice.clone())
        .unwrap()
        .replace("Qoşma əskikdir", "Göndərən geri çağırdı");
    let altered = refusals::sealed_container(altered.as_bytes(), &seal).unwrap();
    rejected(Some(altered), "did not pass under node-b's roots");
    let digital = crate::exchange::directory::organisation(
        &mut a_pool.get().unwrap(),
        &nodes.party.organisation,
    )
    .unwrap();
    let foreign = a.seal_with(&digital, &notice).unwrap();
    let foreign = refusals::sealed_container(&notice, &foreign).unwrap();
    rejected(Some(foreign), "did not pass under node-b's roots");
    let finance =
        crate::exchange::directory::organisation(&mut b_pool.get().unwrap(), &nodes.b.finance)
            .unwrap();
    let other = nodes.b.exchange.seal_with(&finance, &notice).unwrap();
    let other = refusals::sealed_container(&notice, &other).unwrap();
    rejected(Some(other), "not sealed by its recipient");

    // The genuine refusal is recorded, with its reason, and the sealed notice kept.
    let status = a.record_transfer_answer(&delivery_id, &answer).unwrap();
    assert_eq!(status, DeliveryStatus::Refused);
    let view = a.document(&nodes.party.organisation, &sent.id).unwrap();
    assert_eq!(view.deliveries[0].status, DeliveryStatus::Refused);
    assert_eq!(view.deliveries[0].reason, Some(read.reason));
    assert_eq!(view.deliveries[0].transfer.as_ref().unwrap().status, "done");
    let kept = crate::store::blob(
        &mut a_pool.get().unwrap(),
        &hex::encode(crate::crypto::sha256(&sealed)),
    )
    .unwrap();
    assert_eq!(kept, sealed);
}

#[test]
fn ede_5_4_a_refusal_across_nodes_is_taken_only_under_the_recipients_seal_sqlite() {
    let (a, b) = (TestDb::sqlite(), TestDb::sqlite());
    refusals_sealed_by_the_recipient(a.pool(), b.pool());
}

#[test]
fn ede_5_4_a_refusal_across_nodes_is_taken_only_under_the_recipients_seal_postgres() {
    let (a, b) = (TestDb::postgres(), TestDb::postgres());
    refusals_sealed_by_the_recipient(a.pool(), b.pool());
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
