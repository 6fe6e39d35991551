//! `twinsync bench nodes`: the sync benchmark with each node in its own process, as they run
//! in production (`twinsync node --config`), so each node's memory and CPU can be read off
//! `/proc`. The sandboxes stay in this process; the connection and trigger are made through
//! the admin API, as an operator would.

use super::bench_sync::{cpu_seconds, file_incidents, peak_rss_mb, start_sandboxes};
use crate::cli::BenchNodesArgs;
use anyhow::{bail, Context};
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "bench-admin-token-0001";

/// A node process, stopped when dropped.
struct NodeProcess {
    child: Child,
    url: String,
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Writes the node's configuration and starts it; answers once `/healthz` does.
async fn start_node(
    dir: &Path,
    name: &str,
    poll_ms: u64,
    platform: &str,
) -> anyhow::Result<NodeProcess> {
    let port = free_port()?;
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(
        &config,
        format!(
            "instance = \"{name}\"\nlisten = \"127.0.0.1:{port}\"\ndata_dir = \"{name}-data\"\npoll_interval_ms = {poll_ms}\n{platform}\n[[tokens]]\nname = \"bench\"\nrole = \"admin\"\ntoken = \"{TOKEN}\"\n"
        ),
    )?;
    let child = Command::new(std::env::current_exe()?)
        .args(["--log", "warn", "node", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .context("starting a node process")?;
    let node = NodeProcess {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = http.get(format!("{}/healthz", node.url)).send().await {
            if r.status().is_success() {
                return Ok(node);
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the {name} node did not answer /healthz within 10 s")
}

async fn admin(
    http: &reqwest::Client,
    node: &NodeProcess,
    path: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let r = http
        .post(format!("{}/api/v1{path}", node.url))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await?;
    let status = r.status();
    let v: Value = r.json().await.unwrap_or_default();
    if !status.is_success() {
        bail!("POST {path}: {status} {v}");
    }
    Ok(v)
}

/// `twinsync_applied_total` from a node's `/metrics`.
async fn applied(http: &reqwest::Client, node: &NodeProcess) -> anyhow::Result<u64> {
    let text = http
        .get(format!("{}/metrics", node.url))
        .bearer_auth(TOKEN)
        .send()
        .await?
        .text()
        .await?;
    Ok(text
        .lines()
        .find_map(|l| l.strip_prefix("twinsync_applied_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0))
}

/// Runs the benchmark and prints its table.
pub async fn run(args: BenchNodesArgs) -> anyhow::Result<()> {
    let (sn_box, sf_box) = start_sandboxes().await?;
    let dir = tempfile::tempdir()?;
    let sn = start_node(
        dir.path(),
        "sn",
        args.run.poll_ms,
        &format!(
            "[servicenow]\nurl = \"{}\"\nuser = \"itil\"\npassword = \"itil\"\nsettle_secs = 1\n",
            sn_box.base_url()
        ),
    )
    .await?;
    let sf = start_node(
        dir.path(),
        "sf",
        args.run.poll_ms,
        &format!(
            "[salesforce]\nlogin_url = \"{}\"\nclient_id = \"twinsync\"\nclient_secret = \"twinsync-secret\"\nusername = \"integration@example.com\"\npassword = \"integration\"\nsettle_secs = 1\n",
            sf_box.base_url()
        ),
    )
    .await?;
    let http = reqwest::Client::new();
    let made = admin(
        &http,
        &sn,
        "/connections",
        json!({"remote_url": sf.url, "mode": "basic", "name": "bench"}),
    )
    .await?;
    let code = made["invitation_code"].as_str().unwrap_or_default();
    let id = made["connection"]["id"].as_str().unwrap_or_default();
    admin(&http, &sf, "/connections/accept", json!({"code": code})).await?;
    admin(
        &http,
        &sn,
        &format!("/connections/{id}/triggers"),
        json!({"entity_type": "incident", "query": "active=true"}),
    )
    .await?;
    let pids = (sn.child.id().to_string(), sf.child.id().to_string());
    let cpu_before = (cpu_seconds(&pids.0), cpu_seconds(&pids.1));

    let started = Instant::now();
    file_incidents(&http, sn_box.base_url(), args.run.changes).await?;
    let deadline = started + Duration::from_secs(args.run.timeout);
    loop {
        let n = applied(&http, &sf).await? as usize;
        if n >= args.run.changes {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "only {n} of {} changes synced within {} s",
                args.run.changes,
                args.run.timeout
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = started.elapsed();
    let cpu = |pid: &str, before: Option<f64>| match (before, cpu_seconds(pid)) {
        (Some(a), Some(b)) => format!("{:.1} s", b - a),
        _ => "n/a".into(),
    };
    let mb = |pid: &str| peak_rss_mb(pid).map_or("n/a".into(), |m| format!("{m:.0} MB"));
    println!("| measure | ServiceNow node | Salesforce node |");
    println!("|---|---|---|");
    println!(
        "| {} new incidents → cases, first filed → last applied | {:.1} s ({:.0} changes/s) | |",
        args.run.changes,
        took.as_secs_f64(),
        args.run.changes as f64 / took.as_secs_f64()
    );
    println!(
        "| peak resident memory (VmHWM) | {} | {} |",
        mb(&pids.0),
        mb(&pids.1)
    );
    println!(
        "| CPU time during the run | {} | {} |",
        cpu(&pids.0, cpu_before.0),
        cpu(&pids.1, cpu_before.1)
    );
    drop((sn, sf));
    sn_box.shutdown().await;
    sf_box.shutdown().await;
    Ok(())
}
