//! `twinsync rules test`: dry-run a sync rule on JSON files, so admins can check rules
//! before publishing them.

use crate::cli::RulesTestArgs;
use anyhow::{bail, Context};
use serde_json::Value;
use std::path::Path;
use twinsync_rules::{Limits, RunContext, Script, StaticUsers, UserInfo};

fn read_json(path: &Path, what: &str) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{what}: cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{what}: {} is not valid JSON", path.display()))
}

fn read_users(path: Option<&Path>) -> anyhow::Result<StaticUsers> {
    let Some(path) = path else {
        return Ok(StaticUsers::default());
    };
    let list = read_json(path, "--users")?;
    let items = list
        .as_array()
        .with_context(|| format!("--users: {} must hold a JSON list", path.display()))?;
    let text = |u: &Value, k: &str| u.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    Ok(StaticUsers(
        items
            .iter()
            .map(|u| UserInfo {
                id: text(u, "id"),
                email: text(u, "email"),
                name: text(u, "name"),
            })
            .collect(),
    ))
}

/// Runs the script and prints the replica (outgoing) or the changes (incoming) as JSON.
pub fn test(args: &RulesTestArgs) -> anyhow::Result<()> {
    let (kind, path) = match (&args.outgoing, &args.incoming) {
        (Some(p), None) => ("outgoing", p),
        (None, Some(p)) => ("incoming", p),
        _ => bail!("give exactly one of --outgoing RULES or --incoming RULES"),
    };
    let source = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the {kind} script {}", path.display()))?;
    let script = match Script::compile(kind, &source) {
        Ok(s) => s,
        Err(errors) => {
            let lines: Vec<String> = errors
                .iter()
                .map(|e| format!("{}: {}", path.display(), e.report()))
                .collect();
            bail!("the script does not compile:\n{}", lines.join("\n"));
        }
    };
    let users = read_users(args.users.as_deref())?;
    let ctx = RunContext {
        limits: Limits {
            max_steps: args.max_steps,
            ..Limits::default()
        },
        lookup: &users,
    };
    let output = if kind == "outgoing" {
        let Some(entity) = &args.entity else {
            bail!("--outgoing needs --entity ENTITY.json (the local record to map)");
        };
        let entity = read_json(entity, "--entity")?;
        script
            .run_outgoing(&entity, &ctx)
            .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.report()))?
    } else {
        let entity = match &args.entity {
            Some(p) => read_json(p, "--entity")?,
            None => Value::Object(Default::default()),
        };
        let replica = read_json(
            args.replica
                .as_deref()
                .context("--incoming needs --replica REPLICA.json")?,
            "--replica",
        )?;
        let previous = args
            .previous
            .as_deref()
            .map(|p| read_json(p, "--previous"))
            .transpose()?;
        let applied = script
            .run_incoming(&entity, &replica, previous.as_ref(), args.first_sync, &ctx)
            .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.report()))?;
        Value::Object(applied.changes)
    };
    println!("{}", serde_json::to_string_pretty(&output)?);
    Ok(())
}
