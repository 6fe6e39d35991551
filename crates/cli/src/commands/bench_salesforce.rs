//! `twinsync bench sandbox --platform salesforce`: GETs and PATCHes of cases by id and SOQL
//! queries against the Salesforce sandbox over loopback.

use super::bench::{load, sequential};
use crate::cli::BenchSandboxArgs;
use anyhow::{bail, Context};
use reqwest::Client;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;
use twinsync_sandbox::salesforce::{versions, SalesforceConfig, SalesforceSandbox};

fn has_records(body: &Value) -> bool {
    body["records"].as_array().is_some_and(|a| !a.is_empty())
}

fn soql_url(base: &str, soql: &str) -> String {
    format!(
        "{base}/services/data/v{}/query?q={}",
        versions::LATEST,
        url::form_urlencoded::byte_serialize(soql.as_bytes()).collect::<String>()
    )
}

/// Every case's id and number, paging through `nextRecordsUrl`.
async fn all_cases(
    client: &Client,
    url: &str,
    token: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut next = soql_url(url, "SELECT Id, CaseNumber FROM Case");
    loop {
        let page: Value = client
            .get(&next)
            .bearer_auth(token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        for r in page["records"]
            .as_array()
            .context("no records in the answer")?
        {
            out.push((
                r["Id"].as_str().unwrap_or_default().to_string(),
                r["CaseNumber"].as_str().unwrap_or_default().to_string(),
            ));
        }
        match page["nextRecordsUrl"].as_str() {
            Some(path) => next = format!("{url}{path}"),
            None => return Ok(out),
        }
    }
}

/// Runs the Salesforce phases and prints one line per phase.
pub async fn run(args: BenchSandboxArgs) -> anyhow::Result<()> {
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
            let sandbox = SalesforceSandbox::start(SalesforceConfig {
                seed_cases: args.records,
                daily_api_requests: u64::MAX / 2,
                ..Default::default()
            })
            .await
            .context("starting the sandbox")?;
            println!(
                "sandbox with {} cases seeded in {:.1} s at {}",
                args.records,
                seeding.elapsed().as_secs_f64(),
                sandbox.base_url()
            );
            let url = sandbox.base_url().to_string();
            local = Some(sandbox);
            url
        }
    };
    let login: Value = client
        .post(format!("{url}/services/oauth2/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "twinsync"),
            ("client_secret", "twinsync-secret"),
            ("username", "admin@example.com"),
            ("password", "admin"),
        ])
        .send()
        .await?
        .error_for_status()
        .context("logging in as admin@example.com")?
        .json()
        .await?;
    let token = login["access_token"]
        .as_str()
        .context("no access token")?
        .to_string();
    let cases = all_cases(&client, &url, &token).await?;
    if cases.is_empty() {
        bail!("the sandbox has no cases; start it with --seed N");
    }
    println!(
        "{} cases; {} s per phase; {} requests in flight; machine: {} cores",
        cases.len(),
        args.seconds,
        args.concurrency,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let cases = Arc::new(cases);
    let pick = |n: usize, len: usize| n.wrapping_mul(7919) % len;
    let v = versions::LATEST;

    let (u, r, t) = (url.clone(), cases.clone(), token.clone());
    let get = load(
        "GET case by id",
        &client,
        args.seconds,
        args.concurrency,
        move |c, n| {
            let (id, _) = &r[pick(n, r.len())];
            c.get(format!("{u}/services/data/v{v}/sobjects/Case/{id}"))
                .bearer_auth(&t)
        },
    )
    .await;
    get.print();

    let (u, r, t) = (url.clone(), cases.clone(), token.clone());
    let patch = load(
        "PATCH case by id",
        &client,
        args.seconds,
        args.concurrency,
        move |c, n| {
            let (id, _) = &r[pick(n, r.len())];
            c.patch(format!("{u}/services/data/v{v}/sobjects/Case/{id}"))
                .bearer_auth(&t)
                .json(&json!({"Subject": format!("bench edit {n}")}))
        },
    )
    .await;
    patch.print();

    let queries = |count: usize, soql: fn(&str) -> String| -> Vec<reqwest::RequestBuilder> {
        (0..count)
            .map(|n| {
                let (_, number) = &cases[pick(n, cases.len())];
                client
                    .get(soql_url(&url, &soql(number)))
                    .bearer_auth(&token)
            })
            .collect()
    };
    let indexed = sequential(
        "SOQL CaseNumber = (indexed)",
        queries(200, |n| {
            format!("SELECT Id, Subject FROM Case WHERE CaseNumber = '{n}'")
        }),
        has_records,
    )
    .await;
    indexed.print();
    let scanned = sequential(
        "SOQL CaseNumber LIKE (scan)",
        queries(20, |n| {
            format!(
                "SELECT Id FROM Case WHERE CaseNumber LIKE '%{}' LIMIT 10",
                n.get(3..).unwrap_or(n)
            )
        }),
        has_records,
    )
    .await;
    scanned.print();

    let failures = get.errors + patch.errors + indexed.errors + scanned.errors;
    if let Some(sandbox) = local {
        sandbox.shutdown().await;
    }
    if failures > 0 {
        bail!("{failures} requests failed during the benchmark (is the daily API limit high enough? start the sandbox with --daily-limit)");
    }
    Ok(())
}
