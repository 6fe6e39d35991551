//! simple-salesforce, the Python client for Salesforce, used unchanged but for its login URL:
//! logs in through SOAP (and through the OAuth username-password flow), pages through a query
//! of more than 2000 records, creates, reads, updates, upserts by an external id and deletes a
//! case, describes, reads the limits, and re-logs in when its session is revoked.
//!
//! simple-salesforce speaks only https to the instance, so this also proves the TLS mode.
//! Needs `.venv` from `scripts/setup-test-deps` (run by `scripts/test` and `.ci/run`), or a
//! Python with simple-salesforce named by `TWINSYNC_PYTHON`.

mod sf_common;

use reqwest::Method;
use serde_json::{json, Value};
use sf_common::{all_ids, code, password_login, query_all_path, Sf, V};
use std::path::PathBuf;
use std::process::Command;
use twinsync_sandbox::common::tls::TlsMaterial;
use twinsync_sandbox::salesforce::{CustomFieldSpec, SalesforceConfig, SalesforceSandbox};

/// Seeded cases: more than one page of 2000.
const CASES: usize = 2500;

fn python() -> PathBuf {
    if let Ok(p) = std::env::var("TWINSYNC_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    assert!(
        venv.exists(),
        "simple-salesforce is not installed: run scripts/setup-test-deps (or set TWINSYNC_PYTHON to a Python with simple-salesforce)"
    );
    venv
}

