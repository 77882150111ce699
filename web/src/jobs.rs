//! Scheduled jobs (tokio-cron-scheduler): CRL publication every `crl_interval_hours` (CSP 9.4),
//! mail and webhook delivery, receipt deadlines every minute (EDE 4.6), signed journal checkpoints every hour (EDE 6.2), escalation of overdue compromise cases (GOV 4.2), renewal of OCSP responder
//! certificates 30 days before they end, archiving of expired certificates (CSP 9.6),
//! clearing ended web UI sessions and old failed sign-ins (docs/ui.md), and daily the archive's
//! RFC 4998 evidence records: first records for new envelopes and checkpoints, renewals within
//! `[jobs] evidence_renewal_margin_days` (docs/archive.md).
//! When several nodes share the database, each job runs on one of them per period; `[jobs]
//! every_seconds` may give a job another period. Each job runs its blocking work off the
//! executor and logs failures; a failed run is retried at the next tick. Every node also reloads the CA hierarchy within a
//! minute of a key change made elsewhere (CSP 4.4).

use std::sync::Arc;

use chrono::Duration;
use mubadile_core::accounts::Actor;
use mubadile_core::ca::register;
use mubadile_core::notify::mail;
use mubadile_core::schedule;
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::state::AppState;

/// Starts the scheduler; jobs stop when the returned scheduler is dropped with the runtime.
pub async fn start(state: Arc<AppState>) -> anyhow::Result<JobScheduler> {
    let scheduler = JobScheduler::new().await?;
    let node: Arc<str> = hex::encode(mubadile_core::crypto::random_bytes::<6>()?).into();
    let hours = state.config.ca.crl_interval_hours;
    add(
        &scheduler,
        &node,
        &format!("0 0 */{hours} * * *"),
        Duration::hours(i64::from(hours)),
        schedule::PUBLISH_CRLS,
        state.clone(),
        |s| {
            s.ca.publish_crls(&Actor::system(), "scheduled publication")
                .map(|p| p.len())
        },
    )
    .await?;
    add(
        &scheduler,
        &node,
        "*/15 * * * * *",
        Duration::seconds(15),
        "deliver_mail",
        state.clone(),
        |s| mail::deliver_pending(&s.pool, &s.config.mail),
    )
    .await?;
    add(
        &scheduler,
        &node,
        "*/5 * * * * *",
        Duration::seconds(5),
        "deliver_webhooks",
        state.clone(),
        |s| {
            mubadile_core::notify::webhook::deliver_pending(
                &s.pool,
                std::time::Duration::from_secs(10),
            )
        },
    )
    .await?;
    add(
        &scheduler,
        &node,
        "0 5 * * * *",
        Duration::hours(1),
        "checkpoint_journals",
        state.clone(),
        |s| s.exchange.checkpoint_all(),
    )
    .await?;
    add(
        &scheduler,
        &node,
        "30 * * * * *",
        Duration::minutes(1),
        "enforce_receipt_deadlines",
        state.clone(),
        |s| {
            s.exchange
                .enforce_deadlines(mubadile_core::time::now())
                .map(|run| run.overdue + run.not_sent)
        },
    )
    .await?;
    add(
        &scheduler,
        &node,
        "0 */5 * * * *",
        Duration::minutes(5),
        "escalate_overdue_compromises",
        state.clone(),
        |s| {
            s.ca.escalate_overdue_compromises(mubadile_core::time::now())
                .map(|v| v.len())
        },
    )
    .await?;
    add(
        &scheduler,
        &node,
        "0 15 3 * * *",
        Duration::days(1),
        "renew_ocsp_responders",
        state.clone(),
        |s| {
            s.ca.renew_responders(
                mubadile_core::time::now() + mubadile_core::ca::renewal::RENEW_BEFORE,
            )
            .map(|v| v.len())
        },
    )
    .await?;
    add(
        &scheduler,
        &node,
        "0 30 * * * *",
        Duration::hours(1),
        "archive_expired_certificates",
        state.clone(),
        |s| {
            let mut conn = s
                .pool
                .get()
                .map_err(|e| mubadile_core::Error::Connection(e.to_string()))?;
            register::archive_expired(&mut conn, mubadile_core::time::now()).map(|v| v.len())
        },
    )
    .await?;
    add(
        &scheduler,
        &node,
        "0 45 * * * *",
        Duration::hours(1),
        "clear_ended_sessions",
        state.clone(),
        |s| {
            let mut conn = s
                .pool
                .get()
                .map_err(|e| mubadile_core::Error::Connection(e.to_string()))?;
            mubadile_core::accounts::clear_ended(&mut conn, mubadile_core::time::now())
        },
    )
    .await?;
    add(
        &scheduler,
        &node,
        "0 20 2 * * *",
        Duration::days(1),
        schedule::RENEW_ARCHIVE_EVIDENCE,
        state.clone(),
        |s| {
            let margin = Duration::days(i64::from(s.config.jobs.evidence_renewal_margin_days));
            s.exchange.renew_archive_evidence(margin).map(|run| {
                tracing::info!(
                    first = run.first,
                    timestamps_renewed = run.timestamps_renewed,
                    hash_trees_renewed = run.hash_trees_renewed,
                    skipped = run.skipped,
                    "archive evidence records renewed (RFC 4998)"
                );
                run.total()
            })
        },
    )
    .await?;
    follow_ca_changes(state);
    scheduler.start().await?;
    Ok(scheduler)
}

