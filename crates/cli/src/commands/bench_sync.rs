//! `twinsync bench sync`: the whole product under load in one process — both sandboxes, a
//! node for each, a Basic-mode connection, a trigger matching every incident — and N new
//! incidents filed through the ServiceNow Batch API as fast as it takes them. Reports how
//! long until every one is a Salesforce case, the latency from detection to apply, API
//! calls per synced change, and the process's CPU time and peak memory. Then single
//! changes one at a time, from the incident's create to the case's apply: first with
//! polling only, then with the sandbox pushing each change to its node.

use crate::cli::BenchSyncArgs;
use anyhow::{bail, Context};
use base64::Engine;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use twinsync_connectors::salesforce::{Salesforce, SalesforceAuth, SalesforceConfig};
use twinsync_connectors::servicenow::{ServiceNow, ServiceNowAuth, ServiceNowConfig};
use twinsync_connectors::Secret;
use twinsync_model::ConnectionMode;
use twinsync_node::{Initiate, Node, NodeOptions};
use twinsync_rules::StaticUsers;
use twinsync_sandbox::salesforce::{self as sfbox, CustomFieldSpec, SalesforceSandbox};
use twinsync_sandbox::servicenow::{self as snbox, ServiceNowSandbox};
use twinsync_store::NewTrigger;

