//! `SalesforceConfig.data`: everything acknowledged survives a restart (records, deletes in
//! the recycle bin, file content, counters, outbound messages); a torn last line is
//! tolerated; a rolled-back all-or-none call leaves nothing behind.

mod sf_common;

use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};
use sf_common::{code, query_all_path, start_with, Sf};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use twinsync_sandbox::salesforce::{SalesforceConfig, SalesforceSandbox};

/// A temporary directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "twinsync-sf-test-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn config(data: &Path) -> SalesforceConfig {
    SalesforceConfig {
        data: Some(data.to_path_buf()),
        seed_cases: 5,
        ..Default::default()
    }
}

async fn stop(sf: Sf) {
    sf.sandbox.shutdown().await;
}

/// Every Case id, deleted ones included.
async fn all_case_ids(sf: &Sf) -> BTreeSet<String> {
    let v = sf.get(&query_all_path("SELECT Id FROM Case")).await;
    v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Id"].as_str().unwrap().to_string())
        .collect()
}

async fn case_number(sf: &Sf, id: &str) -> String {
    sf.get(&format!("/sobjects/Case/{id}")).await["CaseNumber"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn everything_acknowledged_survives_a_restart() {
    let dir = TempDir::new();
    let data = dir.file("org.jsonl");
    let sf = start_with(config(&data)).await;
    assert!(data.exists(), "the data file is written at start");

    let kept = sf
        .create(
            "Case",
            json!({"Subject": "kept", "Priority": "High", "Description": "ünïcode ✓"}),
        )
        .await;
    assert_eq!(case_number(&sf, &kept).await, "00001006");
    let (status, body) = sf
        .call(
            sf.api(Method::PATCH, &format!("/sobjects/Case/{kept}"))
                .json(&json!({"Status": "Closed", "Subject": "kept and closed"})),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let seeded = sf
        .query("SELECT Id FROM Case WHERE CaseNumber = '00001001'")
        .await["records"][0]["Id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = sf
        .call(sf.api(Method::DELETE, &format!("/sobjects/Case/{seeded}")))
        .await;
    assert_eq!(status, 204, "{body}");
    let account = sf.create("Account", json!({"Name": "Kept Ltd"})).await;

    // A file: bytes of every value, through base64.
    let bytes: Vec<u8> = (0..=255u8).chain([0, 0, 255]).collect();
    let version = sf
        .create(
            "ContentVersion",
            json!({
                "Title": "kept file",
                "PathOnClient": "kept.bin",
                "VersionData": base64::engine::general_purpose::STANDARD.encode(&bytes),
                "FirstPublishLocationId": kept,
            }),
        )
        .await;

    // A collections call.
    let (status, out) = sf
        .call(sf.api(Method::POST, "/composite/sobjects").json(&json!({
            "allOrNone": false,
            "records": [
                {"attributes": {"type": "Case"}, "Subject": "batch 1", "AccountId": account},
                {"attributes": {"type": "Case"}, "Subject": "batch 2", "Priority": "Low"},
                {"attributes": {"type": "Case"}, "Subject": "refused", "Priority": "Bogus"}
            ]
        })))
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out[0]["success"], true, "{out}");
    assert_eq!(out[1]["success"], true, "{out}");
    assert_eq!(out[2]["success"], false, "{out}");
    let batch: Vec<String> = out.as_array().unwrap()[..2]
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(case_number(&sf, &batch[1]).await, "00001008");

    // An outbound message registration.
    let (status, outbound) = sf
        .admin(
            Method::POST,
            "/sandbox/outbound-messages",
            Some(json!({"object": "Case", "fields": ["Subject"], "url": "http://127.0.0.1:9/x"})),
        )
        .await;
    assert_eq!(status, 201, "{outbound}");

    let ids_before = all_case_ids(&sf).await;
    let live_before = sf.query("SELECT COUNT() FROM Case").await["totalSize"].clone();
    assert_eq!(live_before, 5 - 1 + 3);
    stop(sf).await;

    let sf = start_with(config(&data)).await;
    let v = sf.get(&format!("/sobjects/Case/{kept}")).await;
    assert_eq!(v["Subject"], "kept and closed");
    assert_eq!(v["Status"], "Closed");
    assert_eq!(v["IsClosed"], true);
    assert_eq!(v["Priority"], "High");
    assert_eq!(v["Description"], "ünïcode ✓");
    assert_eq!(v["CaseNumber"], "00001006");
    assert!(v["ClosedDate"].is_string());

    // The delete is kept: gone from query, in the recycle bin for queryAll.
    let (status, body) = sf
        .call(sf.api(Method::GET, &format!("/sobjects/Case/{seeded}")))
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(code(&body), "ENTITY_IS_DELETED");
    let v = sf
        .query(&format!("SELECT Id FROM Case WHERE Id = '{seeded}'"))
        .await;
    assert_eq!(v["totalSize"], 0);
    let v = sf
        .get(&query_all_path(&format!(
            "SELECT Id, IsDeleted, CaseNumber FROM Case WHERE Id = '{seeded}'"
        )))
        .await;
    assert_eq!(v["totalSize"], 1, "{v}");
    assert_eq!(v["records"][0]["IsDeleted"], true);
    assert_eq!(v["records"][0]["CaseNumber"], "00001001");

    // The file and its document and link.
    let r = sf
        .api(
            Method::GET,
            &format!("/sobjects/ContentVersion/{version}/VersionData"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), bytes.as_slice());
    let v = sf.get(&format!("/sobjects/ContentVersion/{version}")).await;
    assert_eq!(v["ContentSize"], bytes.len());
    assert_eq!(v["Title"], "kept file");
    let document = v["ContentDocumentId"].as_str().unwrap().to_string();
    let v = sf
        .query(&format!(
            "SELECT Id FROM ContentDocumentLink WHERE LinkedEntityId = '{kept}' AND ContentDocumentId = '{document}'"
        ))
        .await;
    assert_eq!(v["totalSize"], 1, "{v}");

    // The collections call's records.
    let v = sf.get(&format!("/sobjects/Case/{}", batch[0])).await;
    assert_eq!(v["Subject"], "batch 1");
    assert_eq!(v["AccountId"], account.as_str());
    let v = sf
        .query("SELECT Id FROM Case WHERE Subject = 'refused'")
        .await;
    assert_eq!(v["totalSize"], 0);
    assert_eq!(
        sf.query("SELECT COUNT() FROM Case").await["totalSize"],
        live_before,
        "not re-seeded over the saved data"
    );
    assert_eq!(all_case_ids(&sf).await, ids_before);

    // Numbering and ids continue without reuse.
    let next = sf.create("Case", json!({"Subject": "after restart"})).await;
    assert_eq!(case_number(&sf, &next).await, "00001009");
    assert!(!ids_before.contains(&next), "{next} was already used");
    let next_account = sf.create("Account", json!({"Name": "After"})).await;
    assert_ne!(next_account, account);
    let v = sf.query("SELECT Id FROM Account").await;
    let accounts: BTreeSet<&str> = v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Id"].as_str().unwrap())
        .collect();
    assert_eq!(accounts.len(), v["totalSize"].as_u64().unwrap() as usize);
    let again = sf
        .create(
            "ContentVersion",
            json!({"PathOnClient": "b.txt", "VersionData": "aGk="}),
        )
        .await;
    assert_ne!(again, version);

    // The outbound message is still registered.
    let (_, list) = sf
        .admin(Method::GET, "/sandbox/outbound-messages", None)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["id"], outbound["id"]);
    stop(sf).await;

    // A third start still has everything, including what the second run wrote.
    let sf = start_with(config(&data)).await;
    assert_eq!(case_number(&sf, &next).await, "00001009");
    let v = sf.get(&format!("/sobjects/Case/{kept}")).await;
    assert_eq!(v["Subject"], "kept and closed");
    let r = sf
        .api(
            Method::GET,
            &format!("/sobjects/ContentVersion/{again}/VersionData"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"hi");
    stop(sf).await;
}

#[tokio::test]
async fn a_torn_last_line_is_tolerated() {
    let dir = TempDir::new();
    let data = dir.file("org.jsonl");
    let sf = start_with(config(&data)).await;
    let id = sf
        .create("Case", json!({"Subject": "before the crash"}))
        .await;
    stop(sf).await;

    // The process died while writing the next change.
    let mut bytes = std::fs::read(&data).unwrap();
    assert_eq!(bytes.last(), Some(&b'\n'));
    bytes.extend_from_slice(br#"{"op":"put","object":"Case","record":{"Id":"500"#);
    std::fs::write(&data, &bytes).unwrap();

    let sf = start_with(config(&data)).await;
    let v = sf.get(&format!("/sobjects/Case/{id}")).await;
    assert_eq!(v["Subject"], "before the crash");
    assert_eq!(sf.query("SELECT COUNT() FROM Case").await["totalSize"], 6);
    let next = sf
        .create("Case", json!({"Subject": "after the crash"}))
        .await;
    assert_eq!(case_number(&sf, &next).await, "00001007");
    stop(sf).await;

    // The restart compacted the file: no torn line is left, and both records are there.
    let text = std::fs::read_to_string(&data).unwrap();
    assert!(text.ends_with('\n'));
    for line in text.lines() {
        serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    let sf = start_with(config(&data)).await;
    assert_eq!(
        sf.get(&format!("/sobjects/Case/{next}")).await["Subject"],
        "after the crash"
    );
    stop(sf).await;
}

#[tokio::test]
async fn a_rolled_back_all_or_none_call_leaves_nothing_in_the_file() {
    let dir = TempDir::new();
    let data = dir.file("org.jsonl");
    let sf = start_with(config(&data)).await;

    let (status, out) = sf
        .call(sf.api(Method::POST, "/composite/sobjects").json(&json!({
            "allOrNone": true,
            "records": [
                {"attributes": {"type": "Case"}, "Subject": "GHOST-collections-1"},
                {"attributes": {"type": "Case"}, "Subject": "GHOST-collections-2"},
                {"attributes": {"type": "Case"}, "Subject": "GHOST-collections-bad", "Nope__c": 1}
            ]
        })))
        .await;
    assert_eq!(status, 200);
    assert!(
        out.as_array()
            .unwrap()
            .iter()
            .all(|r| r["success"] == false),
        "{out}"
    );

    let seeded = sf
        .query("SELECT Id FROM Case WHERE CaseNumber = '00001002'")
        .await["records"][0]["Id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, out) = sf
        .call(sf.api(Method::POST, "/composite").json(&json!({
            "allOrNone": true,
            "compositeRequest": [
                {"method": "POST", "url": "/services/data/v59.0/sobjects/Account", "referenceId": "acct",
                 "body": {"Name": "GHOST-account"}},
                {"method": "POST", "url": "/services/data/v59.0/sobjects/Case", "referenceId": "case",
                 "body": {"Subject": "GHOST-composite", "AccountId": "@{acct.id}"}},
                {"method": "PATCH", "url": format!("/services/data/v59.0/sobjects/Case/{seeded}"), "referenceId": "edit",
                 "body": {"Subject": "GHOST-edit"}},
                {"method": "DELETE", "url": format!("/services/data/v59.0/sobjects/Case/{seeded}"), "referenceId": "del"},
                {"method": "POST", "url": "/services/data/v59.0/sobjects/Case", "referenceId": "bad",
                 "body": {"Subject": "GHOST-bad", "Status": "Bogus"}}
            ]
        })))
        .await;
    assert_eq!(status, 200, "{out}");
    let responses = out["compositeResponse"].as_array().unwrap();
    assert_eq!(responses.len(), 5, "{out}");
    assert_eq!(responses[4]["httpStatusCode"], 400, "{out}");
    assert_eq!(
        responses[0]["body"][0]["errorCode"], "PROCESSING_HALTED",
        "{out}"
    );

    // A committed change after them, so the file is appended to after the rollbacks.
    let committed = sf
        .create("Case", json!({"Subject": "committed after"}))
        .await;
    assert_eq!(case_number(&sf, &committed).await, "00001006");
    let text = std::fs::read_to_string(&data).unwrap();
    assert!(
        !text.contains("GHOST"),
        "a rolled-back change reached the file"
    );
    stop(sf).await;

    let sf = start_with(config(&data)).await;
    let text = std::fs::read_to_string(&data).unwrap();
    assert!(
        !text.contains("GHOST"),
        "a rolled-back change reached the file"
    );
    for soql in [
        "SELECT Id, Subject FROM Case WHERE Subject LIKE 'GHOST%'",
        "SELECT Id FROM Account WHERE Name LIKE 'GHOST%'",
    ] {
        let v = sf.get(&query_all_path(soql)).await;
        assert_eq!(v["totalSize"], 0, "{soql}: {v}");
    }
    let v = sf.get(&format!("/sobjects/Case/{seeded}")).await;
    assert_eq!(v["CaseNumber"], "00001002", "the delete was rolled back");
    assert_ne!(v["Subject"], "GHOST-edit");
    assert_eq!(
        sf.get(&format!("/sobjects/Case/{committed}")).await["Subject"],
        "committed after"
    );
    assert_eq!(sf.query("SELECT COUNT() FROM Case").await["totalSize"], 6);
    stop(sf).await;
}

#[tokio::test]
async fn a_file_of_another_kind_or_damaged_in_the_middle_is_refused_untouched() {
    let dir = TempDir::new();
    let data = dir.file("org.jsonl");
    let sf = start_with(config(&data)).await;
    sf.create("Case", json!({"Subject": "x"})).await;
    stop(sf).await;

    let text = std::fs::read_to_string(&data).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[3] = "not json at all";
    let damaged = lines.join("\n") + "\n";
    std::fs::write(&data, &damaged).unwrap();
    let err = SalesforceSandbox::start(config(&data))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("damaged at line 4"), "{err}");
    assert_eq!(std::fs::read_to_string(&data).unwrap(), damaged);

    let other = dir.file("other.jsonl");
    std::fs::write(
        &other,
        "{\"twinsync_sandbox\":\"servicenow\",\"format\":1}\n",
    )
    .unwrap();
    let err = SalesforceSandbox::start(config(&other))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not a twinsync salesforce sandbox file"),
        "{err}"
    );
}

#[tokio::test]
async fn reset_rewrites_the_data_file() {
    let dir = TempDir::new();
    let data = dir.file("org.jsonl");
    let sf = start_with(config(&data)).await;
    sf.create("Case", json!({"Subject": "gone after the reset"}))
        .await;
    let r = sf.raw(Method::POST, "/sandbox/reset").send().await.unwrap();
    assert_eq!(r.status(), 204);
    stop(sf).await;
    let sf = start_with(config(&data)).await;
    let v = sf
        .get(&query_all_path(
            "SELECT Id FROM Case WHERE Subject = 'gone after the reset'",
        ))
        .await;
    assert_eq!(v["totalSize"], 0);
    assert_eq!(sf.query("SELECT COUNT() FROM Case").await["totalSize"], 5);
    stop(sf).await;
}