#[tokio::test]
async fn simple_salesforce_works_against_the_sandbox_unchanged() {
    let cert = std::env::temp_dir().join(format!("twinsync-simple-sf-{}.crt", std::process::id()));
    let sandbox = SalesforceSandbox::start(SalesforceConfig {
        tls: Some(TlsMaterial::self_signed(&cert).unwrap()),
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
    .await
    .unwrap();
    let url = sandbox.base_url().to_string();
    assert!(url.starts_with("https://"), "{url}");
    let host = url.trim_start_matches("https://").to_string();

    // The sandbox's own view, through a client trusting its CA.
    twinsync_sandbox::common::ensure_crypto_provider();
    let pem = std::fs::read(&cert).unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .build()
        .unwrap();
    let token = password_login(&client, &url, "admin@example.com", "admin")
        .await
        .unwrap();
    let sf = Sf {
        sandbox,
        url: url.clone(),
        client,
        token,
    };

    // What the client's queries must see, taken before the client changes anything.
    let ordered = all_ids(&sf, "SELECT Id FROM Case ORDER BY CaseNumber").await;
    assert_eq!(ordered.len(), CASES);
    let filtered = sf
        .query("SELECT COUNT() FROM Case WHERE Status = 'New' AND Priority != 'Low'")
        .await["totalSize"]
        .clone();
    let last_number = sf
        .query("SELECT CaseNumber FROM Case ORDER BY CaseNumber DESC LIMIT 1")
        .await["records"][0]["CaseNumber"]
        .as_str()
        .unwrap()
        .parse::<u64>()
        .unwrap();
    let admin_id = sf
        .query("SELECT Id FROM User WHERE Username = 'admin@example.com'")
        .await["records"][0]["Id"]
        .clone();

    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/simple_salesforce_client.py");
    let python = python();
    let cert_arg = cert.clone();
    let base = url.clone();
    let started = std::time::Instant::now();
    let output = tokio::task::spawn_blocking(move || {
        // requests lets these variables override the session's `verify`; clear them so the
        // client trusts exactly the sandbox's CA.
        Command::new(python)
            .arg(script)
            .arg(base)
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
        "simple-salesforce script failed (if it is missing, run scripts/setup-test-deps):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("simple-salesforce script ran in {:?}", started.elapsed());
    let seen: Value = serde_json::from_slice(&output.stdout).unwrap();

    // Logins: SOAP through SalesforceLogin's scratch_url, and Salesforce() itself (SOAP and
    // OAuth) through the rewritten login host; all land on the sandbox's https instance.
    assert_eq!(seen["soap_instance"], json!(host));
    assert_eq!(seen["base_url"], json!(format!("{url}/services/data/{V}/")));
    assert_eq!(seen["soap_ctor_instance"], json!(host));
    assert_eq!(seen["oauth_instance"], json!(host));
    assert_eq!(seen["oauth_user"], admin_id);
    assert_eq!(seen["bad_login"]["code"], "INVALID_LOGIN", "{seen}");
    assert_eq!(
        seen["bad_login"]["message"],
        "Invalid username, password, security token; or user locked out."
    );
    assert_eq!(
        seen["bad_oauth"],
        json!({"code": "invalid_grant", "message": "authentication failure"})
    );

    // Paging: 2000 then 500, by nextRecordsUrl and by bare locator, in the sandbox's order.
    let first = &seen["query_first"];
    assert_eq!(first["totalSize"], CASES);
    assert_eq!(first["done"], false);
    assert_eq!(first["records"], 2000);
    assert_eq!(first["first_type"], "Case");
    assert!(first["nextRecordsUrl"]
        .as_str()
        .unwrap()
        .starts_with(&format!("/services/data/{V}/query/")));
    assert_eq!(seen["query_more"]["done"], true);
    assert_eq!(seen["query_more"]["records"], CASES - 2000);
    assert_eq!(seen["query_more_by_locator_same"], true);
    assert_eq!(seen["query_pages_ids"], json!(ordered));
    assert_eq!(seen["query_all"]["totalSize"], CASES);
    assert_eq!(seen["query_all"]["done"], true);
    assert_eq!(seen["query_all"]["ids"], json!(ordered));
    assert_eq!(seen["query_filtered_total"], filtered);

    // The created case: read back as created, updated, then deleted.
    let created = &seen["created"];
    let id = created["id"].as_str().unwrap();
    assert_eq!(created, &json!({"id": id, "success": true, "errors": []}));
    assert!(id.starts_with("500") && id.len() == 18, "{id}");
    let got = &seen["got"];
    assert_eq!(
        got["attributes"],
        json!({"type": "Case", "url": format!("/services/data/{V}/sobjects/Case/{id}")})
    );
    assert_eq!(got["Id"], json!(id));
    assert_eq!(got["Subject"], "Created by simple-salesforce");
    assert_eq!(got["Status"], "New", "the picklist default");
    assert_eq!(got["Priority"], "High");
    assert_eq!(
        got["Description"],
        "first line\nsecond line, with \u{e9} and \"quotes\""
    );
    assert_eq!(got["CaseNumber"], json!(format!("{:08}", last_number + 1)));
    assert_eq!(seen["updated_status"], 204);
    assert_eq!(seen["got_after_update"], "Working");
    assert_eq!(seen["deleted_status"], 204);
    assert_eq!(
        seen["get_deleted"],
        json!({"error": "SalesforceResourceNotFound", "status": 404, "errorCode": "ENTITY_IS_DELETED"})
    );
    let (status, body) = sf
        .call(sf.api(Method::GET, &format!("/sobjects/Case/{id}")))
        .await;
    assert_eq!((status, code(&body)), (404, "ENTITY_IS_DELETED"));
    let (status, gone) = sf
        .call(sf.api(
            Method::GET,
            &query_all_path(&format!(
                "SELECT Subject, Status, IsDeleted FROM Case WHERE Id = '{id}'"
            )),
        ))
        .await;
    assert_eq!(status, 200, "{gone}");
    let gone = &gone["records"][0];
    assert_eq!(gone["Subject"], "Updated by simple-salesforce");
    assert_eq!(gone["Status"], "Working");
    assert_eq!(gone["IsDeleted"], true);

    // Upsert by the external id: 201 created, then 200 with created=false (v46+).
    assert_eq!(seen["upsert_created_status"], 201);
    assert_eq!(seen["upsert_updated_status"], 200);
    let upserted = seen["upsert_id"].as_str().unwrap();
    assert_eq!(
        seen["upsert_raw"],
        json!({"status": 200, "body": {"id": upserted, "success": true, "errors": [], "created": false}})
    );
    let rec = sf.get(&format!("/sobjects/Case/{upserted}")).await;
    assert_eq!(rec["External_Key__c"], "SS-0001");
    assert_eq!(rec["Subject"], "Upserted twice");
    assert_eq!(rec["Status"], "Escalated");
    assert_eq!(rec["Priority"], "Low");
    assert_eq!(rec["Origin"], "Phone");
    let by_key = sf.get("/sobjects/Case/External_Key__c/SS-0001").await;
    assert_eq!(by_key["Id"], json!(upserted));
    assert_eq!(
        seen["upsert_missing_field"],
        json!({"error": "SalesforceResourceNotFound", "status": 404, "errorCode": "NOT_FOUND"})
    );
    assert_eq!(
        seen["update_bad_field"],
        json!({"error": "SalesforceMalformedRequest", "status": 400, "errorCode": "INVALID_FIELD"})
    );

    // Describe, as the sandbox describes it.
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
        json!({"type": "string", "externalId": true, "idLookup": true, "unique": true, "custom": true})
    );
    assert_eq!(seen["metadata_name"], "Case");
    assert_eq!(seen["global_has_case"], true);

    // Limits, and the usage parsed from the Sforce-Limit-Info header of the same answer.
    let daily = &seen["limits_daily"];
    let max = SalesforceConfig::default().daily_api_requests;
    assert_eq!(daily["Max"], max);
    let remaining = daily["Remaining"].as_u64().unwrap();
    assert_eq!(seen["api_usage"]["total"], max);
    assert_eq!(seen["api_usage"]["used"], max - remaining);
    let now = sf.get("/limits").await;
    assert!(now["DailyApiRequests"]["Remaining"].as_u64().unwrap() < remaining);

    // The revoked OAuth session: the client logged in again; a bare session id cannot.
    let count = sf.query("SELECT COUNT() FROM Case").await["totalSize"].clone();
    assert_eq!(count, CASES + 1, "seeded plus the upserted case");
    assert_eq!(seen["soap_ctor_count"], count);
    assert_eq!(seen["refreshed_count"], count);
    assert_eq!(seen["refreshed_new_session"], true);
    assert_eq!(
        seen["revoked_direct"],
        json!({"error": "SalesforceExpiredSession", "status": 401, "errorCode": "INVALID_SESSION_ID"})
    );

    // The client really used each API.
    let (_, stats) = sf.admin(Method::GET, "/sandbox/stats", None).await;
    for resource in ["soap", "oauth", "query", "Case", "describe", "limits"] {
        assert!(
            stats["by_resource"].get(resource).is_some(),
            "{resource} unused: {stats}"
        );
    }
    let _ = std::fs::remove_file(&cert);
}
