//! jsforce, the JavaScript client for Salesforce, used unchanged but for its login URL: logs
//! in through SOAP and through the OAuth username-password flow, fetches a query of more than
//! 2000 records, creates, reads, updates, upserts and deletes cases one at a time and through
//! sObject Collections, describes, reads the limits and the identity, re-logs in when its
//! session is revoked, and logs out.
//!
//! Needs `.node` from `scripts/setup-test-deps` (run by `scripts/test` and `.ci/run`) and
//! Node.js (`node` on the PATH, or the binary named by `TWINSYNC_NODE`).

mod sf_common;

use reqwest::Method;
use serde_json::{json, Value};
use sf_common::{all_ids, code, query_all_path, start_with, Sf};
use std::path::PathBuf;
use std::process::Command;
use twinsync_sandbox::salesforce::{CustomFieldSpec, SalesforceConfig};

/// Seeded cases: more than one page of 2000.
const CASES: usize = 2500;

/// `<repo>/.node/node_modules`, which must hold jsforce.
fn node_modules() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.node/node_modules");
    assert!(
        dir.join("jsforce/package.json").exists(),
        "jsforce is not installed in {}: run scripts/setup-test-deps",
        dir.display()
    );
    dir
}

fn node() -> String {
    std::env::var("TWINSYNC_NODE").unwrap_or_else(|_| "node".into())
}

