//! Scheduled jobs (tokio-cron-scheduler): CRL publication every `crl_interval_hours` (CSP 9.4),
//! mail delivery, escalation of overdue compromise cases (GOV 4.2), renewal of OCSP responder
//! certificates 30 days before they end, and archiving of expired certificates (CSP 9.6). Each job runs its blocking work off the executor and logs failures;
//! a failed run is retried at the next tick.

use std::sync::Arc;

use mubadile_core::accounts::Actor;
use mubadile_core::ca::register;
use mubadile_core::notify::mail;
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::state::AppState;

/// Starts the scheduler; jobs stop when the returned scheduler is dropped with the runtime.
pub async fn start(state: Arc<AppState>) -> anyhow::Result<JobScheduler> {
    let scheduler = JobScheduler::new().await?;
    let hours = state.config.ca.crl_interval_hours;
    add(
        &scheduler,
        &format!("0 0 */{hours} * * *"),
        "publish CRLs",
        state.clone(),
        |s| {
            s.ca.publish_crls(&Actor::system(), "scheduled publication")
                .map(|p| p.len())
        },
    )
    .await?;
    add(
        &scheduler,
        "*/15 * * * * *",
        "deliver mail",
        state.clone(),
        |s| mail::deliver_pending(&s.pool, &s.config.mail),
    )
    .await?;
    add(
        &scheduler,
        "0 */5 * * * *",
        "escalate overdue compromises",
        state.clone(),
        |s| {
            s.ca.escalate_overdue_compromises(mubadile_core::time::now())
                .map(|v| v.len())
        },
    )
    .await?;
    add(
        &scheduler,
        "0 15 3 * * *",
        "renew OCSP responder certificates",
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
        "0 30 * * * *",
        "archive expired certificates",
        state,
        |s| {
            let mut conn = s
                .pool
                .get()
                .map_err(|e| mubadile_core::Error::Connection(e.to_string()))?;
            register::archive_expired(&mut conn, mubadile_core::time::now()).map(|v| v.len())
        },
    )
    .await?;
    scheduler.start().await?;
    Ok(scheduler)
}

async fn add(
    scheduler: &JobScheduler,
    schedule: &str,
    name: &'static str,
    state: Arc<AppState>,
    work: fn(&AppState) -> mubadile_core::Result<usize>,
) -> anyhow::Result<()> {
    let job = Job::new_async(schedule, move |_, _| {
        let state = state.clone();
        Box::pin(async move {
            match tokio::task::spawn_blocking(move || work(&state)).await {
                Ok(Ok(count)) => tracing::debug!(job = name, count, "job ran"),
                Ok(Err(e)) => {
                    tracing::error!(job = name, error = %e, "job failed; retried at the next tick")
                }
                Err(e) => tracing::error!(job = name, error = %e, "job panicked"),
            }
        })
    })?;
    scheduler.add(job).await?;
    Ok(())
}
