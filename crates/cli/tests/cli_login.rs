//! Console users through the CLI and a node process: `twinsync hash-password` makes the
//! hash that `[[users]]` takes, the node logs the user in with that password, the session
//! acts in the user's role and ends at logout; a hash that is not one stops the node at
//! start with a message naming the user.

mod support;

use serde_json::{json, Value};
use std::io::Write;
use std::process::Stdio;
use support::{http, start_node, temp_dir, twinsync, write_config, Running};

fn hash(password: &str) -> String {
    let mut child = twinsync()
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn a_user_logs_in_with_a_password_hashed_by_the_cli() {
    let dir = temp_dir();
    let sn = Running::start(&["sandbox", "servicenow", "--port", "0", "--seed", "0"]);
    let platform = format!(
        "[servicenow]\nurl = \"{}\"\nuser = \"itil\"\npassword = \"itil\"\n",
        sn.url
    );
    let ada = hash("s3cret horse");
    assert!(ada.starts_with("$argon2id$"), "{ada}");
    let cfg = write_config(&dir, "sn-node", &platform);
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str(&format!(
        "[[users]]\nname = \"ada\"\nrole = \"viewer\"\npassword_hash = \"{ada}\"\n"
    ));
    std::fs::write(&cfg, text).unwrap();
    let node = start_node(&cfg);
    let client = http();
    let login = |password: &str| {
        client
            .post(format!("{}/api/v1/login", node.url))
            .json(&json!({"user": "ada", "password": password}))
            .send()
            .unwrap()
    };

    let refused = login("s3cret Horse");
    assert_eq!(refused.status(), 401);
    let v: Value = login("s3cret horse").json().unwrap();
    assert_eq!(v["role"], "viewer", "{v}");
    let session = v["token"].as_str().unwrap().to_string();
    let listed = client
        .get(format!("{}/api/v1/connections", node.url))
        .bearer_auth(&session)
        .send()
        .unwrap();
    assert_eq!(listed.status(), 200);
    let initiate = client
        .post(format!("{}/api/v1/connections", node.url))
        .bearer_auth(&session)
        .json(&json!({"remote_url": sn.url, "mode": "basic"}))
        .send()
        .unwrap();
    assert_eq!(initiate.status(), 403);
    assert!(initiate.text().unwrap().contains("needs admin"));
    let out = client
        .post(format!("{}/api/v1/logout", node.url))
        .bearer_auth(&session)
        .send()
        .unwrap();
    assert_eq!(out.status(), 204);
    let after = client
        .get(format!("{}/api/v1/connections", node.url))
        .bearer_auth(&session)
        .send()
        .unwrap();
    assert_eq!(after.status(), 401);
    assert!(node.terminate());

    // A password where the hash belongs stops the node with a message naming the user.
    let bad = write_config(&dir, "bad-node", &platform);
    let mut text = std::fs::read_to_string(&bad).unwrap();
    text.push_str("[[users]]\nname = \"bob\"\nrole = \"admin\"\npassword_hash = \"hunter2\"\n");
    std::fs::write(&bad, text).unwrap();
    let out = twinsync()
        .args(["node", "--config", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("user \"bob\"") && err.contains("twinsync hash-password"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
