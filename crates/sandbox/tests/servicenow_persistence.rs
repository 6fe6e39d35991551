//! `--data FILE`: state survives a restart, including attachments, passwords, counters and
//! webhooks; damaged files are refused without being touched.

mod common;

use common::{start_with, Sn};
use reqwest::Method;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use twinsync_sandbox::servicenow::{ServiceNowConfig, ServiceNowSandbox};

fn temp_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "twinsync-test-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn config(data: &Path) -> ServiceNowConfig {
    ServiceNowConfig {
        data: Some(data.to_path_buf()),
        seed_incidents: 5,
        ..Default::default()
    }
}

#[tokio::test]
async fn everything_written_survives_a_restart() {
    let data = temp_file("sn.jsonl");
    let sn = start_with(config(&data)).await;
    let rec = sn
        .create(
            "incident",
            json!({"short_description": "kept", "comments": "kept comment"}),
        )
        .await;
    let id = rec["sys_id"].as_str().unwrap().to_string();
    assert_eq!(rec["number"], "INC0010006");
    let deleted = sn.query_ids("incident", "number=INC0010001").await[0].clone();
    sn.admin(
        Method::DELETE,
        &format!("/api/now/table/incident/{deleted}"),
    )
    .send()
    .await
    .unwrap();
    let r = sn
        .itil(
            Method::POST,
            &format!(
                "/api/now/attachment/file?table_name=incident&table_sys_id={id}&file_name=a.bin"
            ),
        )
        .header("content-type", "application/octet-stream")
        .body(vec![0u8, 1, 2, 255, 254])
        .send()
        .await
        .unwrap();
    let att: Value = r.json().await.unwrap();
    let att = att["result"]["sys_id"].as_str().unwrap().to_string();
    sn.admin(Method::POST, "/api/now/table/sys_user")
        .json(&json!({"user_name": "kept", "user_password": "pw", "roles": "itil"}))
        .send()
        .await
        .unwrap();
    sn.req(Method::POST, "/sandbox/webhooks")
        .json(&json!({"url": "http://127.0.0.1:9/hook", "table": "incident"}))
        .send()
        .await
        .unwrap();
    let Sn { sandbox, .. } = sn;
    sandbox.shutdown().await;

    let sn = start_with(config(&data)).await;
    let v = sn.get_json(&format!("/api/now/table/incident/{id}")).await;
    assert_eq!(v["result"]["short_description"], "kept");
    assert!(
        sn.query_ids("incident", "number=INC0010001")
            .await
            .is_empty(),
        "the delete is kept too"
    );
    assert_eq!(
        sn.query_ids("incident", "").await.len(),
        5,
        "not re-seeded over the saved data"
    );
    let v = sn
        .get_json(&format!(
            "/api/now/table/sys_journal_field?sysparm_query=element_id={id}"
        ))
        .await;
    assert_eq!(v["result"][0]["value"], "kept comment");
    let bytes = sn
        .admin(Method::GET, &format!("/api/now/attachment/{att}/file"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.as_ref(), &[0u8, 1, 2, 255, 254]);
    let r = sn
        .req(Method::GET, "/api/now/table/incident")
        .basic_auth("kept", Some("pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "passwords survive");
    assert_eq!(
        sn.create("incident", json!({})).await["number"],
        "INC0010007",
        "numbering continues"
    );
    let hooks: Value = sn
        .req(Method::GET, "/sandbox/webhooks")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(hooks.as_array().unwrap().len(), 1);
    sn.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_torn_last_line_is_survived_and_damage_elsewhere_refused() {
    let data = temp_file("sn.jsonl");
    let sn = start_with(config(&data)).await;
    let id = sn
        .create("incident", json!({"short_description": "before the crash"}))
        .await["sys_id"]
        .as_str()
        .unwrap()
        .to_string();
    sn.sandbox.shutdown().await;

    let mut text = std::fs::read_to_string(&data).unwrap();
    text.push_str("{\"op\":\"put\",\"table\":\"incident\",\"rec");
    std::fs::write(&data, &text).unwrap();
    let sn = start_with(config(&data)).await;
    let v = sn.get_json(&format!("/api/now/table/incident/{id}")).await;
    assert_eq!(v["result"]["short_description"], "before the crash");
    sn.sandbox.shutdown().await;

    let text = std::fs::read_to_string(&data).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[3] = "not json at all";
    let damaged = lines.join("\n");
    std::fs::write(&data, &damaged).unwrap();
    let err = ServiceNowSandbox::start(config(&data))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("damaged at line 4"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&data).unwrap(),
        damaged,
        "the damaged file is left as it was"
    );

    let other = temp_file("other.jsonl");
    std::fs::write(
        &other,
        "{\"twinsync_sandbox\":\"salesforce\",\"format\":1}\n",
    )
    .unwrap();
    let err = ServiceNowSandbox::start(config(&other))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not a twinsync servicenow sandbox file"),
        "{err}"
    );
}

#[tokio::test]
async fn reset_rewrites_the_data_file() {
    let data = temp_file("sn.jsonl");
    let sn = start_with(config(&data)).await;
    sn.create("incident", json!({})).await;
    sn.req(Method::POST, "/sandbox/reset")
        .json(&json!({"seed": 2}))
        .send()
        .await
        .unwrap();
    sn.sandbox.shutdown().await;
    let sn = start_with(config(&data)).await;
    assert_eq!(sn.query_ids("incident", "").await.len(), 2);
}
