//! API calls and time for the two jobs a node does most, per platform, against the
//! sandboxes on loopback: read 1,000 changed records with their comments and attachment
//! metadata (the change feed), and write 1,000 updates (batched where the platform allows).
//!
//! `cargo bench -p twinsync-connectors --bench connectors` — prints one table; figures go
//! to docs/PERFORMANCE.md. Each job runs `RUNS` times; the median time is reported (the
//! call counts do not vary).

use serde_json::json;
use std::time::{Duration, Instant};
use twinsync_connectors::salesforce::{Salesforce, SalesforceAuth, SalesforceConfig};
use twinsync_connectors::servicenow::{ServiceNow, ServiceNowAuth, ServiceNowConfig};
use twinsync_connectors::{Platform, Secret, Update, Watermark};
use twinsync_sandbox::salesforce::{self as sf_sandbox, SalesforceSandbox};
use twinsync_sandbox::servicenow::{self as sn_sandbox, ServiceNowSandbox};

const RECORDS: usize = 1_000;
const RUNS: usize = 7;

struct Row {
    job: String,
    records: usize,
    comments: usize,
    calls: u64,
    median: Duration,
    best: Duration,
}

/// Runs `job` `RUNS` times; the call count of one run, the median and best times.
async fn measure<F, Fut>(
    platform: &dyn Platform,
    mut job: F,
) -> (u64, usize, usize, Duration, Duration)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = (usize, usize)>,
{
    let mut times = Vec::with_capacity(RUNS);
    let mut calls = 0;
    let mut counts = (0, 0);
    for _ in 0..RUNS {
        let before = platform.api_calls().requests;
        let t = Instant::now();
        counts = job().await;
        times.push(t.elapsed());
        calls = platform.api_calls().requests - before;
    }
    times.sort();
    (calls, counts.0, counts.1, times[RUNS / 2], times[0])
}

async fn read_feed(p: &dyn Platform, entity_type: &str) -> (usize, usize) {
    let page = p
        .changes(entity_type, None, &Watermark::start(), RECORDS)
        .await
        .expect("feed");
    assert_eq!(page.entities.len(), RECORDS);
    let comments = page.entities.iter().map(|e| e.comments.len()).sum();
    (page.entities.len(), comments)
}

/// The two jobs on one platform: read 1,000 changed records with their comments, then write
/// 1,000 updates of `field`.
async fn read_and_write(
    rows: &mut Vec<Row>,
    p: &dyn Platform,
    platform: &str,
    entity_type: &str,
    plural: &str,
    field: &str,
    batch_api: &str,
) {
    let (calls, records, comments, median, best) = measure(p, || read_feed(p, entity_type)).await;
    rows.push(Row {
        job: format!("{platform}: read 1,000 changed {plural} with comments"),
        records,
        comments,
        calls,
        median,
        best,
    });
    let keys: Vec<String> = p
        .changes(entity_type, None, &Watermark::start(), RECORDS)
        .await
        .expect("feed")
        .entities
        .into_iter()
        .map(|e| e.key)
        .collect();
    let mut round = 0;
    let (calls, records, _, median, best) = measure(p, || {
        round += 1;
        let updates: Vec<Update> = keys
            .iter()
            .map(|k| Update {
                key: k.clone(),
                fields: json!({ field: format!("bench round {round}") })
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            })
            .collect();
        async move {
            let results = p.update_many(entity_type, &updates).await.expect("updates");
            assert!(results.iter().all(Result::is_ok));
            (results.len(), 0)
        }
    })
    .await;
    rows.push(Row {
        job: format!("{platform}: write 1,000 updates ({batch_api})"),
        records,
        comments: 0,
        calls,
        median,
        best,
    });
}

async fn servicenow(rows: &mut Vec<Row>) {
    let sandbox = ServiceNowSandbox::start(sn_sandbox::ServiceNowConfig {
        seed_incidents: RECORDS,
        ..Default::default()
    })
    .await
    .expect("ServiceNow sandbox");
    let mut config = ServiceNowConfig::new(
        sandbox.base_url(),
        ServiceNowAuth::Basic {
            user: "itil".into(),
            password: Secret::new("itil"),
        },
    );
    config.settle = None;
    let sn = ServiceNow::new(config).expect("connector");
    sn.describe("incident").await.expect("describe");

    read_and_write(
        rows,
        &sn,
        "ServiceNow",
        "incident",
        "incidents",
        "description",
        "Batch API",
    )
    .await;
}

async fn salesforce(rows: &mut Vec<Row>) {
    let sandbox = SalesforceSandbox::start(sf_sandbox::SalesforceConfig {
        seed_cases: RECORDS,
        ..Default::default()
    })
    .await
    .expect("Salesforce sandbox");
    let mut config = SalesforceConfig::new(
        sandbox.base_url(),
        SalesforceAuth::Password {
            client_id: "twinsync".into(),
            client_secret: Secret::new("twinsync-secret"),
            username: "integration@example.com".into(),
            password: Secret::new("integration"),
            security_token: None,
        },
    );
    config.settle = None;
    let sf = Salesforce::new(config).expect("connector");
    sf.describe("Case").await.expect("describe");

    read_and_write(
        rows,
        &sf,
        "Salesforce",
        "Case",
        "cases",
        "Description",
        "sObject Collections",
    )
    .await;
}

fn main() {
    twinsync_connectors::http::ensure_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut rows = Vec::new();
    runtime.block_on(async {
        servicenow(&mut rows).await;
        salesforce(&mut rows).await;
    });
    println!("| job | records | comments | API calls | records per call | median | best |");
    println!("|---|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {:.0} | {:.1} ms | {:.1} ms |",
            r.job,
            r.records,
            r.comments,
            r.calls,
            r.records as f64 / r.calls.max(1) as f64,
            r.median.as_secs_f64() * 1000.0,
            r.best.as_secs_f64() * 1000.0,
        );
    }
}
