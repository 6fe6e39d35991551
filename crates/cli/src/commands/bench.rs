//! `twinsync bench sandbox`: throughput and latency of a sandbox over loopback, to show it
//! is no bottleneck for the engine. This module holds the load driver and the ServiceNow
//! phases; `bench_salesforce` the Salesforce ones.

use crate::cli::{BenchPlatform, BenchSandboxArgs};
use anyhow::{bail, Context};
use reqwest::Client;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use twinsync_sandbox::servicenow::{ServiceNowConfig, ServiceNowSandbox};

/// Latencies of one phase, and how many requests fit in its time.
pub(super) struct Phase {
    name: &'static str,
    requests: usize,
    pub(super) errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Phase {
    fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let i = ((sorted.len() - 1) as f64 * p).round() as usize;
        sorted[i]
    }

    /// Prints one line: requests, rate and latency percentiles.
    pub(super) fn print(&self) {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{:<28} {:>9} req {:>9.0} req/s   p50 {:>7.2} ms   p95 {:>7.2} ms   p99 {:>7.2} ms   max {:>7.2} ms   errors {}",
            self.name,
            self.requests,
            self.per_second(),
            ms(self.percentile(0.50)),
            ms(self.percentile(0.95)),
            ms(self.percentile(0.99)),
            ms(self.percentile(1.0)),
            self.errors
        );
    }
}

/// Runs `concurrency` workers for `seconds`, each sending the request `make` builds for the
/// n-th call, and collects status and latency.
pub(super) async fn load<F>(
    name: &'static str,
    client: &Client,
    seconds: u64,
    concurrency: usize,
    make: F,
) -> Phase
where
    F: Fn(&Client, usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let (client, make, stop) = (client.clone(), make.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            let mut n = w;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                match make(&client, n).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                    }
                    _ => errors += 1,
                }
                latencies.push(t.elapsed());
                n += concurrency;
            }
            (latencies, errors)
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut phase = Phase {
        name,
        requests: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
    };
    for w in workers {
        if let Ok((latencies, errors)) = w.await {
            phase.requests += latencies.len();
            phase.latencies.extend(latencies);
            phase.errors += errors;
        }
    }
    phase.elapsed = started.elapsed();
    phase
}

/// Sends `requests` one after another (no concurrency), timing each; an answer that
/// `found` rejects counts as an error.
pub(super) async fn sequential(
    name: &'static str,
    requests: Vec<reqwest::RequestBuilder>,
    found: fn(&Value) -> bool,
) -> Phase {
    let started = Instant::now();
    let mut phase = Phase {
        name,
        requests: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
    };
    for r in requests {
        let t = Instant::now();
        match r.send().await {
            Ok(resp) if resp.status().is_success() => {
                let body: Value = resp.json().await.unwrap_or(Value::Null);
                if !found(&body) {
                    phase.errors += 1;
                }
            }
            _ => phase.errors += 1,
        }
        phase.latencies.push(t.elapsed());
        phase.requests += 1;
    }
    phase.elapsed = started.elapsed();
    phase
}

fn has_result(body: &Value) -> bool {
    body["result"].as_array().is_some_and(|a| !a.is_empty())
}

/// Runs the sandbox benchmark and prints one line per phase.
pub async fn run_sandbox(args: BenchSandboxArgs) -> anyhow::Result<()> {
    if args.concurrency == 0 || args.seconds == 0 {
        bail!("--concurrency and --seconds must be at least 1");
    }
    if args.platform == BenchPlatform::Salesforce {
        return super::bench_salesforce::run(args).await;
    }
    twinsync_sandbox::common::ensure_crypto_provider();
    let client = Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()
        .context("building the HTTP client")?;

    let mut local = None;
    let url = match &args.url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => {
            let seeding = Instant::now();
            let sandbox = ServiceNowSandbox::start(ServiceNowConfig {
                seed_incidents: args.records,
                ..Default::default()
            })
            .await
            .context("starting the sandbox")?;
            println!(
                "sandbox with {} incidents seeded in {:.1} s at {}",
                args.records,
                seeding.elapsed().as_secs_f64(),
                sandbox.base_url()
            );
            let url = sandbox.base_url().to_string();
            local = Some(sandbox);
            url
        }
    };

    let listing: Value = client
        .get(format!(
            "{url}/api/now/table/incident?sysparm_fields=sys_id,number&sysparm_limit=1000000"
        ))
        .basic_auth("admin", Some("admin"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let records: Vec<(String, String)> = listing["result"]
        .as_array()
        .context("the sandbox answered no incident list")?
        .iter()
        .map(|r| {
            (
                r["sys_id"].as_str().unwrap_or("").to_string(),
                r["number"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    if records.is_empty() {
        bail!("the sandbox has no incidents; start it with --seed N");
    }
    println!(
        "{} incidents; {} s per phase; {} requests in flight; machine: {} cores",
        records.len(),
        args.seconds,
        args.concurrency,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let records = Arc::new(records);
    // A fixed stride through the records so that successive calls hit different ones.
    let pick = |n: usize, len: usize| n.wrapping_mul(7919) % len;

    let (u, r) = (url.clone(), records.clone());
    let get = load(
        "GET by sys_id",
        &client,
        args.seconds,
        args.concurrency,
        move |c, n| {
            let (id, _) = &r[pick(n, r.len())];
            c.get(format!("{u}/api/now/table/incident/{id}"))
                .basic_auth("admin", Some("admin"))
        },
    )
    .await;
    get.print();

    let (u, r) = (url.clone(), records.clone());
    let patch = load(
        "PATCH by sys_id",
        &client,
        args.seconds,
        args.concurrency,
        move |c, n| {
            let (id, _) = &r[pick(n, r.len())];
            c.patch(format!("{u}/api/now/table/incident/{id}"))
                .basic_auth("itil", Some("itil"))
                .json(&json!({"short_description": format!("bench edit {n}")}))
        },
    )
    .await;
    patch.print();

    // `count` queries, one per incident picked, each built from its number by `query`.
    let queries = |count: usize, query: fn(&str) -> String| -> Vec<reqwest::RequestBuilder> {
        (0..count)
            .map(|n| {
                let (_, number) = &records[pick(n, records.len())];
                client
                    .get(format!(
                        "{url}/api/now/table/incident?sysparm_query={}",
                        query(number)
                    ))
                    .basic_auth("admin", Some("admin"))
            })
            .collect()
    };
    let indexed = sequential(
        "query number= (indexed)",
        queries(200, |n| format!("number%3D{n}")),
        has_result,
    )
    .await;
    indexed.print();
    let scanned = sequential(
        "query numberLIKE (full scan)",
        queries(20, |n| format!("numberLIKE{}", n.get(3..).unwrap_or(n))),
        has_result,
    )
    .await;
    scanned.print();

    let failures = get.errors + patch.errors + indexed.errors + scanned.errors;
    if let Some(sandbox) = local {
        sandbox.shutdown().await;
    }
    if failures > 0 {
        bail!("{failures} requests failed during the benchmark");
    }
    Ok(())
}
