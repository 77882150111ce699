//! The REST load benchmark: this process (the load generator) drives document sends at fixed
//! rates against a real release `mubadile serve` in another process on loopback, on SQLite and
//! on PostgreSQL, and prints the throughput it achieved, latency percentiles and errors.
//!
//! Open loop: send `i` of a stage is due at `start + i / rate` whatever happened to the sends
//! before it, and its latency is counted from that due time, so a server that falls behind shows
//! its queue in the figures instead of slowing the generator down (no coordinated omission). A
//! pool of client threads takes the sends in turn; when every one of them is busy, later sends
//! start late and that lateness is part of their latency. Between stages the benchmark waits
//! until every letter was delivered and acknowledged, so a stage does not inherit the previous
//! one's backlog, and prints how long that took.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::exchange::{Platform, percentile};

/// Client threads of the generator: enough that a server answering in up to
/// `CLIENTS / rate` seconds still gets every send on time.
const CLIENTS: usize = 64;

/// Offered rates (sends per second), unless `MUBADILE_BENCH_RATES` lists others (`50,100,200`).
const RATES: [u32; 3] = [50, 100, 200];

/// Seconds per stage, unless `MUBADILE_BENCH_SECONDS` says otherwise.
const SECONDS: u32 = 10;

/// Runs every stage on both back ends (`MUBADILE_BENCH_BACKEND` picks one).
pub fn run(server: &Path) -> anyhow::Result<()> {
    let rates: Vec<u32> = match std::env::var("MUBADILE_BENCH_RATES") {
        Ok(list) => list
            .split(',')
            .map(|r| {
                r.trim()
                    .parse()
                    .context("MUBADILE_BENCH_RATES: e.g. 50,100,200")
            })
            .collect::<anyhow::Result<_>>()?,
        Err(_) => RATES.to_vec(),
    };
    let seconds: u32 = match std::env::var("MUBADILE_BENCH_SECONDS") {
        Ok(s) => s.parse().context("MUBADILE_BENCH_SECONDS: whole seconds")?,
        Err(_) => SECONDS,
    };
    let only = std::env::var("MUBADILE_BENCH_BACKEND").ok();
    for backend in ["sqlite", "postgres"] {
        if only.as_deref().is_some_and(|o| o != backend) {
            continue;
        }
        let platform = Platform::start(server, backend)?;
        // Warm-up, outside the measurement: caches of certificates and revocation answers fill.
        let agent = ureq::Agent::new();
        for body in platform.letters("warm", 20)? {
            match platform.send(&agent, &body) {
                Ok(201) => {}
                Ok(status) => anyhow::bail!("a warm-up send was answered {status}"),
                Err(e) => anyhow::bail!("a warm-up send failed: {e}"),
            }
        }
        let (_, mut cursor) = platform.wait_received(0, 20, Duration::from_secs(120))?;
        for (stage, rate) in rates.iter().enumerate() {
            let count = (*rate * seconds) as usize;
            let bodies = platform.letters(&format!("load{stage}"), count)?;
            let result = stage_at(&platform, &bodies, *rate);
            let drained = Instant::now();
            let (_, next) =
                platform.wait_received(cursor, result.sent, Duration::from_secs(600))?;
            cursor = next;
            result.print(backend, *rate, seconds, drained.elapsed());
        }
    }
    Ok(())
}

/// What one stage measured.
struct Stage {
    /// Sends answered 201.
    sent: usize,
    /// Sends refused or failed, by status code or transport error.
    errors: Vec<String>,
    /// Latency of each successful send from its due time.
    latencies: Vec<Duration>,
    /// From the first due time to the last answer.
    elapsed: Duration,
    /// The latest any send started after its due time.
    worst_start: Duration,
}

/// Sends `bodies` at `rate` per second, open loop.
fn stage_at(platform: &Platform, bodies: &[Vec<u8>], rate: u32) -> Stage {
    let agent = ureq::AgentBuilder::new()
        .max_idle_connections_per_host(CLIENTS)
        .timeout(Duration::from_secs(60))
        .build();
    let next = AtomicUsize::new(0);
    let outcomes = Mutex::new(Vec::with_capacity(bodies.len()));
    let start = Instant::now() + Duration::from_millis(100);
    std::thread::scope(|scope| {
        for _ in 0..CLIENTS {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else { break };
                    let due = start + Duration::from_secs_f64(i as f64 / f64::from(rate));
                    let now = Instant::now();
                    if due > now {
                        std::thread::sleep(due - now);
                    }
                    let late = Instant::now().saturating_duration_since(due);
                    let outcome = match platform.send(&agent, body) {
                        Ok(201) => Ok(due.elapsed()),
                        Ok(status) => Err(format!("status {status}")),
                        Err(e) => Err(e),
                    };
                    if let Ok(mut all) = outcomes.lock() {
                        all.push((outcome, late));
                    }
                }
            });
        }
    });
    let elapsed = start.elapsed();
    let outcomes = outcomes.into_inner().unwrap_or_default();
    let mut stage = Stage {
        sent: 0,
        errors: Vec::new(),
        latencies: Vec::with_capacity(outcomes.len()),
        elapsed,
        worst_start: Duration::ZERO,
    };
    for (outcome, late) in outcomes {
        stage.worst_start = stage.worst_start.max(late);
        match outcome {
            Ok(latency) => {
                stage.sent += 1;
                stage.latencies.push(latency);
            }
            Err(error) => stage.errors.push(error),
        }
    }
    stage
}

impl Stage {
    fn print(mut self, backend: &str, rate: u32, seconds: u32, drained: Duration) {
        let mut errors: Vec<(String, usize)> = Vec::new();
        for error in &self.errors {
            match errors.iter_mut().find(|(e, _)| e == error) {
                Some((_, n)) => *n += 1,
                None => errors.push((error.clone(), 1)),
            }
        }
        let errors = if errors.is_empty() {
            "0 errors".to_string()
        } else {
            let list: Vec<String> = errors.iter().map(|(e, n)| format!("{n} × {e}")).collect();
            format!("{} errors ({})", self.errors.len(), list.join(", "))
        };
        let max = self
            .latencies
            .iter()
            .max()
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        println!(
            "load, {backend}: {rate}/s offered for {seconds} s → {:.1}/s achieved ({} sent, {errors}); latency from due time p50 {:.0} ms p90 {:.0} ms p99 {:.0} ms max {max:.0} ms; latest start {:.0} ms; all delivered and acknowledged {:.1} s after the last send",
            self.sent as f64 / self.elapsed.as_secs_f64(),
            self.sent,
            percentile(&mut self.latencies, 0.50),
            percentile(&mut self.latencies, 0.90),
            percentile(&mut self.latencies, 0.99),
            self.worst_start.as_secs_f64() * 1000.0,
            drained.as_secs_f64(),
        );
    }
}
