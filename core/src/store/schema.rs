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
    job_locks (name) {
        name -> Text,
        holder -> Text,
        locked_until -> Timestamp,
        last_run_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(service_certificates -> authorities (authority_id));
diesel::joinable!(certificates -> authorities (issuer_id));
diesel::joinable!(certificate_events -> certificates (serial));
diesel::joinable!(crls -> authorities (issuer_id));
diesel::joinable!(compromise_cases -> certificates (serial));

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
    mail_outbox,
    job_locks,
);
