//! The delivery worker: verifies and decides pending deliveries (EDE 5.1–5.4) as soon as a
//! document is sent on this node, and every few seconds for documents sent on other nodes or
//! left pending by a crash. Several nodes may run it at once: each delivery is decided in a
//! transaction that first re-reads its status, so it is decided exactly once.

use std::sync::Arc;
use std::time::Duration;

use crate::state::AppState;

/// How many deliveries one pass takes.
const BATCH: i64 = 200;
/// How long the worker sleeps when nothing wakes it.
const IDLE: Duration = Duration::from_secs(2);

/// Runs the worker on the current runtime until the runtime stops.
pub fn spawn(state: Arc<AppState>) {
    tokio::spawn(async move {
        loop {
            let exchange = state.exchange.clone();
            let decided =
                tokio::task::spawn_blocking(move || exchange.deliver_pending(BATCH)).await;
            let busy = match decided {
                Ok(Ok(n)) => usize::try_from(BATCH).is_ok_and(|batch| n >= batch),
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "delivery pass failed; retrying");
                    false
                }
                Err(e) => {
                    tracing::error!(error = %e, "delivery pass panicked; retrying");
                    false
                }
            };
            if !busy {
                let _ = tokio::time::timeout(IDLE, state.deliveries.notified()).await;
            }
        }
    });
}
