//! The conformance suite: every `tests/conformance/*.toml` case runs through the public API
//! and must give its expected replica, entity or error (see tests/conformance/README.md).

use serde_json::Value;
use std::path::PathBuf;
use twinsync_rules::{Limits, RunContext, Script, StaticUsers, UserInfo};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    kind: String,
    script: String,
    #[serde(default)]
    entity: Option<String>,
    #[serde(default)]
    replica: Option<String>,
    #[serde(default)]
    previous: Option<String>,
    #[serde(default)]
    first_sync: bool,
    #[serde(default)]
    expect_replica: Option<String>,
    #[serde(default)]
    expect_entity: Option<String>,
    #[serde(default)]
    expect_error: Option<String>,
}

fn json(text: &Option<String>, what: &str, file: &str) -> Value {
    match text {
        Some(t) => {
            serde_json::from_str(t).unwrap_or_else(|e| panic!("{file}: {what} is not JSON: {e}"))
        }
        None => Value::Object(Default::default()),
    }
}

fn users() -> StaticUsers {
    StaticUsers(vec![
        UserInfo {
            id: "user-1".into(),
            email: "ada@example.com".into(),
            name: "Ada Lovelace".into(),
        },
        UserInfo {
            id: "user-2".into(),
            email: "alan@example.com".into(),
            name: "Alan Turing".into(),
        },
    ])
}

/// Runs one case; `Err` says how it failed.
fn run(file: &str, case: &Case) -> Result<(), String> {
    let users = users();
    let ctx = RunContext {
        limits: Limits {
            max_steps: 200_000,
            ..Limits::default()
        },
        lookup: &users,
    };
    let name = if case.kind == "incoming" {
        "incoming"
    } else {
        "outgoing"
    };
    let script = match Script::compile(name, &case.script) {
        Ok(s) => s,
        Err(errors) => {
            let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
            return match &case.expect_error {
                Some(want) if text.iter().any(|t| t.contains(want.as_str())) => Ok(()),
                _ => Err(format!("does not compile: {}", text.join("; "))),
            };
        }
    };
    let entity = json(&case.entity, "entity", file);
    let outcome = if case.kind == "incoming" || case.expect_entity.is_some() {
        let previous = case
            .previous
            .as_ref()
            .map(|_| json(&case.previous, "previous", file));
        script
            .run_incoming(
                &entity,
                &json(&case.replica, "replica", file),
                previous.as_ref(),
                case.first_sync,
                &ctx,
            )
            .map(|a| a.entity)
    } else {
        let tree = script.run_outgoing(&entity, &ctx);
        // The node's path (JSON bytes) must give the very same replica.
        let bytes = script.run_outgoing_bytes(&entity, &ctx).map(|b| {
            serde_json::from_slice::<serde_json::Value>(&b).expect("the replica bytes are JSON")
        });
        match (&tree, &bytes) {
            (Ok(a), Ok(b)) if a != b => {
                return Err(format!("replica as bytes {b} differs from the tree {a}"))
            }
            (Ok(_), Err(e)) | (Err(e), Ok(_)) => {
                return Err(format!("only one of the two outgoing paths failed: {e}"))
            }
            _ => {}
        }
        tree
    };
    match (outcome, &case.expect_error) {
        (Err(e), Some(want)) if e.to_string().contains(want.as_str()) => Ok(()),
        (Err(e), Some(want)) => Err(format!("error `{e}` does not contain `{want}`")),
        (Err(e), None) => Err(format!("failed: {e}")),
        (Ok(v), Some(want)) => Err(format!("expected an error containing `{want}`, got {v}")),
        (Ok(got), None) => {
            let want = match (&case.expect_replica, &case.expect_entity) {
                (Some(_), _) => json(&case.expect_replica, "expect_replica", file),
                (_, Some(_)) => json(&case.expect_entity, "expect_entity", file),
                _ => return Err("no expectation".into()),
            };
            if got == want {
                Ok(())
            } else {
                Err(format!("got  {got}\n        want {want}"))
            }
        }
    }
}

#[test]
fn every_conformance_case_gives_its_expected_result() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/conformance exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    for path in &files {
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(path).unwrap();
        let case: Case = toml::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        if let Err(why) = run(&file, &case) {
            failures.push(format!("{file}: {why}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    assert!(files.len() >= 60, "only {} conformance cases", files.len());
}
