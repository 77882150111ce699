//! Notifications to people and systems. Notices are written to an outbox in the same transaction
//! as the change they report, then delivered by a job, so a crash or a mail server that is down
//! delays a notice but never loses it.

pub mod mail;
pub mod webhook;