/// A deleted record as `queryAll` still shows it.
async fn deleted_record(sf: &Sf, id: &str) -> Value {
    let (status, body) = sf
        .call(sf.api(
            Method::GET,
            &query_all_path(&format!(
                "SELECT Subject, Status, Description, IsDeleted FROM Case WHERE Id = '{id}'"
            )),
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let rec = body["records"][0].clone();
    assert_eq!(rec["IsDeleted"], true, "{id}: {rec}");
    rec
}

#[tokio::test]
async fn jsforce_works_against_the_sandbox_unchanged() {
    let modules = node_modules();
    let sf = start_with(SalesforceConfig {
        seed_cases: CASES,
        custom_fields: vec![CustomFieldSpec {
            object: "Case".into(),
            name: "External_Key__c".into(),
            ty: "string".into(),
            label: None,
            length: Some(40),
            external_id: true,
            unique: true,
            values: Vec::new(),
            restricted: false,
        }],
        ..Default::default()
    })
    .await;
    let url = sf.url.clone();
    let org = sf.sandbox.state().org_id18();

    // What the client's queries must see, taken before the client changes anything.
    let ordered = all_ids(&sf, "SELECT Id FROM Case ORDER BY CaseNumber").await;
    assert_eq!(ordered.len(), CASES);
    let new_high = all_ids(
        &sf,
        "SELECT Id FROM Case WHERE Status = 'New' AND Priority = 'High' ORDER BY CaseNumber LIMIT 7",
    )
    .await;
    let count_new = sf
        .query("SELECT COUNT() FROM Case WHERE Status = 'New'")
        .await["totalSize"]
        .clone();
    let admin = sf
        .query("SELECT Id FROM User WHERE Username = 'admin@example.com'")
        .await["records"][0]["Id"]
        .as_str()
        .unwrap()
        .to_string();

    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/js/jsforce_client.js");
    let node = node();
    let base = url.clone();
    let started = std::time::Instant::now();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(&node)
            .arg(script)
            .arg(base)
            .env("NODE_PATH", modules)
            .env_remove("JSFORCE_LOG_LEVEL")
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run `{node}` ({e}): install Node.js or set TWINSYNC_NODE")
            })
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "jsforce script failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("jsforce script ran in {:?}", started.elapsed());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let last = stdout.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
    let seen: Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    eprintln!("jsforce {}", seen["jsforce"]);

    // Logins: SOAP, then OAuth; both name the user, the org and the identity URL on the
    // login host, and a wrong password fails with the platform's words.
    let user_info =
        json!({"id": admin, "organizationId": org, "url": format!("{url}/id/{org}/{admin}")});
    assert_eq!(
        seen["soap_login"],
        json!({"userInfo": user_info, "instanceUrl": url})
    );
    assert_eq!(
        seen["oauth_login"],
        json!({"userInfo": user_info, "instanceUrl": url})
    );
    assert_eq!(
        seen["bad_login"]["message"],
        "INVALID_LOGIN: Invalid username, password, security token; or user locked out."
    );
    assert_eq!(seen["bad_oauth"]["name"], "invalid_grant");
    assert_eq!(seen["bad_oauth"]["message"], "authentication failure");
    let identity =
        json!({"user_id": admin, "organization_id": org, "username": "admin@example.com"});
    assert_eq!(seen["soap_identity"], identity);
    let mut oauth_identity = identity.clone();
    oauth_identity["id"] = json!(format!("{url}/id/{org}/{admin}"));
    assert_eq!(seen["oauth_identity"], oauth_identity);
    assert_eq!(seen["oauth_user"], json!(admin));

    // Queries: every page fetched, in the sandbox's order; maxFetch stops part-way; the
    // first page and queryMore agree; the SOQL builder and count.
    let all = &seen["query_all"];
    assert_eq!(all["totalSize"], CASES);
    assert_eq!(all["done"], true);
    assert_eq!(all["ids"], json!(ordered));
    assert_eq!(all["first_attributes"]["type"], "Case");
    assert_eq!(seen["query_capped"]["totalSize"], CASES);
    assert_eq!(seen["query_capped"]["fetched"], 2100);
    assert_eq!(
        seen["query_more"],
        json!({"first": 2000, "first_done": false, "rest": CASES - 2000, "rest_done": true, "same_as_autofetch": true})
    );
    assert_eq!(seen["find"]["ids"], json!(new_high));
    assert_eq!(seen["find"]["statuses"], json!(["New"]));
    assert_eq!(seen["find"]["has_all_fields"], true);
    assert_eq!(seen["count_new"], count_new);

    // Create, read and update one case, then delete it.
    let one = seen["create_one"]["id"].as_str().unwrap();
    assert_eq!(
        seen["create_one"],
        json!({"id": one, "success": true, "errors": []})
    );
    let got = &seen["retrieve_one"];
    assert_eq!(
        got["attributes"],
        json!({"type": "Case", "url": format!("/services/data/v59.0/sobjects/Case/{one}")})
    );
    assert_eq!(got["Subject"], "Created by jsforce");
    assert_eq!(got["Status"], "New");
    assert_eq!(got["Priority"], "High");
    assert_eq!(
        seen["update_one"],
        json!({"id": one, "success": true, "errors": []})
    );
    assert_eq!(
        seen["update_error"]["errorCode"],
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    );
    assert_eq!(
        seen["destroy_one"],
        json!({"id": one, "success": true, "errors": []})
    );
    assert_eq!(seen["retrieve_deleted"]["errorCode"], "ENTITY_IS_DELETED");
    let (status, body) = sf
        .call(sf.api(Method::GET, &format!("/sobjects/Case/{one}")))
        .await;
    assert_eq!((status, code(&body)), (404, "ENTITY_IS_DELETED"));
    let gone = deleted_record(&sf, one).await;
    assert_eq!(gone["Subject"], "Updated by jsforce");
    assert_eq!(gone["Status"], "Working");

    // Several at once through sObject Collections: one invalid record fails alone.
    let many = seen["create_many"].as_array().unwrap();
    assert_eq!(many.len(), 3);
    assert_eq!(many[0]["success"], true);
    assert_eq!(
        many[1],
        json!({"success": false, "errors": [{"statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "message": "Status: bad value for restricted picklist field: Bogus", "fields": ["Status"]}]})
    );
    assert_eq!(many[2]["success"], true);
    let ids = [
        many[0]["id"].as_str().unwrap(),
        many[2]["id"].as_str().unwrap(),
    ];
    assert_eq!(
        seen["retrieve_many"],
        json!([
            {"Id": ids[0], "Subject": "jsforce batch 1"},
            {"Id": ids[1], "Subject": "jsforce batch 3"},
            {"Id": one, "Subject": "Created by jsforce"},
        ])
    );
    let saved = |id: &str| json!({"id": id, "success": true, "errors": []});
    assert_eq!(seen["update_many"], json!([saved(ids[0]), saved(ids[1])]));
    assert_eq!(seen["destroy_many"], json!([saved(ids[0]), saved(ids[1])]));
    for (i, id) in ids.iter().enumerate() {
        let gone = deleted_record(&sf, id).await;
        assert_eq!(
            gone["Description"],
            json!(format!("bulk edit {i} by jsforce"))
        );
    }

    // Upsert by the external id: created, updated, then a batch of an existing and a new key.
    let key1 = seen["upsert_created"]["id"].as_str().unwrap();
    assert_eq!(
        seen["upsert_created"],
        json!({"id": key1, "success": true, "errors": [], "created": true})
    );
    assert_eq!(
        seen["upsert_updated"],
        json!({"id": key1, "success": true, "errors": [], "created": false})
    );
    let batch = seen["upsert_many"].as_array().unwrap();
    assert_eq!(
        batch[0],
        json!({"id": key1, "success": true, "errors": [], "created": false})
    );
    let key2 = batch[1]["id"].as_str().unwrap();
    assert_eq!(
        batch[1],
        json!({"id": key2, "success": true, "errors": [], "created": true})
    );
    let rec = sf.get("/sobjects/Case/External_Key__c/JS-0001").await;
    assert_eq!(rec["Id"], json!(key1));
    assert_eq!(rec["Subject"], "Upserted twice by jsforce");
    assert_eq!(rec["Status"], "Escalated");
    assert_eq!(rec["Priority"], "Low");
    assert_eq!(rec["Origin"], "Phone");
    let rec = sf.get("/sobjects/Case/External_Key__c/JS-0002").await;
    assert_eq!(rec["Id"], json!(key2));
    assert_eq!(rec["Subject"], "Upserted in a batch by jsforce");

    // Describe, as the sandbox describes it; limits and the parsed Sforce-Limit-Info.
    let described = sf.get("/sobjects/Case/describe").await;
    let mut names: Vec<&str> = described["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(seen["describe"]["field_names"], json!(names));
    assert_eq!(seen["describe"]["name"], "Case");
    assert_eq!(seen["describe"]["keyPrefix"], "500");
    assert_eq!(
        seen["describe"]["external_key"],
        json!({"type": "string", "externalId": true, "unique": true})
    );
    assert_eq!(
        seen["describe"]["status_values"],
        json!(["New", "Working", "Escalated", "Closed"])
    );
    assert_eq!(seen["global_has_case"], true);
    let max = SalesforceConfig::default().daily_api_requests;
    assert_eq!(seen["limits_daily"]["Max"], max);
    let remaining = seen["limits_daily"]["Remaining"].as_u64().unwrap();
    assert_eq!(
        seen["limit_info"],
        json!({"apiUsage": {"used": max - remaining, "limit": max}})
    );

    // A revoked session is renewed by jsforce's own re-login; logouts end sessions.
    let count = sf.query("SELECT COUNT() FROM Case").await["totalSize"].clone();
    assert_eq!(count, CASES + 2, "seeded plus the two upserted cases");
    assert_eq!(seen["refreshed_count"], count);
    assert_eq!(seen["refreshed_new_token"], true);
    assert_eq!(
        seen["after_logout"]["errorCode"], "INVALID_SESSION_ID",
        "{}",
        seen["after_logout"]
    );
    assert_eq!(
        seen["after_oauth_logout"]["errorCode"], "INVALID_SESSION_ID",
        "{}",
        seen["after_oauth_logout"]
    );

    // The client really used each API.
    let (_, stats) = sf.admin(Method::GET, "/sandbox/stats", None).await;
    for resource in [
        "soap",
        "oauth",
        "query",
        "Case",
        "composite",
        "describe",
        "limits",
    ] {
        assert!(
            stats["by_resource"].get(resource).is_some(),
            "{resource} unused: {stats}"
        );
    }
}
