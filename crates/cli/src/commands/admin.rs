//! The admin commands (`connection`, `trigger`, `rules show|publish`, `exalate`, `errors`,
//! `stats`): each one call to a node's admin API, its answer printed for people.

use crate::cli::{
    BulkConnectArgs, ConnectionCommand, ErrorsCommand, ExalateArgs, PublishArgs, Remote, RuleRef,
    StatsArgs, TriggerCommand,
};
use anyhow::{bail, Context};
use reqwest::Method;
use serde_json::{json, Value};

async fn call(
    remote: &Remote,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    twinsync_connectors::http::ensure_crypto_provider();
    let url = format!("{}{path}", remote.node.trim_end_matches('/'));
    let mut r = reqwest::Client::new().request(method, &url);
    if let Some(t) = &remote.token {
        r = r.bearer_auth(t);
    }
    if let Some(b) = body {
        r = r.json(&b);
    }
    let answer = r.send().await.with_context(|| {
        format!(
            "cannot reach the node at {} (is it running? --node / TWINSYNC_NODE)",
            remote.node
        )
    })?;
    let status = answer.status();
    let text = answer.text().await.unwrap_or_default();
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if !status.is_success() {
        let why = v["error"].as_str().map_or(text.clone(), String::from);
        if status == reqwest::StatusCode::UNAUTHORIZED && remote.token.is_none() {
            bail!("{why} (give --token or set TWINSYNC_TOKEN)");
        }
        bail!("{why}");
    }
    Ok(v)
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// `twinsync connection …`.
pub async fn connection(c: ConnectionCommand) -> anyhow::Result<()> {
    match c {
        ConnectionCommand::List(a) => {
            let list = call(&a.remote, Method::GET, "/api/v1/connections", None).await?;
            let items = list.as_array().cloned().unwrap_or_default();
            if items.is_empty() {
                println!("no connections");
            }
            for c in items {
                println!(
                    "{}  {}  {} → {}  {}  {}  {}",
                    s(&c["id"]),
                    s(&c["name"]),
                    s(&c["local_instance"]),
                    s(&c["remote_instance"]),
                    s(&c["mode"]),
                    s(&c["status"]),
                    s(&c["remote_url"])
                );
            }
        }
        ConnectionCommand::Initiate(a) => {
            let v = call(
                &a.remote,
                Method::POST,
                "/api/v1/connections",
                Some(json!({"remote_url": a.remote_url, "mode": a.mode, "name": a.name, "description": a.description})),
            )
            .await?;
            println!(
                "connection {} ({}) is pending",
                s(&v["connection"]["name"]),
                s(&v["connection"]["id"])
            );
            println!("invitation code (valid 24 hours, works once), for the other side's admin:");
            println!("{}", s(&v["invitation_code"]));
        }
        ConnectionCommand::Accept(a) => {
            let v = call(
                &a.remote,
                Method::POST,
                "/api/v1/connections/accept",
                Some(json!({"code": a.code.trim()})),
            )
            .await?;
            println!(
                "connection {} ({}) is {}",
                s(&v["name"]),
                s(&v["id"]),
                s(&v["status"])
            );
        }
        ConnectionCommand::Activate(a) => {
            call(
                &a.remote,
                Method::POST,
                &format!("/api/v1/connections/{}/activate", a.id),
                None,
            )
            .await?;
            println!("connection {} is active", a.id);
        }
        ConnectionCommand::Deactivate(a) => {
            call(
                &a.remote,
                Method::POST,
                &format!("/api/v1/connections/{}/deactivate", a.id),
                None,
            )
            .await?;
            println!(
                "connection {} is inactive: changes keep queueing until it is activated",
                a.id
            );
        }
        ConnectionCommand::Delete(a) => {
            let confirm: String =
                url::form_urlencoded::byte_serialize(a.confirm.as_bytes()).collect();
            call(
                &a.remote,
                Method::DELETE,
                &format!("/api/v1/connections/{}?confirm={confirm}", a.id),
                None,
            )
            .await?;
            println!("connection {} deleted", a.id);
        }
    }
    Ok(())
}

/// `twinsync trigger …`.
pub async fn trigger(t: TriggerCommand) -> anyhow::Result<()> {
    match t {
        TriggerCommand::Add(a) => {
            let v = call(
                &a.remote,
                Method::POST,
                &format!("/api/v1/connections/{}/triggers", a.connection),
                Some(json!({"entity_type": a.entity_type, "query": a.query, "notes": a.notes})),
            )
            .await?;
            println!("trigger {} added: {} where {} (syncs changes from now on; bulk-exalate for existing records)", s(&v["id"]), s(&v["entity_type"]), s(&v["query"]));
        }
        TriggerCommand::List(a) => {
            let v = call(
                &a.remote,
                Method::GET,
                &format!("/api/v1/connections/{}/triggers", a.id),
                None,
            )
            .await?;
            for t in v.as_array().cloned().unwrap_or_default() {
                println!(
                    "{}  {}  {}  {}  {}",
                    s(&t["id"]),
                    s(&t["entity_type"]),
                    s(&t["query"]),
                    if t["active"] == true {
                        "active"
                    } else {
                        "inactive"
                    },
                    s(&t["notes"])
                );
            }
        }
        TriggerCommand::BulkExalate(a) => {
            let v = call(
                &a.remote,
                Method::POST,
                &format!("/api/v1/triggers/{}/bulk-exalate", a.id),
                None,
            )
            .await?;
            println!(
                "{} records match; {} queued for sending",
                s(&v["matched"]),
                s(&v["queued"])
            );
        }
    }
    Ok(())
}

/// `twinsync exalate`.
pub async fn exalate(a: ExalateArgs) -> anyhow::Result<()> {
    call(
        &a.remote,
        Method::POST,
        &format!("/api/v1/connections/{}/exalate", a.connection),
        Some(json!({"entity_type": a.entity_type, "key": a.key})),
    )
    .await?;
    println!("{} {} queued", a.entity_type, a.key);
    Ok(())
}

/// `twinsync unexalate`.
pub async fn unexalate(a: ExalateArgs) -> anyhow::Result<()> {
    call(
        &a.remote,
        Method::POST,
        &format!("/api/v1/connections/{}/unexalate", a.connection),
        Some(json!({"entity_type": a.entity_type, "key": a.key})),
    )
    .await?;
    println!("{} {} is no longer synced", a.entity_type, a.key);
    Ok(())
}

/// `twinsync entity`.
pub async fn entity(a: ExalateArgs) -> anyhow::Result<()> {
    let v = call(
        &a.remote,
        Method::GET,
        &format!(
            "/api/v1/connections/{}/entities/{}/{}",
            a.connection, a.entity_type, a.key
        ),
        None,
    )
    .await?;
    println!(
        "{} {} ⇄ {} {} {}",
        s(&v["local"]["type"]),
        s(&v["local"]["number"]),
        s(&v["remote"]["type"]),
        s(&v["remote"]["number"]),
        s(&v["remote"]["url"])
    );
    for l in v["log"].as_array().cloned().unwrap_or_default() {
        println!(
            "  {}  {:<8} rule v{}  {}",
            s(&l["at"]),
            s(&l["event"]),
            s(&l["rule_version"]),
            s(&l["detail"])
        );
    }
    Ok(())
}

/// The pairs of a bulk-connect CSV: a header naming the four columns, then one pair a line.
fn read_pairs(path: &std::path::Path) -> anyhow::Result<Vec<Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> = lines
        .next()
        .context("the CSV is empty")?
        .split(',')
        .map(|h| h.trim().to_string())
        .collect();
    let want = ["local_type", "local_key", "remote_type", "remote_key"];
    if header != want {
        bail!(
            "the CSV header must be `{}` (found `{}`)",
            want.join(","),
            header.join(",")
        );
    }
    lines
        .enumerate()
        .map(|(i, line)| {
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            if cells.len() != 4 || cells.iter().any(|c| c.is_empty()) {
                bail!("line {}: expected 4 non-empty values, found `{line}`", i + 2);
            }
            Ok(json!({"local_type": cells[0], "local_key": cells[1], "remote_type": cells[2], "remote_key": cells[3]}))
        })
        .collect()
}