/// Every minute, on every node, picks up CA key changes and renewed service certificates made by
/// another node or the command line (CSP 4.4): no node issues with a retired key or leaves a new
/// generation without its OCSP responder for longer. The TLS listener's certificate is renewed
/// the same way while the node runs.
fn follow_ca_changes(state: Arc<AppState>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            let s = state.clone();
            let checked = tokio::task::spawn_blocking(move || -> anyhow::Result<(bool, bool)> {
                let reloaded = s.ca.reload_if_changed()?;
                let renewed = match &s.node_certificate {
                    Some(certificate) => certificate.refresh()?,
                    None => false,
                };
                Ok((reloaded, renewed))
            })
            .await;
            match checked {
                Ok(Ok((reloaded, renewed))) => {
                    if reloaded {
                        tracing::info!("CA hierarchy reloaded after a change");
                    }
                    if renewed {
                        tracing::info!("the TLS listener presents a renewed certificate");
                    }
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "cannot check the CA hierarchy"),
                Err(e) => tracing::warn!(error = %e, "cannot check the CA hierarchy"),
            }
        }
    });
}

/// Adds the job `name` (one of [`schedule::JOBS`]) on `schedule` (every `period`), or, when
/// `[jobs] every_seconds` gives it a period, on ticks about four times a period (at least a
/// second apart); on each tick it runs on this node only if this node claims the period
/// (`mubadile_core::schedule`), so nodes sharing a database run each job once per period.
async fn add(
    scheduler: &JobScheduler,
    node: &Arc<str>,
    schedule: &str,
    period: Duration,
    name: &'static str,
    state: Arc<AppState>,
    work: fn(&AppState) -> mubadile_core::Result<usize>,
) -> anyhow::Result<()> {
    debug_assert!(
        schedule::JOBS.contains(&name),
        "{name} is not in schedule::JOBS"
    );
    let configured = state.config.jobs.every_seconds.get(name).copied();
    let period = configured.map_or(period, |seconds| Duration::seconds(i64::from(seconds)));
    let node = node.clone();
    let run = move |_, _| -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        let state = state.clone();
        let node = node.clone();
        Box::pin(async move {
            let runner = node.clone();
            let run = move || -> mubadile_core::Result<Option<usize>> {
                let now = mubadile_core::time::now();
                if !schedule::claim_run(&state.pool, name, &runner, now, period)? {
                    return Ok(None);
                }
                let count = work(&state)?;
                schedule::finish_run(&state.pool, name, &runner, now, period)?;
                Ok(Some(count))
            };
            match tokio::task::spawn_blocking(run).await {
                Ok(Ok(Some(count))) => tracing::debug!(job = name, node = %node, count, "job ran"),
                Ok(Ok(None)) => tracing::debug!(job = name, "another node runs this period"),
                Ok(Err(e)) => {
                    tracing::error!(job = name, error = %e, "job failed; retried at the next tick")
                }
                Err(e) => tracing::error!(job = name, error = %e, "job panicked"),
            }
        })
    };
    let job = match configured {
        // Several ticks a period (whole seconds: the scheduler counts no finer), so the period
        // is run early in it, by whichever node claims it first.
        Some(seconds) => Job::new_repeated_async(
            std::time::Duration::from_secs(u64::from((seconds / 4).max(1))),
            run,
        )?,
        None => Job::new_async(schedule, run)?,
    };
    scheduler.add(job).await?;
    Ok(())
}