/// User and system CPU seconds of process `pid` (`self` for this one) so far, from Linux
/// `/proc/<pid>/stat`.
pub(super) fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit(')').next()?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Peak resident memory of process `pid` (`self` for this one) in MB (`VmHWM`).
pub(super) fn peak_rss_mb(pid: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Files `n` new incidents (urgency 2) through the Batch API, 100 per call.
pub(super) async fn file_incidents(
    http: &reqwest::Client,
    sn_url: &str,
    n: usize,
) -> anyhow::Result<()> {
    let b64 = base64::engine::general_purpose::STANDARD;
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let requests: Vec<Value> = chunk
            .iter()
            .map(|i| {
                json!({
                    "id": i.to_string(), "method": "POST", "url": "/api/now/table/incident",
                    "headers": [{"name": "Content-Type", "value": "application/json"}, {"name": "Accept", "value": "application/json"}],
                    "body": b64.encode(json!({"short_description": format!("bench {i}"), "urgency": "2"}).to_string()),
                })
            })
            .collect();
        let r = http
            .post(format!("{sn_url}/api/now/v1/batch"))
            .basic_auth("admin", Some("admin"))
            .json(&json!({"batch_request_id": "bench", "rest_requests": requests}))
            .send()
            .await
            .context("filing incidents")?;
        if !r.status().is_success() {
            bail!("the ServiceNow sandbox refused a batch: {}", r.status());
        }
    }
    Ok(())
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The push token of the benchmark's nodes.
const PUSH_TOKEN: &str = "bench-push-token-0001";

/// Registers the stand-in for a business rule that pushes every incident change to `node`.
async fn push_incidents(http: &reqwest::Client, sn_url: &str, node: &Node) -> anyhow::Result<()> {
    let r = http
        .post(format!("{sn_url}/sandbox/webhooks"))
        .basic_auth("admin", Some("admin"))
        .json(&json!({"url": format!("{}/hooks/{PUSH_TOKEN}", node.url()), "table": "incident"}))
        .send()
        .await?;
    if !r.status().is_success() {
        bail!(
            "the ServiceNow sandbox refused the webhook: {}",
            r.text().await?
        );
    }
    Ok(())
}

/// Files `n` incidents one at a time, each once the previous one is a case, and answers
/// how long each took from its create call to the case's apply (milliseconds). A pause of
/// up to `spread` between them keeps the samples from lining up with the poll timer.
async fn one_at_a_time(
    http: &reqwest::Client,
    sn_url: &str,
    sf_node: &Node,
    n: usize,
    spread: Duration,
    label: &str,
) -> anyhow::Result<Vec<u64>> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let before = sf_node.metrics().applied.load(Ordering::Relaxed);
        let t0 = Instant::now();
        let r = http
            .post(format!("{sn_url}/api/now/table/incident"))
            .basic_auth("admin", Some("admin"))
            .json(&json!({"short_description": format!("{label} {i}"), "urgency": "2"}))
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("the ServiceNow sandbox refused an incident: {}", r.status());
        }
        while sf_node.metrics().applied.load(Ordering::Relaxed) == before {
            if t0.elapsed() > Duration::from_secs(30) {
                bail!("{label} change {i} did not sync within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        out.push(t0.elapsed().as_millis() as u64);
        // Sub-second clock digits are spread evenly enough to place the next change.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let gap = spread.mul_f64(f64::from(nanos % 1000) / 1000.0);
        tokio::time::sleep(gap + Duration::from_millis(20)).await;
    }
    out.sort_unstable();
    Ok(out)
}

fn p50_95_99(sorted: &[u64]) -> String {
    format!(
        "{} / {} / {} ms",
        percentile(sorted, 0.50),
        percentile(sorted, 0.95),
        percentile(sorted, 0.99)
    )
}

/// Both sandboxes on free loopback ports: ServiceNow empty of incidents, Salesforce with the
/// external-id field on Case that makes creates idempotent, and a daily limit no run reaches.
pub(super) async fn start_sandboxes() -> anyhow::Result<(ServiceNowSandbox, SalesforceSandbox)> {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let sn_box = ServiceNowSandbox::start(snbox::ServiceNowConfig {
        bind: any,
        ..Default::default()
    })
    .await?;
    let sf_box = SalesforceSandbox::start(sfbox::SalesforceConfig {
        bind: any,
        seed_cases: 0,
        custom_fields: vec![CustomFieldSpec {
            object: "Case".into(),
            name: "TwinSync_Key__c".into(),
            ty: "string".into(),
            label: None,
            length: Some(80),
            external_id: true,
            unique: true,
            values: vec![],
            restricted: false,
        }],
        daily_api_requests: 10_000_000,
        ..Default::default()
    })
    .await?;
    Ok((sn_box, sf_box))
}

/// Runs the benchmark and prints its table.
pub async fn run(args: BenchSyncArgs) -> anyhow::Result<()> {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let (sn_box, sf_box) = start_sandboxes().await?;
    let dir = tempfile::tempdir()?;
    let settle = Some(Duration::from_secs(1));
    let mut snc = ServiceNowConfig::new(
        sn_box.base_url(),
        ServiceNowAuth::Basic {
            user: "itil".into(),
            password: Secret::new("itil"),
        },
    );
    snc.settle = settle;
    let mut sfc = SalesforceConfig::new(
        sf_box.base_url(),
        SalesforceAuth::Password {
            client_id: "twinsync".into(),
            client_secret: Secret::new("twinsync-secret"),
            username: "integration@example.com".into(),
            password: Secret::new("integration"),
            security_token: None,
        },
    );
    sfc.settle = settle;
    let start_node = |name: &str, platform: Arc<dyn twinsync_connectors::Platform>| {
        Node::start(NodeOptions {
            instance: name.into(),
            bind: any,
            public_url: None,
            data_dir: dir.path().join(name),
            platform,
            poll_interval: Duration::from_millis(args.run.poll_ms),
            lookup: Arc::new(StaticUsers::default()),
            admin_tokens: Vec::new(),
            console_users: Vec::new(),
            push_token: Some(PUSH_TOKEN.into()),
            tls: None,
            peer_ca_pem: None,
        })
    };
    let sn_node = start_node("sn", Arc::new(ServiceNow::new(snc)?)).await?;
    let sf_node = start_node("sf", Arc::new(Salesforce::new(sfc)?)).await?;
    let (_, code) = sn_node
        .initiate(Initiate {
            remote_url: sf_node.url().to_string(),
            mode: ConnectionMode::Basic,
            name: Some("bench".into()),
            remote_instance: None,
            description: String::new(),
        })
        .await?;
    let id = sf_node.accept(&code).await?.spec.id;
    sn_node
        .add_trigger(NewTrigger {
            connection_id: id.clone(),
            entity_type: "incident".into(),
            query: "active=true".into(),
            notes: "everything".into(),
            active: true,
        })
        .await?;
    let calls_before = (sn_node.api_calls().requests, sf_node.api_calls().requests);
    let cpu_before = cpu_seconds("self");

    let http = reqwest::Client::new();
    if args.push {
        push_incidents(&http, sn_box.base_url(), &sn_node).await?;
    }
    let started = Instant::now();
    file_incidents(&http, sn_box.base_url(), args.run.changes).await?;
    let filed = started.elapsed();
    eprintln!(
        "filed {} incidents in {:.1} s; syncing…",
        args.run.changes,
        filed.as_secs_f64()
    );
    let deadline = started + Duration::from_secs(args.run.timeout);
    let mut last_report = Instant::now();
    loop {
        let applied = sf_node
            .metrics()
            .applied
            .load(std::sync::atomic::Ordering::Relaxed) as usize;
        if applied >= args.run.changes {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "only {applied} of {} changes synced within {} s",
                args.run.changes,
                args.run.timeout
            );
        }
        if last_report.elapsed() > Duration::from_secs(5) {
            eprintln!(
                "  {applied} of {} applied after {:.0} s",
                args.run.changes,
                started.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = started.elapsed();
    let cpu = match (cpu_before, cpu_seconds("self")) {
        (Some(a), Some(b)) => format!("{:.1} s", b - a),
        _ => "n/a".into(),
    };
    let mut lat = sf_node.metrics().recent_latencies();
    lat.sort_unstable();
    let calls = (
        sn_node.api_calls().requests - calls_before.0,
        sf_node.api_calls().requests - calls_before.1,
    );
    let n = args.run.changes as f64;
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| changes synced (new incidents → cases, {} mode) | {} |",
        if args.push { "push" } else { "poll" },
        args.run.changes
    );
    println!(
        "| filing them (ServiceNow Batch API) | {:.1} s |",
        filed.as_secs_f64()
    );
    println!(
        "| first filed → last applied | {:.1} s |",
        took.as_secs_f64()
    );
    println!("| throughput | {:.0} changes/s |", n / took.as_secs_f64());
    println!(
        "| latency detection → apply, p50 / p95 / p99 | {} / {} / {} ms |",
        percentile(&lat, 0.50),
        percentile(&lat, 0.95),
        percentile(&lat, 0.99)
    );
    println!(
        "| API calls per synced change (ServiceNow node + Salesforce node) | {:.2} + {:.2} |",
        calls.0 as f64 / n,
        calls.1 as f64 / n
    );
    println!("| CPU time, whole process (2 nodes + 2 sandboxes + load) | {cpu} |");
    println!(
        "| peak resident memory, whole process | {} |",
        peak_rss_mb("self").map_or("n/a".into(), |m| format!("{m:.0} MB"))
    );
    if args.latency_samples > 0 {
        let poll = Duration::from_millis(args.run.poll_ms);
        if !args.push {
            let polled = one_at_a_time(
                &http,
                sn_box.base_url(),
                &sf_node,
                args.latency_samples,
                poll,
                "poll",
            )
            .await?;
            println!(
                "| single change create → apply, poll mode ({} ms interval), p50 / p95 / p99 | {} |",
                args.run.poll_ms,
                p50_95_99(&polled)
            );
            push_incidents(&http, sn_box.base_url(), &sn_node).await?;
        }
        let pushed = one_at_a_time(
            &http,
            sn_box.base_url(),
            &sf_node,
            args.latency_samples,
            poll,
            "push",
        )
        .await?;
        println!(
            "| single change create → apply, push mode, p50 / p95 / p99 | {} |",
            p50_95_99(&pushed)
        );
    }
    sn_node.shutdown().await;
    sf_node.shutdown().await;
    sn_box.shutdown().await;
    sf_box.shutdown().await;
    Ok(())
}