/// `twinsync bulk-connect`.
pub async fn bulk_connect(a: BulkConnectArgs) -> anyhow::Result<()> {
    if let Some(by) = &a.by {
        let parse = |side: &str| -> anyhow::Result<(String, String)> {
            let (t, f) = side.trim().split_once('.').ok_or_else(|| {
                anyhow::anyhow!(
                    "--by {by:?}: each side is TYPE.FIELD, e.g. incident.number=Case.Subject"
                )
            })?;
            Ok((t.to_string(), f.to_string()))
        };
        let (l, r) = by.split_once('=').ok_or_else(|| {
            anyhow::anyhow!("--by {by:?}: write local_type.field=remote_type.field")
        })?;
        let ((lt, lf), (rt, rf)) = (parse(l)?, parse(r)?);
        let v = call(
            &a.remote,
            Method::POST,
            &format!("/api/v1/connections/{}/bulk-connect", a.connection),
            Some(json!({"by": {"local_type": lt, "local_field": lf, "remote_type": rt, "remote_field": rf}})),
        )
        .await?;
        println!(
            "{} local records with a value; {} pairs, {} newly linked; {} without a match on the other side",
            s(&v["local"]),
            s(&v["pairs"]),
            s(&v["linked"]),
            s(&v["unmatched"])
        );
        if let Some(amb) = v["ambiguous"].as_array().filter(|a| !a.is_empty()) {
            println!(
                "not linked, held by more than one record on a side: {}",
                amb.iter().map(s).collect::<Vec<_>>().join(", ")
            );
        }
        return Ok(());
    }
    let Some(csv) = &a.csv else {
        anyhow::bail!("give --csv PAIRS.csv or --by local_type.field=remote_type.field");
    };
    let pairs = read_pairs(csv)?;
    let v = call(
        &a.remote,
        Method::POST,
        &format!("/api/v1/connections/{}/bulk-connect", a.connection),
        Some(json!({"pairs": pairs})),
    )
    .await?;
    println!(
        "{} of {} pairs linked (the others were linked already)",
        s(&v["linked"]),
        s(&v["pairs"])
    );
    Ok(())
}

