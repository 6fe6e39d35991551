//! `twinsync rules test`: dry runs of outgoing and incoming scripts on JSON files, and
//! located errors with a non-zero exit.

mod support;

use serde_json::{json, Value};
use support::{temp_dir, twinsync};

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn an_outgoing_script_prints_the_replica() {
    let dir = temp_dir();
    let rules = write(
        &dir,
        "out.groovy",
        "if(entity.entityType == \"Task\") {\n    replica.key        = entity.Id\n    replica.summary    = entity.Subject\n    replica.description = entity.Description\n    replica.comments = entity.comments.findAll { it.public }.collect { it.body }\n}\n",
    );
    let entity = write(
        &dir,
        "task.json",
        &json!({"entityType": "Task", "Id": "00T5g000000001AAA", "Subject": "Call", "Description": null,
                "comments": [{"body": "a", "public": true}, {"body": "b", "public": false}]})
        .to_string(),
    );
    let out = twinsync()
        .args(["rules", "test", "--outgoing", &rules, "--entity", &entity])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let replica: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        replica,
        json!({"key": "00T5g000000001AAA", "summary": "Call", "description": null, "comments": ["a"]})
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_incoming_script_prints_the_changes_it_would_make() {
    let dir = temp_dir();
    let rules = write(
        &dir,
        "in.groovy",
        "def statusMap = [New: '1', Working: '2', Closed: '7']\nif (firstSync) { entity.short_description = replica.summary }\nentity.state = statusMap[replica.status] ?: '1'\nif (replica.summary != previous?.summary) entity.description = replica.description\nentity.assigned_to = nodeHelper.getUserByEmail(replica.assignee?.email)?.id\n",
    );
    let entity = write(
        &dir,
        "inc.json",
        &json!({"entityType": "incident", "short_description": "old", "state": "1"}).to_string(),
    );
    let replica = write(&dir, "r.json", &json!({"summary": "new", "status": "Working", "description": "d", "assignee": {"email": "ada@example.com"}}).to_string());
    let previous = write(&dir, "p.json", &json!({"summary": "new"}).to_string());
    let users = write(
        &dir,
        "users.json",
        &json!([{"id": "u1", "email": "ada@example.com", "name": "Ada"}]).to_string(),
    );
    let out = twinsync()
        .args([
            "rules",
            "test",
            "--incoming",
            &rules,
            "--entity",
            &entity,
            "--replica",
            &replica,
            "--previous",
            &previous,
            "--users",
            &users,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let changes: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(changes, json!({"state": "2", "assigned_to": "u1"}));
    let out = twinsync()
        .args([
            "rules",
            "test",
            "--incoming",
            &rules,
            "--entity",
            &entity,
            "--replica",
            &replica,
            "--first-sync",
        ])
        .output()
        .unwrap();
    let changes: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        changes,
        json!({"short_description": "new", "state": "2", "description": "d", "assigned_to": null})
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn errors_are_located_and_fail_the_command() {
    let dir = temp_dir();
    let entity = write(&dir, "e.json", "{\"entityType\": \"Case\"}");
    let bad = write(
        &dir,
        "bad.groovy",
        "replica.summary = entity.Subject\nif (x == 1 {\n}\n",
    );
    let out = twinsync()
        .args(["rules", "test", "--outgoing", &bad, "--entity", &entity])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.groovy: outgoing script, line 2, column 12: syntax error: expected `)` but found `{`"), "{err}");
    let failing = write(
        &dir,
        "fail.groovy",
        "replica.summary = entity.Subject.trim()\n",
    );
    let out = twinsync()
        .args(["rules", "test", "--outgoing", &failing, "--entity", &entity])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 1, column 33: error: cannot call `trim()` on null"),
        "{err}"
    );
    let out = twinsync()
        .args(["rules", "test", "--outgoing", &failing])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--outgoing needs --entity"));
    let out = twinsync()
        .args(["rules", "test", "--entity", &entity])
        .output()
        .unwrap();
    assert!(!out.status.success(), "a script is required");
    let _ = std::fs::remove_dir_all(dir);
}
