//! What operators and load balancers ask a node: `/health` (the process answers), `/ready` (it
//! can serve: the database answers), `/metrics` (Prometheus text format 0.0.4: requests served
//! by this node since it started, and the queue depths every node reads alike from the database).
//! Logs are structured: `MUBADILE_LOG_FORMAT=json` writes one JSON object per line.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};

use crate::problem::{Problem, blocking};
use crate::state::AppState;

/// Requests answered by this node, by status class (1xx … 5xx).
#[derive(Debug, Default)]
pub struct RequestCounters {
    by_class: [AtomicU64; 5],
}

impl RequestCounters {
    fn count(&self, status: u16) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.by_class[class].fetch_add(1, Ordering::Relaxed);
    }
}

/// Registers `/health`, `/ready` and `/metrics`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/health",
        web::get().to(|| async { HttpResponse::Ok().body("ok") }),
    )
    .route("/ready", web::get().to(ready))
    .route("/metrics", web::get().to(metrics));
}

/// Counts every answer by its status class (`App::wrap(from_fn(count_requests))`).
pub async fn count_requests(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let counters = request.app_data::<web::Data<RequestCounters>>().cloned();
    let response = next.call(request).await?;
    if let Some(counters) = counters {
        counters.count(response.status().as_u16());
    }
    Ok(response)
}

/// `200 ready` when the database answers; `503` with the reason otherwise, so a load balancer
/// sends no requests to a node that cannot serve them.
async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.pool.clone();
    let answer = blocking(move || {
        let mut conn = pool.get()?;
        mubadile_core::operations::database_answers(&mut conn)
    })
    .await;
    match answer {
        Ok(()) => HttpResponse::Ok().body("ready"),
        Err(Problem(e)) => HttpResponse::ServiceUnavailable().body(format!("not ready: {e}")),
    }
}

async fn metrics(
    state: web::Data<AppState>,
    counters: web::Data<RequestCounters>,
) -> Result<HttpResponse, Problem> {
    let pool = state.pool.clone();
    let backlog = blocking(move || {
        let mut conn = pool.get()?;
        mubadile_core::operations::backlog(&mut conn)
    })
    .await?;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# HELP mubadile_http_responses_total HTTP responses this node sent, by status class.\n\
         # TYPE mubadile_http_responses_total counter"
    );
    for (i, count) in counters.by_class.iter().enumerate() {
        let _ = writeln!(
            text,
            "mubadile_http_responses_total{{class=\"{}xx\"}} {}",
            i + 1,
            count.load(Ordering::Relaxed)
        );
    }
    let _ = writeln!(
        text,
        "# HELP mubadile_deliveries Deliveries by status (EDE 4–5), from the database.\n\
         # TYPE mubadile_deliveries gauge"
    );
    for (status, count) in &backlog.deliveries {
        let _ = writeln!(text, "mubadile_deliveries{{status=\"{status}\"}} {count}");
    }
    let _ = writeln!(
        text,
        "# HELP mubadile_mail_pending Mails queued, not yet handed to the SMTP server.\n\
         # TYPE mubadile_mail_pending gauge\n\
         mubadile_mail_pending {}\n\
         # HELP mubadile_webhooks_pending Webhook calls queued, not yet delivered.\n\
         # TYPE mubadile_webhooks_pending gauge\n\
         mubadile_webhooks_pending {}",
        backlog.mail_pending, backlog.webhooks_pending
    );
    let _ = writeln!(
        text,
        "# HELP mubadile_transfers_pending Envelopes queued for other nodes, not yet answered for good, by peer.\n\
         # TYPE mubadile_transfers_pending gauge"
    );
    for (peer, count) in &backlog.transfers_pending {
        let _ = writeln!(
            text,
            "mubadile_transfers_pending{{peer=\"{peer}\"}} {count}"
        );
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}