/// `twinsync errors …`.
pub async fn errors(e: ErrorsCommand) -> anyhow::Result<()> {
    match e {
        ErrorsCommand::List(a) => {
            let v = call(&a.remote, Method::GET, "/api/v1/errors", None).await?;
            let items = v.as_array().cloned().unwrap_or_default();
            if items.is_empty() {
                println!("no open errors");
            }
            for e in items {
                println!(
                    "{}  {}  rule v{}  {}  ×{}  {}",
                    s(&e["id"]),
                    s(&e["entity"]),
                    s(&e["rule_version"]),
                    s(&e["location"]),
                    s(&e["attempts"]),
                    s(&e["message"])
                );
            }
        }
        ErrorsCommand::Retry(a) => {
            call(
                &a.remote,
                Method::POST,
                &format!("/api/v1/errors/{}/retry", a.id),
                None,
            )
            .await?;
            println!("error {} closed; its sync is tried again now", a.id);
        }
        ErrorsCommand::Resolve(a) => {
            call(
                &a.remote,
                Method::POST,
                &format!("/api/v1/errors/{}/resolve", a.id),
                None,
            )
            .await?;
            println!("error {} resolved; the failed sync is skipped", a.id);
        }
    }
    Ok(())
}

/// `twinsync stats`.
pub async fn stats(a: StatsArgs) -> anyhow::Result<()> {
    let v = call(
        &a.remote,
        Method::GET,
        &format!("/api/v1/connections/{}/stats", a.connection),
        None,
    )
    .await?;
    println!(
        "twins {}  outbox {}  inbox {}  open errors {}",
        s(&v["twins"]),
        s(&v["outbox"]),
        s(&v["inbox"]),
        s(&v["open_errors"])
    );
    println!("platform API calls {}", s(&v["api_calls"]["requests"]));
    for t in v["recent"].as_array().cloned().unwrap_or_default() {
        println!(
            "  {} {} ⇄ {} {}",
            s(&t["local"]["type"]),
            s(&t["local"]["number"]),
            s(&t["remote"]["type"]),
            s(&t["remote"]["number"])
        );
    }
    Ok(())
}

/// `twinsync rules show`.
pub async fn show_rule(r: RuleRef) -> anyhow::Result<()> {
    let v = call(
        &r.remote,
        Method::GET,
        &format!("/api/v1/connections/{}/rules/{}", r.connection, r.direction),
        None,
    )
    .await?;
    if v["default"] == true {
        println!("// default {} rule (nothing published)", r.direction);
    } else {
        println!(
            "// {} rule v{} published by {} at {}",
            r.direction,
            s(&v["version"]),
            s(&v["published_by"]),
            s(&v["published_at"])
        );
    }
    println!("{}", s(&v["source"]));
    Ok(())
}

/// `twinsync rules publish`.
pub async fn publish_rule(p: PublishArgs) -> anyhow::Result<()> {
    let source = std::fs::read_to_string(&p.file)
        .with_context(|| format!("reading {}", p.file.display()))?;
    let v = call(
        &p.rule.remote,
        Method::PUT,
        &format!(
            "/api/v1/connections/{}/rules/{}",
            p.rule.connection, p.rule.direction
        ),
        Some(json!({"source": source})),
    )
    .await?;
    println!("{} rule v{} published", p.rule.direction, s(&v["version"]));
    Ok(())
}
