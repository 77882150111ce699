//! The database schema, one definition for both back ends (kept in step with `migrations/`).
#![allow(missing_docs)]

diesel::table! {
    authorities (id) {
        id -> Text,
        parent_id -> Nullable<Text>,
        kind -> Text,
        name -> Text,
        certificate -> Binary,
        key_ref -> Text,
        crl_number -> BigInt,
        created_at -> Timestamp,
        successor_id -> Nullable<Text>,
        retired_at -> Nullable<Timestamp>,
        retirement_reason -> Nullable<Text>,
    }
}

diesel::table! {
    service_certificates (id) {
        id -> Text,
        authority_id -> Text,
        purpose -> Text,
        certificate -> Binary,
        key_ref -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    certificates (serial) {
        serial -> Text,
        issuer_id -> Text,
        profile -> Text,
        subject -> Text,
        subject_key -> Text,
        holder_id -> Nullable<Text>,
        organisation -> Nullable<Text>,
        position -> Nullable<Text>,
        email -> Nullable<Text>,
        not_before -> Timestamp,
        not_after -> Timestamp,
        key_usage_not_after -> Nullable<Timestamp>,
        status -> Text,
        status_changed_at -> Nullable<Timestamp>,
        revocation_reason -> Nullable<Text>,
        invalidity_date -> Nullable<Timestamp>,
        archived -> Bool,
        public_consent -> Bool,
        issued_at -> Timestamp,
        der -> Binary,
    }
}

diesel::table! {
    certificate_events (id) {
        id -> BigInt,
        serial -> Text,
        event -> Text,
        reason -> Nullable<Text>,
        at -> Timestamp,
        actor -> Text,
    }
}

diesel::table! {
    crls (issuer_id, number) {
        issuer_id -> Text,
        number -> BigInt,
        base_number -> Nullable<BigInt>,
        this_update -> Timestamp,
        next_update -> Timestamp,
        der -> Binary,
    }
}

diesel::table! {
    timestamps (serial) {
        serial -> Text,
        gen_time -> Timestamp,
        policy -> Text,
        hash_algorithm -> Text,
        hashed_message -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        display_name -> Text,
        email -> Nullable<Text>,
        password_hash -> Text,
        roles -> Text,
        must_change_password -> Bool,
        created_at -> Timestamp,
        organisation_id -> Nullable<Text>,
        department_id -> Nullable<Text>,
        language -> Nullable<Text>,
        fin -> Nullable<Text>,
    }
}

diesel::table! {
    audit_log (seq) {
        seq -> BigInt,
        at -> Timestamp,
        actor -> Text,
        action -> Text,
        target -> Text,
        details -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    compromise_cases (serial) {
        serial -> Text,
        reported_at -> Timestamp,
        reported_by -> Text,
        description -> Text,
        revocation_due_at -> Timestamp,
        escalated_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    ca_requests (id) {
        id -> Text,
        kind -> Text,
        serial -> Nullable<Text>,
        enrollment -> Nullable<Text>,
        public_consent -> Bool,
        reason -> Nullable<Text>,
        invalidity_date -> Nullable<Timestamp>,
        note -> Nullable<Text>,
        requested_by -> Text,
        requested_at -> Timestamp,
        status -> Text,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        outcome -> Nullable<Text>,
    }
}

diesel::table! {
    mail_outbox (id) {
        id -> BigInt,
        recipient -> Text,
        subject -> Text,
        body -> Text,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        attempts -> Integer,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    archive_evidence (object_sha256) {
        object_sha256 -> Text,
        kind -> Text,
        source -> Text,
        record -> Binary,
        digest_algorithm -> Text,
        tsa_certificate_sha256 -> Text,
        tsa_not_after -> Timestamp,
        created_at -> Timestamp,
        renewed_at -> Timestamp,
    }
}

diesel::table! {
    job_locks (name) {
        name -> Text,
        holder -> Text,
        locked_until -> Timestamp,
        last_run_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    organisations (id) {
        id -> Text,
        name -> Text,
        tax_id -> Text,
        address -> Text,
        phone -> Nullable<Text>,
        email -> Text,
        seal_key_ref -> Nullable<Text>,
        seal_certificate -> Nullable<Binary>,
        webhook_url -> Nullable<Text>,
        webhook_secret -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    organisation_trust_anchors (organisation_id, sha256) {
        organisation_id -> Text,
        sha256 -> Text,
        subject -> Text,
        certificate -> Binary,
        added_at -> Timestamp,
    }
}

diesel::table! {
    organisation_trust_lists (organisation_id) {
        organisation_id -> Text,
        sequence -> BigInt,
        issued_at -> Timestamp,
        next_update -> Timestamp,
        operator -> Text,
        signer_sha256 -> Text,
        signer_subject -> Text,
        list -> Binary,
        imported_at -> Timestamp,
    }
}

diesel::table! {
    organisation_trust_list_anchors (organisation_id, sha256) {
        organisation_id -> Text,
        sha256 -> Text,
        subject -> Text,
        certificate -> Binary,
    }
}

diesel::table! {
    published_trust_lists (sequence) {
        sequence -> BigInt,
        operator_id -> Text,
        issued_at -> Timestamp,
        next_update -> Timestamp,
        list -> Binary,
    }
}

diesel::table! {
    api_clients (id) {
        id -> Text,
        organisation_id -> Text,
        name -> Text,
        kind -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        certificate_subject -> Nullable<Text>,
    }
}

diesel::table! {
    agreements (sender_id, recipient_id) {
        sender_id -> Text,
        recipient_id -> Text,
        receipt_kind -> Text,
        term_hours -> BigInt,
    }
}

diesel::table! {
    document_categories (organisation_id, name) {
        organisation_id -> Text,
        name -> Text,
        exchangeable -> Bool,
        retention_years -> Integer,
    }
}

diesel::table! {
    blobs (sha256) {
        sha256 -> Text,
        size -> BigInt,
        content -> Binary,
        erased_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    numbering_counters (organisation_id, series) {
        organisation_id -> Text,
        series -> Text,
        next_value -> BigInt,
    }
}

diesel::table! {
    documents (id) {
        id -> Text,
        sender_id -> Text,
        message_id -> Text,
        kind -> Text,
        category -> Text,
        title -> Text,
        registration_number -> Text,
        registration_date -> Timestamp,
        requisites -> Text,
        content_sha256 -> Text,
        envelope_sha256 -> Text,
        sent_by -> Text,
        sent_by_kind -> Text,
        sent_at -> Timestamp,
        search_text -> Text,
    }
}

diesel::table! {
    deliveries (id) {
        id -> Text,
        document_id -> Text,
        recipient_id -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamp>,
        decided_at -> Nullable<Timestamp>,
        incoming_number -> Nullable<Text>,
        reason -> Nullable<Text>,
        duplicate_of -> Nullable<Text>,
        report -> Nullable<Text>,
        signature_result -> Nullable<Text>,
        evidence_sha256 -> Nullable<Text>,
        receipt_kind -> Text,
        receipt_sha256 -> Nullable<Text>,
        term_hours -> BigInt,
        due_at -> Timestamp,
        overdue_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    journal_entries (organisation_id, journal, seq) {
        organisation_id -> Text,
        journal -> Text,
        seq -> BigInt,
        at -> Timestamp,
        event -> Text,
        document_id -> Text,
        registration_number -> Text,
        counterparty_id -> Text,
        content_sha256 -> Text,
        details -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    journal_checkpoints (organisation_id, journal, seq) {
        organisation_id -> Text,
        journal -> Text,
        seq -> BigInt,
        head -> Text,
        at -> Timestamp,
        statement -> Binary,
        signature -> Binary,
    }
}

diesel::table! {
    webhook_outbox (id) {
        id -> BigInt,
        event_id -> Text,
        organisation_id -> Text,
        url -> Text,
        payload -> Text,
        created_at -> Timestamp,
        next_attempt_at -> Timestamp,
        attempts -> Integer,
        delivered_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
    }
}

diesel::joinable!(service_certificates -> authorities (authority_id));
diesel::joinable!(certificates -> authorities (issuer_id));
diesel::joinable!(certificate_events -> certificates (serial));
diesel::joinable!(crls -> authorities (issuer_id));
diesel::joinable!(compromise_cases -> certificates (serial));
diesel::joinable!(api_clients -> organisations (organisation_id));
diesel::joinable!(documents -> organisations (sender_id));
diesel::table! {
    departments (id) {
        id -> Text,
        organisation_id -> Text,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    disposals (id) {
        id -> Text,
        organisation_id -> Text,
        document_id -> Text,
        reason -> Text,
        requested_by -> Text,
        requested_at -> Timestamp,
        decision -> Nullable<Text>,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        decision_note -> Nullable<Text>,
    }
}

diesel::table! {
    legal_holds (id) {
        id -> Text,
        organisation_id -> Text,
        document_id -> Text,
        reason -> Text,
        placed_by -> Text,
        placed_at -> Timestamp,
        released_by -> Nullable<Text>,
        released_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    ui_sessions (token_sha256) {
        token_sha256 -> Text,
        user_id -> Text,
        csrf_token -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    sign_in_failures (id) {
        id -> Text,
        username -> Text,
        address -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    drafts (id) {
        id -> Text,
        organisation_id -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        kind -> Text,
        title -> Text,
        optional -> Text,
        addressees -> Text,
        document_name -> Text,
        document_media_type -> Text,
        document_sha256 -> Text,
        attachments -> Text,
        status -> Text,
        signing_session -> Nullable<Text>,
        sent_document_id -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    peers (id) {
        id -> Text,
        base_url -> Text,
        added_at -> Timestamp,
    }
}

diesel::table! {
    draft_signers (draft_id, position) {
        draft_id -> Text,
        position -> Integer,
        user_id -> Text,
        signed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    peer_trust_anchors (peer_id, sha256) {
        peer_id -> Text,
        sha256 -> Text,
        subject -> Text,
        certificate -> Binary,
    }
}

diesel::table! {
    remote_organisations (organisation_id) {
        organisation_id -> Text,
        peer_id -> Text,
    }
}

diesel::table! {
    transfers (delivery_id) {
        delivery_id -> Text,
        peer_id -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_attempt_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        done_at -> Nullable<Timestamp>,
        claimed_by -> Nullable<Text>,
        claimed_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sealed_receipts (delivery_id) {
        delivery_id -> Text,
        sha256 -> Text,
    }
}

diesel::table! {
    directory_version (id) {
        id -> Integer,
        version -> BigInt,
    }
}

diesel::table! {
    second_factors (user_id) {
        user_id -> Text,
        secret_encrypted -> Binary,
        created_at -> Timestamp,
        enabled_at -> Nullable<Timestamp>,
        last_step -> BigInt,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> Text,
        user_id -> Text,
        code_hash -> Text,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    pending_sign_ins (token_sha256) {
        token_sha256 -> Text,
        user_id -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    second_factor_resets (user_id) {
        user_id -> Text,
        reset_by -> Text,
        reset_at -> Timestamp,
    }
}

diesel::joinable!(ui_sessions -> users (user_id));
diesel::joinable!(draft_signers -> drafts (draft_id));
diesel::joinable!(draft_signers -> users (user_id));
diesel::joinable!(deliveries -> documents (document_id));
diesel::joinable!(journal_entries -> documents (document_id));
diesel::joinable!(webhook_outbox -> organisations (organisation_id));
diesel::joinable!(transfers -> deliveries (delivery_id));
diesel::joinable!(remote_organisations -> peers (peer_id));

diesel::allow_tables_to_appear_in_same_query!(
    authorities,
    service_certificates,
    certificates,
    certificate_events,
    crls,
    timestamps,
    users,
    audit_log,
    compromise_cases,
    ca_requests,
    mail_outbox,
    job_locks,
    archive_evidence,
    organisations,
    organisation_trust_anchors,
    organisation_trust_lists,
    organisation_trust_list_anchors,
    published_trust_lists,
    api_clients,
    agreements,
    document_categories,
    departments,
    disposals,
    legal_holds,
    blobs,
    numbering_counters,
    documents,
    deliveries,
    journal_entries,
    journal_checkpoints,
    webhook_outbox,
    ui_sessions,
    sign_in_failures,
    second_factors,
    recovery_codes,
    pending_sign_ins,
    second_factor_resets,
    drafts,
    draft_signers,
    peers,
    peer_trust_anchors,
    remote_organisations,
    transfers,
    sealed_receipts,
    directory_version,
);

#[cfg(test)]
mod tests {
    //! Every table written and read back through the one schema, on both back ends: the column
    //! types of `schema.rs` must match both sets of migrations exactly.

    use chrono::{NaiveDate, NaiveDateTime};
    use diesel::prelude::*;

    use super::*;
    use crate::both_backends;
    use crate::store::{DbConnection, DbPool};

    /// A time with microseconds, the finest both back ends keep (PostgreSQL `TIMESTAMP`).
    fn at(year: i32, month: u32, day: u32, micros: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(year, month, day)
            .unwrap()
            .and_hms_micro_opt(23, 59, 58, micros)
            .unwrap()
    }

    /// Bytes that text columns would mangle: NUL, invalid UTF-8, every byte value.
    fn awkward_bytes() -> Vec<u8> {
        (0..=255_u8).rev().chain([0, 0, 0xff]).collect()
    }

    #[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
    #[diesel(table_name = authorities)]
    struct Authority {
        id: String,
        parent_id: Option<String>,
        kind: String,
        name: String,
        certificate: Vec<u8>,
        key_ref: String,
        crl_number: i64,
        created_at: NaiveDateTime,
    }

    #[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
    #[diesel(table_name = service_certificates)]
    struct ServiceCertificate {
        id: String,
        authority_id: String,
        purpose: String,
        certificate: Vec<u8>,
        key_ref: String,
        created_at: NaiveDateTime,
    }

    #[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
    #[diesel(table_name = certificates)]
    struct Certificate {
        serial: String,
        issuer_id: String,
        profile: String,
        subject: String,
        subject_key: String,
        holder_id: Option<String>,
        organisation: Option<String>,
        position: Option<String>,
        email: Option<String>,
        not_before: NaiveDateTime,
        not_after: NaiveDateTime,
        key_usage_not_after: Option<NaiveDateTime>,
        status: String,
        status_changed_at: Option<NaiveDateTime>,
        revocation_reason: Option<String>,
        invalidity_date: Option<NaiveDateTime>,
        archived: bool,
        public_consent: bool,
        issued_at: NaiveDateTime,
        der: Vec<u8>,
    }

    #[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
    #[diesel(table_name = certificate_events)]
    struct CertificateEvent {
        id: i64,
        serial: String,
        event: String,
        reason: Option<String>,
        at: NaiveDateTime,
        actor: String,
    }

    #[derive(Debug, Clone, PartialEq, Insertable)]
    #[diesel(table_name = certificate_events)]
    struct NewCertificateEvent {
        serial: String,
        event: String,
        reason: Option<String>,
        at: NaiveDateTime,
        actor: String,
    }

    #[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
    #[diesel(table_name = crls)]
    struct Crl {
        issuer_id: String,
        number: i64,
        base_number: Option<i64>,
        this_update: NaiveDateTime,
        next_update: NaiveDateTime,
        der: Vec<u8>,
    }

    #[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
    #[diesel(table_name = timestamps)]
    struct Timestamp {
        serial: String,
        gen_time: NaiveDateTime,
        policy: String,
        hash_algorithm: String,
        hashed_message: String,
    }

    #[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
    #[diesel(table_name = users)]
    struct User {
        id: String,
        username: String,
        display_name: String,
        email: Option<String>,
        password_hash: String,
        roles: String,
        must_change_password: bool,
        created_at: NaiveDateTime,
    }

    #[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
    #[diesel(table_name = audit_log)]
    struct AuditEntry {
        seq: i64,
        at: NaiveDateTime,
        actor: String,
        action: String,
        target: String,
        details: String,
        prev_hash: String,
        hash: String,
    }

    #[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
    #[diesel(table_name = compromise_cases)]
    struct CompromiseCase {
        serial: String,
        reported_at: NaiveDateTime,
        reported_by: String,
        description: String,
        revocation_due_at: NaiveDateTime,
        escalated_at: Option<NaiveDateTime>,
        closed_at: Option<NaiveDateTime>,
    }

    #[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
    #[diesel(table_name = mail_outbox)]
    struct Mail {
        id: i64,
        recipient: String,
        subject: String,
        body: String,
        created_at: NaiveDateTime,
        sent_at: Option<NaiveDateTime>,
        attempts: i32,
        last_error: Option<String>,
    }

    #[derive(Debug, Clone, PartialEq, Insertable)]
    #[diesel(table_name = mail_outbox)]
    struct NewMail {
        recipient: String,
        subject: String,
        body: String,
        created_at: NaiveDateTime,
        sent_at: Option<NaiveDateTime>,
        attempts: i32,
        last_error: Option<String>,
    }

    #[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
    #[diesel(table_name = job_locks)]
    struct JobLock {
        name: String,
        holder: String,
        locked_until: NaiveDateTime,
        last_run_at: Option<NaiveDateTime>,
    }

    fn authorities_written(conn: &mut DbConnection) -> Vec<Authority> {
        let root = Authority {
            id: "root".into(),
            parent_id: None,
            kind: "root".into(),
            name: "CN=Mübadilə Kök CA, O=Rəqəmsal İnkişaf və Nəqliyyat Nazirliyi".into(),
            certificate: awkward_bytes(),
            key_ref: "pkcs11:token=ca;object=root".into(),
            crl_number: i64::MAX,
            created_at: at(2026, 11, 22, 123_456),
        };
        let issuing = Authority {
            id: "issuing-1".into(),
            parent_id: Some("root".into()),
            kind: "issuing".into(),
            name: "CN=O'Brien \"quoted\" CA".into(),
            certificate: vec![],
            key_ref: "soft:issuing-1".into(),
            crl_number: 0,
            created_at: at(1970, 1, 1, 0),
        };
        let rows = vec![root, issuing];
        // One statement a row: MultiConnection has no batch insert.
        for row in &rows {
            diesel::insert_into(authorities::table)
                .values(row)
                .execute(conn)
                .unwrap();
        }
        rows
    }

    both_backends!(
        fn every_table_reads_back_exactly_what_was_written(pool: &DbPool) {
            let mut conn = pool.get().unwrap();
            let conn = &mut *conn;

            let written = authorities_written(conn);
            let read: Vec<Authority> = authorities::table
                .select(Authority::as_select())
                .order(authorities::created_at.desc())
                .load(conn)
                .unwrap();
            assert_eq!(read, written);

            let written = vec![ServiceCertificate {
                id: "issuing-1/ocsp".into(),
                authority_id: "issuing-1".into(),
                purpose: "ocsp".into(),
                certificate: awkward_bytes(),
                key_ref: "soft:issuing-1-ocsp".into(),
                created_at: at(2038, 1, 19, 999_999),
            }];
            for row in &written {
                diesel::insert_into(service_certificates::table)
                    .values(row)
                    .execute(conn)
                    .unwrap();
            }
            let read: Vec<ServiceCertificate> = service_certificates::table
                .select(ServiceCertificate::as_select())
                .load(conn)
                .unwrap();
            assert_eq!(read, written);

            let full = Certificate {
                serial: "7f3a9c00d1e2b4a5968778695a4b3c2d1e0f0102".into(),
                issuer_id: "issuing-1".into(),
                profile: "person".into(),
                subject: "CN=Əliyev Şəmsi Ğəni, O=Nazirlik".into(),
                subject_key: "ab".repeat(32),
                holder_id: Some("user-1".into()),
                organisation: Some("Ədliyyə Nazirliyi".into()),
                position: Some("Baş məsləhətçi".into()),
                email: Some("s.aliyev@example.az".into()),
                not_before: at(2026, 11, 22, 1),
                not_after: at(2029, 11, 21, 2),
                key_usage_not_after: Some(at(2028, 11, 21, 3)),
                status: "revoked".into(),
                status_changed_at: Some(at(2027, 1, 1, 4)),
                revocation_reason: Some("keyCompromise".into()),
                invalidity_date: Some(at(2026, 12, 31, 5)),
                archived: true,
                public_consent: true,
                issued_at: at(2026, 11, 22, 6),
                der: awkward_bytes(),
            };
            let bare = Certificate {
                serial: "01".into(),
                holder_id: None,
                organisation: None,
                position: None,
                email: None,
                key_usage_not_after: None,
                status: "valid".into(),
                status_changed_at: None,
                revocation_reason: None,
                invalidity_date: None,
                archived: false,
                public_consent: false,
                der: vec![0x30, 0x00],
                ..full.clone()
            };
            let written = vec![bare, full];
            for row in &written {
                diesel::insert_into(certificates::table)
                    .values(row)
                    .execute(conn)
                    .unwrap();
            }
            let read: Vec<Certificate> = certificates::table
                .select(Certificate::as_select())
                .order(certificates::serial)
                .load(conn)
                .unwrap();
            assert_eq!(read, written);
            // The certificate joins its issuer (joinable!).
            let issuers: Vec<(String, String)> = certificates::table
                .inner_join(authorities::table)
                .select((certificates::serial, authorities::kind))
                .order(certificates::serial)
                .load(conn)
                .unwrap();
            assert_eq!(
                issuers,
                [
                    ("01".to_string(), "issuing".to_string()),
                    (written[1].serial.clone(), "issuing".to_string())
                ]
            );

            let events = vec![
                NewCertificateEvent {
                    serial: "01".into(),
                    event: "issued".into(),
                    reason: None,
                    at: at(2026, 11, 22, 7),
                    actor: "user:operator".into(),
                },
                NewCertificateEvent {
                    serial: "01".into(),
                    event: "suspended".into(),
                    reason: Some("certificateHold".into()),
                    at: at(2026, 11, 23, 8),
                    actor: "user:operator".into(),
                },
            ];
            for row in &events {
                diesel::insert_into(certificate_events::table)
                    .values(row)
                    .execute(conn)
                    .unwrap();
            }
            let read: Vec<CertificateEvent> = certificate_events::table
                .select(CertificateEvent::as_select())
                .order(certificate_events::id)
                .load(conn)
                .unwrap();
            assert_eq!(read.len(), 2);
            assert!(read[0].id >= 1 && read[1].id > read[0].id);
            for (row, new) in read.iter().zip(&events) {
                assert_eq!(
                    (&row.serial, &row.event, &row.reason, row.at, &row.actor),
                    (&new.serial, &new.event, &new.reason, new.at, &new.actor)
                );
            }

            let written = vec![
                Crl {
                    issuer_id: "issuing-1".into(),
                    number: 1,
                    base_number: None,
                    this_update: at(2026, 11, 22, 9),
                    next_update: at(2026, 11, 23, 9),
                    der: awkward_bytes(),
                },
                Crl {
                    issuer_id: "issuing-1".into(),
                    number: i64::MAX,
                    base_number: Some(1),
                    this_update: at(2026, 11, 22, 10),
                    next_update: at(2026, 11, 23, 10),
                    der: vec![0x30, 0x00],
                },
            ];
            for row in &written {
                diesel::insert_into(crls::table)
                    .values(row)
                    .execute(conn)
                    .unwrap();
            }
            let read: Vec<Crl> = crls::table
                .select(Crl::as_select())
                .order(crls::number)
                .load(conn)
                .unwrap();
            assert_eq!(read, written);

            let written = vec![Timestamp {
                serial: "0badc0ffee".into(),
                gen_time: at(2026, 11, 22, 11),
                policy: "1.2.3.4.1".into(),
                hash_algorithm: "2.16.840.1.101.3.4.2.1".into(),
                hashed_message: "e3".repeat(32),
            }];
            for row in &written {
                diesel::insert_into(timestamps::table)
                    .values(row)
                    .execute(conn)
                    .unwrap();
            }
            let read: Vec<Timestamp> = timestamps::table
                .select(Timestamp::as_select())
                .load(conn)
                .unwrap();
            assert_eq!(read, written);

            let written = vec![
                User {
                    id: "user-1".into(),
                    username: "samsi".into(),
                    display_name: "Şəmsi Əliyev".into(),
                    email: Some("s.aliyev@example.az".into()),
                    password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
                    roles: "operator,auditor".into(),
                    must_change_password: true,
                    created_at: at(2026, 11, 22, 12),
                },
                User {
                    id: "user-2".into(),
                    username: "admin".into(),
                    display_name: "Admin".into(),
                    email: None,
                    password_hash: "x".into(),
                    roles: String::new(),
                    must_change_password: false,
                    created_at: at(2026, 11, 22, 13),
                },
            ];
            for row in &written {
                diesel::insert_into(users::table)
                    .values(row)
                    .execute(conn)
                    .unwrap();
            }
            let read: Vec<User> = users::table
                .select(User::as_select())
                .order(users::id)
                .load(conn)
                .unwrap();
            assert_eq!(read, written);
            // username is UNIQUE.
            let mut twin = written[0].clone();
            twin.id = "user-3".into();
            assert!(matches!(
                diesel::insert_into(users::table)
                    .values(&twin)
                    .execute(conn),
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _
                ))
            ));

            let written = vec![AuditEntry {
                seq: 1,
                at: at(2026, 11, 22, 14),
                actor: "user:admin".into(),
                action: "certificate.revoke".into(),
                target: "01".into(),
                details: r#"{"reason":"keyCompromise","note":"ə\n\t\"q\""}"#.into(),
                prev_hash: "0".repeat(64),
                hash: "f".repeat(64),
            }];
            for row in &written {
                diesel::insert_into(audit_log::table)
                    .values(row)
                    .execute(conn)
                    .unwrap();
            }
            let read: Vec<AuditEntry> = audit_log::table
                .select(AuditEntry::as_select())
                .load(conn)
                .unwrap();
            assert_eq!(read, written);

            let written = vec![
                CompromiseCase {
                    serial: "01".into(),
                    reported_at: at(2026, 11, 22, 15),
                    reported_by: "user:samsi".into(),
                    description: "Token lost".into(),
                    revocation_due_at: at(2026, 11, 23, 15),
                    escalated_at: None,
                    closed_at: None,
                },
                CompromiseCase {
                    serial: "7f3a9c00d1e2b4a5968778695a4b3c2d1e0f0102".into(),
                    reported_at: at(2026, 11, 22, 16),
                    reported_by: "user:admin".into(),
                    description: String::new(),
                    revocation_due_at: at(2026, 11, 23, 16),
                    escalated_at: Some(at(2026, 11, 23, 17)),
                    closed_at: Some(at(2026, 11, 24, 18)),
                },
            ];
            for row in &written {
                diesel::insert_into(compromise_cases::table)
                    .values(row)
                    .execute(conn)
                    .unwrap();
            }
            let read: Vec<CompromiseCase> = compromise_cases::table
                .select(CompromiseCase::as_select())
                .order(compromise_cases::serial)
                .load(conn)
                .unwrap();
            assert_eq!(read, written);

            let mails = vec![
                NewMail {
                    recipient: "s.aliyev@example.az".into(),
                    subject: "Sertifikatınız ləğv edildi".into(),
                    body: "Hörmətli Şəmsi,\r\n...\n".into(),
                    created_at: at(2026, 11, 22, 19),
                    sent_at: None,
                    attempts: 0,
                    last_error: None,
                },
                NewMail {
                    recipient: "admin@example.az".into(),
                    subject: "s".into(),
                    body: String::new(),
                    created_at: at(2026, 11, 22, 20),
                    sent_at: Some(at(2026, 11, 22, 21)),
                    attempts: i32::MAX,
                    last_error: Some("550 mailbox unavailable".into()),
                },
            ];
            for row in &mails {
                diesel::insert_into(mail_outbox::table)
                    .values(row)
                    .execute(conn)
                    .unwrap();
            }
            let read: Vec<Mail> = mail_outbox::table
                .select(Mail::as_select())
                .order(mail_outbox::id)
                .load(conn)
                .unwrap();
            assert_eq!(read.len(), 2);
            assert!(read[0].id >= 1 && read[1].id > read[0].id);
            for (row, new) in read.iter().zip(&mails) {
                let as_new = NewMail {
                    recipient: row.recipient.clone(),
                    subject: row.subject.clone(),
                    body: row.body.clone(),
                    created_at: row.created_at,
                    sent_at: row.sent_at,
                    attempts: row.attempts,
                    last_error: row.last_error.clone(),
                };
                assert_eq!(&as_new, new);
            }
            // Defaults: a mail queued naming only what it must starts with no attempts.
            diesel::insert_into(mail_outbox::table)
                .values((
                    mail_outbox::recipient.eq("x@example.az"),
                    mail_outbox::subject.eq("s"),
                    mail_outbox::body.eq("b"),
                    mail_outbox::created_at.eq(at(2026, 11, 22, 22)),
                ))
                .execute(conn)
                .unwrap();
            let attempts: i32 = mail_outbox::table
                .filter(mail_outbox::recipient.eq("x@example.az"))
                .select(mail_outbox::attempts)
                .first(conn)
                .unwrap();
            assert_eq!(attempts, 0);

            let written = vec![
                JobLock {
                    name: "crl-publish".into(),
                    holder: "node-a".into(),
                    locked_until: at(2026, 11, 22, 23),
                    last_run_at: None,
                },
                JobLock {
                    name: "mail-send".into(),
                    holder: "node-b".into(),
                    locked_until: at(2026, 11, 22, 24),
                    last_run_at: Some(at(2026, 11, 22, 25)),
                },
            ];
            for row in &written {
                diesel::insert_into(job_locks::table)
                    .values(row)
                    .execute(conn)
                    .unwrap();
            }
            let read: Vec<JobLock> = job_locks::table
                .select(JobLock::as_select())
                .order(job_locks::name)
                .load(conn)
                .unwrap();
            assert_eq!(read, written);
        }
    );

    both_backends!(
        fn check_constraints_refuse_unknown_kinds_and_statuses(pool: &DbPool) {
            let mut conn = pool.get().unwrap();
            let conn = &mut *conn;
            let mut rows = authorities_written(conn);
            let mut odd = rows.remove(1);
            odd.id = "policy-1".into();
            odd.kind = "policy".into();
            assert!(matches!(
                diesel::insert_into(authorities::table)
                    .values(&odd)
                    .execute(conn),
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::CheckViolation,
                    _
                ))
            ));
        }
    );
}
