//! ServiceNow's own Python client library, pysnc, used unchanged but for its base URL,
//! queries (with paging), inserts, updates, uploads an attachment, updates several records
//! through the Batch API and logs in with OAuth against the sandbox.
//!
//! Needs `.venv` from `scripts/setup-test-deps` (run by `scripts/test` and `.ci/run`), or a
//! Python with pysnc and requests-oauthlib named by `TWINSYNC_PYTHON`.

mod common;

use common::start_with;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;
use twinsync_sandbox::common::tls::TlsMaterial;
use twinsync_sandbox::servicenow::ServiceNowConfig;

fn python() -> PathBuf {
    if let Ok(p) = std::env::var("TWINSYNC_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    assert!(
        venv.exists(),
        "pysnc is not installed: run scripts/setup-test-deps (or set TWINSYNC_PYTHON to a Python with pysnc)"
    );
    venv
}

#[tokio::test]
async fn pysnc_works_against_the_sandbox_unchanged() {
    let cert = std::env::temp_dir().join(format!("twinsync-pysnc-{}.crt", std::process::id()));
    let sn = start_with(ServiceNowConfig {
        tls: Some(TlsMaterial::self_signed(&cert).unwrap()),
        seed_incidents: 40,
        ..Default::default()
    })
    .await;

    // The sandbox's own view, through a client trusting its CA.
    let pem = std::fs::read(&cert).unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .build()
        .unwrap();
    let get = |path: String| {
        let client = client.clone();
        let url = format!("{}{path}", sn.url);
        async move {
            let r = client
                .get(url)
                .basic_auth("admin", Some("admin"))
                .send()
                .await
                .unwrap();
            r.json::<Value>().await.unwrap()
        }
    };

    // What the client's query must see, taken before the client changes anything.
    let expected = get("/api/now/table/incident?sysparm_fields=number&sysparm_query=active%3Dtrue%5Epriority%3C%3D3%5EORDERBYnumber".into()).await;
    let numbers: Vec<Value> = expected["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].clone())
        .collect();
    let first = get("/api/now/table/incident?sysparm_query=number%3DINC0010001&sysparm_display_value=true&sysparm_fields=caller_id,state".into()).await;

    // pysnc only accepts https:// instance URLs, so this also proves the TLS mode.
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/pysnc_client.py");
    let python = python();
    let url = sn.url.clone();
    let cert_arg = cert.clone();
    let output = tokio::task::spawn_blocking(move || {
        // requests lets these variables override the `verify=` pysnc passes; clear them so
        // the client trusts exactly the sandbox's CA.
        Command::new(python)
            .arg(script)
            .arg(url)
            .arg(cert_arg)
            .env_remove("REQUESTS_CA_BUNDLE")
            .env_remove("CURL_CA_BUNDLE")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "pysnc script failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: Value = serde_json::from_slice(&output.stdout).unwrap();

    // The query saw exactly what the sandbox held, in order, across pages of 7.
    assert!(
        numbers.len() > 7,
        "the query spans several pages: {}",
        numbers.len()
    );
    assert_eq!(seen["query_total"], numbers.len());
    assert_eq!(seen["query_numbers"], json!(numbers));
    assert_eq!(
        seen["query_caller_display"],
        first["result"][0]["caller_id"]["display_value"]
    );
    assert_eq!(seen["query_state_display"], first["result"][0]["state"]);

    let id = seen["inserted_sys_id"].as_str().unwrap();
    assert_eq!(seen["inserted_number"], "INC0010041");
    assert_eq!(seen["inserted_priority"], "1");
    let rec = get(format!("/api/now/table/incident/{id}")).await;
    assert_eq!(rec["result"]["short_description"], "Updated by pysnc");
    assert_eq!(rec["result"]["sys_created_by"], "itil");
    assert_eq!(seen["updated_mod_count"], "1");
    let journal = get(format!("/api/now/table/sys_journal_field?sysparm_query=element_id%3D{id}%5EORDERBYsys_created_on&sysparm_fields=element,value")).await;
    assert_eq!(
        journal["result"],
        json!([{"element": "comments", "value": "first comment from pysnc"}, {"element": "work_notes", "value": "work note from pysnc"}])
    );

    assert_eq!(
        seen["attachments"],
        json!([{"file_name": "pysnc.bin", "read_back_equal": true}])
    );
    assert!(seen["attachment_location"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{}/api/now/attachment/", sn.url)));

    assert_eq!(seen["update_multiple"], true);
    let bulk = get("/api/now/table/incident?sysparm_query=numberININC0010002,INC0010003,INC0010004&sysparm_fields=description".into()).await;
    assert!(
        bulk["result"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["description"] == "bulk edit by pysnc"),
        "{bulk}"
    );

    let users =
        get("/api/now/table/sys_user?sysparm_query=active%3Dtrue&sysparm_fields=sys_id".into())
            .await;
    assert_eq!(
        seen["oauth_user_count"],
        users["result"].as_array().unwrap().len()
    );

    assert_eq!(seen["deleted"], true);
    let gone = get("/api/now/table/incident?sysparm_query=number%3DINC0010005".into()).await;
    assert_eq!(gone["result"], json!([]));

    // The client really used each API: table reads and writes, attachments, batch, OAuth.
    let stats = get("/sandbox/stats".into()).await;
    for resource in ["incident", "attachment", "batch", "oauth", "sys_user"] {
        assert!(
            stats["by_resource"].get(resource).is_some(),
            "{resource} unused: {stats}"
        );
    }
}
