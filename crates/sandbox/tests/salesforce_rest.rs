//! The sObject REST API: describe, CRUD with the platform's checks and errors, 15/18-char
//! ids, upsert by external id, files, replication calls and limits, over HTTP.

mod sf_common;

use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};
use sf_common::{code, start, start_with, Sf};
use twinsync_sandbox::salesforce::{CustomFieldSpec, SalesforceConfig};

fn external_key(unique: bool) -> CustomFieldSpec {
    CustomFieldSpec {
        object: "Case".into(),
        name: "External_Key__c".into(),
        ty: "string".into(),
        label: None,
        length: None,
        external_id: true,
        unique,
        values: Vec::new(),
        restricted: false,
    }
}

async fn with_external(unique: bool) -> Sf {
    start_with(SalesforceConfig {
        seed_cases: 5,
        custom_fields: vec![external_key(unique)],
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn describe_lists_objects_fields_picklists_and_relationships() {
    let sf = with_external(true).await;
    let global = sf.get("/sobjects").await;
    assert_eq!(global["maxBatchSize"], 200);
    let names: Vec<&str> = global["sobjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    for want in [
        "Case",
        "CaseComment",
        "Task",
        "Account",
        "Contact",
        "Opportunity",
        "Product2",
        "User",
        "ContentVersion",
        "ContentDocument",
        "ContentDocumentLink",
    ] {
        assert!(names.contains(&want), "{want} in {names:?}");
    }
    let case = global["sobjects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "Case")
        .unwrap();
    assert_eq!(case["keyPrefix"], "500");

    let d = sf.get("/sobjects/case/describe").await;
    assert_eq!(d["name"], "Case", "object names ignore case");
    let field = |name: &str| {
        d["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("field {name}"))
    };
    let status = field("Status");
    assert_eq!(status["type"], "picklist");
    assert_eq!(status["restrictedPicklist"], true);
    let values: Vec<&str> = status["picklistValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["New", "Working", "Escalated", "Closed"]);
    assert_eq!(field("AccountId")["referenceTo"], json!(["Account"]));
    assert_eq!(field("AccountId")["relationshipName"], "Account");
    assert_eq!(field("CaseNumber")["autoNumber"], true);
    assert_eq!(field("IsClosed")["updateable"], false);
    let ext = field("External_Key__c");
    assert_eq!(
        (
            ext["externalId"].clone(),
            ext["custom"].clone(),
            ext["idLookup"].clone()
        ),
        (json!(true), json!(true), json!(true))
    );
    let comments = d["childRelationships"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["relationshipName"] == "CaseComments")
        .unwrap();
    assert_eq!(comments["childSObject"], "CaseComment");
    assert_eq!(comments["field"], "ParentId");

    let (status, body) = sf
        .call(sf.api(Method::GET, "/sobjects/Nope/describe"))
        .await;
    assert_eq!((status, code(&body)), (404, "NOT_FOUND"));
}

#[tokio::test]
async fn create_read_update_delete_a_case() {
    let sf = start(2).await;
    let id = sf
        .create(
            "Case",
            json!({"Subject": "Printer on fire", "Priority": "High", "Origin": "Web"}),
        )
        .await;
    assert_eq!(id.len(), 18);
    assert!(id.starts_with("500"));
    let case = sf.get(&format!("/sobjects/Case/{id}")).await;
    assert_eq!(
        case["attributes"],
        json!({"type": "Case", "url": format!("/services/data/v59.0/sobjects/Case/{id}")})
    );
    assert_eq!(case["Id"], json!(id));
    assert_eq!(case["Status"], "New", "picklist default");
    assert_eq!(case["IsClosed"], false);
    assert_eq!(
        case["CaseNumber"], "00001003",
        "numbers continue after the seeded cases"
    );
    let created = case["CreatedDate"].as_str().unwrap();
    assert!(
        created.ends_with(".000+0000") || created.len() == 28,
        "{created}"
    );
    assert!(case["OwnerId"].as_str().unwrap().starts_with("005"));
    assert_eq!(case["CreatedById"], case["LastModifiedById"]);

    // 15-character ids and case-insensitive 18-character ids address the same record.
    let fifteen = &id[..15];
    let by15 = sf
        .get(&format!("/sobjects/Case/{fifteen}?fields=Subject"))
        .await;
    assert_eq!(by15["Subject"], "Printer on fire");
    assert_eq!(
        by15.as_object().unwrap().len(),
        3,
        "attributes, Id and the asked field: {by15}"
    );
    let lower = sf
        .get(&format!("/sobjects/Case/{}", id.to_lowercase()))
        .await;
    assert_eq!(lower["Id"], json!(id));

    let (status, body) = sf
        .call(
            sf.api(Method::PATCH, &format!("/sobjects/Case/{id}"))
                .json(&json!({"Status": "Closed", "Description": "put out"})),
        )
        .await;
    assert_eq!((status, body), (204, Value::Null));
    let case = sf.get(&format!("/sobjects/Case/{id}")).await;
    assert_eq!(case["IsClosed"], true, "derived from Status");
    assert!(case["ClosedDate"].is_string());
    assert!(case["SystemModstamp"].as_str().unwrap() >= created);

    let (status, _) = sf
        .call(sf.api(Method::DELETE, &format!("/sobjects/Case/{id}")))
        .await;
    assert_eq!(status, 204);
    let (status, body) = sf
        .call(sf.api(Method::GET, &format!("/sobjects/Case/{id}")))
        .await;
    assert_eq!((status, code(&body)), (404, "ENTITY_IS_DELETED"));
    let (status, body) = sf
        .call(
            sf.api(Method::PATCH, &format!("/sobjects/Case/{id}"))
                .json(&json!({"Subject": "x"})),
        )
        .await;
    assert_eq!((status, code(&body)), (404, "ENTITY_IS_DELETED"));
}

#[tokio::test]
async fn writes_are_checked_like_the_platform_checks_them() {
    let sf = start(1).await;
    let post = |body: Value| sf.call(sf.api(Method::POST, "/sobjects/Case").json(&body));
    let (status, body) = post(json!({"Subject": "x", "Nope__c": 1})).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!([{"message": "No such column 'Nope__c' on sobject of type Case", "errorCode": "INVALID_FIELD"}])
    );
    let (_, body) = post(json!({"Subject": "x", "Status": "Bogus"})).await;
    assert_eq!(
        body,
        json!([{"message": "Status: bad value for restricted picklist field: Bogus", "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "fields": ["Status"]}])
    );
    // Unrestricted picklists take any value, as on the platform.
    let (status, _) = post(json!({"Subject": "x", "Origin": "Carrier pigeon"})).await;
    assert_eq!(status, 201);
    let (_, body) = post(json!({"Subject": "x", "CaseNumber": "1"})).await;
    assert_eq!(code(&body), "INVALID_FIELD_FOR_INSERT_UPDATE");
    assert_eq!(body[0]["fields"], json!(["CaseNumber"]));
    let (_, body) = post(json!({"Subject": "x".repeat(256)})).await;
    assert_eq!(code(&body), "STRING_TOO_LONG");
    let (_, body) = post(json!({"Subject": "x", "IsEscalated": "maybe"})).await;
    assert_eq!(code(&body), "JSON_PARSER_ERROR");
    let (_, body) = post(json!({"Subject": "x", "AccountId": "nonsense"})).await;
    assert_eq!(code(&body), "MALFORMED_ID");
    let user = sf.query("SELECT Id FROM User LIMIT 1").await["records"][0]["Id"].clone();
    let (_, body) = post(json!({"Subject": "x", "AccountId": user})).await;
    assert_eq!(code(&body), "FIELD_INTEGRITY_EXCEPTION");
    let (status, body) = sf
        .call(
            sf.api(Method::POST, "/sobjects/Case")
                .header("Content-Type", "application/json")
                .body("{\"Subject\": "),
        )
        .await;
    assert_eq!((status, code(&body)), (400, "JSON_PARSER_ERROR"));
    let (_, body) = sf.call(sf.api(Method::POST, "/sobjects/Case")).await;
    assert_eq!(
        body[0]["message"],
        "The HTTP entity body is required, but this request has no entity body."
    );

    // Required fields.
    let (_, body) = sf
        .call(
            sf.api(Method::POST, "/sobjects/Opportunity")
                .json(&json!({"Name": "Deal"})),
        )
        .await;
    assert_eq!(
        body,
        json!([{"message": "Required fields are missing: [StageName, CloseDate]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["StageName", "CloseDate"]}])
    );
    let (_, body) = sf
        .call(
            sf.api(Method::POST, "/sobjects/CaseComment")
                .json(&json!({"CommentBody": "orphan"})),
        )
        .await;
    assert_eq!(code(&body), "REQUIRED_FIELD_MISSING");

    // Ids in URLs.
    let (status, body) = sf.call(sf.api(Method::GET, "/sobjects/Case/xyz")).await;
    assert_eq!(
        (status, body[0]["message"].as_str()),
        (
            404,
            Some("Provided external ID field does not exist or is not accessible: xyz")
        )
    );
    let (status, body) = sf
        .call(sf.api(Method::GET, "/sobjects/Account/5005g000000000AAAA"))
        .await;
    assert_eq!((status, code(&body)), (400, "MALFORMED_ID"));
    let (status, body) = sf
        .call(sf.api(Method::GET, "/sobjects/Case/5005g0000000zzzAAA"))
        .await;
    assert_eq!((status, code(&body)), (404, "NOT_FOUND"));
    let (status, body) = sf
        .call(sf.api(Method::PUT, "/sobjects/Case/5005g0000000zzzAAA"))
        .await;
    assert_eq!((status, code(&body)), (405, "METHOD_NOT_ALLOWED"));
    let (status, body) = sf.call(sf.api(Method::GET, "/nowhere")).await;
    assert_eq!((status, code(&body)), (404, "NOT_FOUND"));
    let (status, body) = sf.call(sf.raw(Method::POST, "/services/data/")).await;
    assert_eq!((status, code(&body)), (405, "METHOD_NOT_ALLOWED"));
}

#[tokio::test]
async fn upsert_by_external_id_creates_then_updates() {
    let sf = with_external(true).await;
    let path = "/sobjects/Case/External_Key__c/SN-INC0010001";
    let (status, created) = sf
        .call(
            sf.api(Method::PATCH, path)
                .json(&json!({"Subject": "from ServiceNow"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["created"], true);
    let id = created["id"].as_str().unwrap().to_string();
    let (status, updated) = sf
        .call(
            sf.api(Method::PATCH, path)
                .json(&json!({"Subject": "changed"})),
        )
        .await;
    assert_eq!(
        (status, updated),
        (
            200,
            json!({"id": id, "success": true, "errors": [], "created": false})
        )
    );
    // Before v46 an update answers 204.
    let (status, _) = sf
        .call(
            sf.client
                .patch(format!("{}/services/data/v45.0{path}", sf.url))
                .bearer_auth(&sf.token)
                .json(&json!({"Subject": "old client"})),
        )
        .await;
    assert_eq!(status, 204);
    let by_key = sf.get(path).await;
    assert_eq!(
        (by_key["Id"].as_str(), by_key["Subject"].as_str()),
        (Some(id.as_str()), Some("old client"))
    );
    // Unique: a second record may not take the same key.
    let (_, body) = sf
        .call(
            sf.api(Method::POST, "/sobjects/Case")
                .json(&json!({"Subject": "dup", "External_Key__c": "SN-INC0010001"})),
        )
        .await;
    assert_eq!(code(&body), "DUPLICATE_VALUE");
    let (status, body) = sf
        .call(
            sf.api(Method::PATCH, "/sobjects/Case/Subject/abc")
                .json(&json!({})),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (404, "NOT_FOUND"),
        "not an external-id field"
    );

    // Values are percent-decoded path segments; `&` and `+` stay literal.
    let (status, _) = sf
        .call(
            sf.api(Method::PATCH, "/sobjects/Case/External_Key__c/A%26B%20C+D")
                .json(&json!({"Subject": "odd key"})),
        )
        .await;
    assert_eq!(status, 201);
    let odd = sf
        .query("SELECT External_Key__c FROM Case WHERE Subject = 'odd key'")
        .await;
    assert_eq!(odd["records"][0]["External_Key__c"], "A&B C+D");
    let (status, _) = sf
        .call(
            sf.api(Method::PATCH, "/sobjects/Case/External_Key__c/A&B%20C+D")
                .json(&json!({"Subject": "same key"})),
        )
        .await;
    assert_eq!(status, 200, "a raw & in the path is the same value");

    // A non-unique external id matching two records answers 300 with their URLs.
    let sf = with_external(false).await;
    for _ in 0..2 {
        sf.create("Case", json!({"Subject": "twin", "External_Key__c": "K1"}))
            .await;
    }
    let (status, body) = sf
        .call(
            sf.api(Method::PATCH, "/sobjects/Case/External_Key__c/K1")
                .json(&json!({"Subject": "which?"})),
        )
        .await;
    assert_eq!(status, 300);
    assert_eq!(body.as_array().unwrap().len(), 2);
    assert!(body[0]
        .as_str()
        .unwrap()
        .starts_with("/services/data/v59.0/sobjects/Case/500"));
}

#[tokio::test]
async fn files_upload_as_content_versions_and_download_byte_exact() {
    let sf = start(1).await;
    let case = sf.query("SELECT Id FROM Case LIMIT 1").await["records"][0]["Id"]
        .as_str()
        .unwrap()
        .to_string();
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
    let version = sf
        .create(
            "ContentVersion",
            json!({"Title": "logs", "PathOnClient": "logs.bin", "VersionData": b64, "FirstPublishLocationId": case}),
        )
        .await;
    assert!(version.starts_with("068"));
    let meta = sf.get(&format!("/sobjects/ContentVersion/{version}")).await;
    assert_eq!(meta["ContentSize"], 70_000);
    assert_eq!(meta["FileExtension"], "bin");
    assert_eq!(
        meta["VersionData"],
        json!(format!(
            "/services/data/v59.0/sobjects/ContentVersion/{version}/VersionData"
        ))
    );
    let doc = meta["ContentDocumentId"].as_str().unwrap().to_string();
    assert!(doc.starts_with("069"));
    let r = sf
        .api(
            Method::GET,
            &format!("/sobjects/ContentVersion/{version}/VersionData"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().to_vec(), bytes);
    let links = sf
        .query(&format!("SELECT ContentDocumentId, ContentDocument.Title, ShareType FROM ContentDocumentLink WHERE LinkedEntityId = '{case}'"))
        .await;
    assert_eq!(links["totalSize"], 1);
    assert_eq!(links["records"][0]["ContentDocumentId"], json!(doc));
    assert_eq!(links["records"][0]["ContentDocument"]["Title"], "logs");
    // Deleting the case takes its links (but not the document) with it.
    sf.call(sf.api(Method::DELETE, &format!("/sobjects/Case/{case}")))
        .await;
    let links = sf
        .query(&format!(
            "SELECT Id FROM ContentDocumentLink WHERE ContentDocumentId = '{doc}'"
        ))
        .await;
    assert_eq!(links["totalSize"], 0);
    let (status, body) = sf
        .call(sf.api(
            Method::DELETE,
            &format!("/sobjects/ContentVersion/{version}"),
        ))
        .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn updated_and_deleted_report_the_window() {
    // A data file with a deletion five minutes ago: the current minute is never covered, so
    // only changes from earlier minutes can show in a window.
    let dir = std::env::temp_dir().join(format!("twinsync-sf-window-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("org.jsonl");
    let config = SalesforceConfig {
        seed_cases: 3,
        data: Some(data.clone()),
        ..Default::default()
    };
    let sf = start_with(config.clone()).await;
    let seeded: Vec<String> = sf.query("SELECT Id FROM Case ORDER BY CaseNumber").await["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Id"].as_str().unwrap().to_string())
        .collect();
    sf.sandbox.shutdown().await;
    let five_ago = (chrono::Utc::now() - chrono::Duration::minutes(5))
        .format("%Y-%m-%dT%H:%M:%S.000+0000")
        .to_string();
    let gone = &seeded[2];
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&data)
        .unwrap();
    use std::io::Write;
    writeln!(
        file,
        "{}",
        json!({"op": "delete", "object": "Case", "id": gone, "at": five_ago})
    )
    .unwrap();
    drop(file);
    let sf = start_with(config).await;
    let fresh = sf.create("Case", json!({"Subject": "this minute"})).await;

    let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let start = chrono::Utc::now() - chrono::Duration::days(25);
    let end = chrono::Utc::now() + chrono::Duration::minutes(2);
    let q = format!("?start={}&end={}", fmt(start), fmt(end));
    let updated = sf.get(&format!("/sobjects/Case/updated/{q}")).await;
    let ids: Vec<&str> = updated["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&seeded[0].as_str()),
        "seeded cases changed within the window"
    );
    assert!(
        !ids.contains(&gone.as_str()),
        "deleted records are reported by deleted/"
    );
    assert!(
        !ids.contains(&fresh.as_str()),
        "the current minute is not covered yet"
    );
    let covered = updated["latestDateCovered"].as_str().unwrap();
    assert!(covered.ends_with(":00.000+0000"), "to the minute");
    let now = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S.000+0000")
        .to_string();
    assert!(
        covered <= now.as_str(),
        "never past the current minute: {covered} > {now}"
    );

    let recent = format!(
        "?start={}&end={}",
        fmt(chrono::Utc::now() - chrono::Duration::days(1)),
        fmt(end)
    );
    let deleted = sf.get(&format!("/sobjects/Case/deleted/{recent}")).await;
    assert_eq!(
        deleted["deletedRecords"],
        json!([{"id": gone, "deletedDate": five_ago}])
    );
    assert!(deleted["earliestDateAvailable"].is_string());
    let (status, body) = sf
        .call(sf.api(Method::GET, "/sobjects/Case/updated/?start=yesterday"))
        .await;
    assert_eq!(status, 400, "{body}");
    let old = fmt(chrono::Utc::now() - chrono::Duration::days(40));
    let (status, body) = sf
        .call(sf.api(
            Method::GET,
            &format!("/sobjects/Case/updated/?start={old}&end={}", fmt(end)),
        ))
        .await;
    assert_eq!((status, code(&body)), (400, "INVALID_REPLICATION_DATE"));
    sf.sandbox.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn every_call_reports_usage_and_the_daily_limit_is_enforced() {
    let sf = start_with(SalesforceConfig {
        seed_cases: 1,
        daily_api_requests: 5,
        ..Default::default()
    })
    .await;
    for n in 1..=5 {
        let r = sf.api(Method::GET, "/limits").send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()["sforce-limit-info"],
            format!("api-usage={n}/5").as_str()
        );
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body["DailyApiRequests"],
            json!({"Max": 5, "Remaining": 5 - n})
        );
    }
    let (status, body) = sf.call(sf.api(Method::GET, "/limits")).await;
    assert_eq!(status, 403);
    assert_eq!(
        body,
        json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    );
    // The token endpoint is not metered; raising the limit lets calls through again.
    assert!(
        sf_common::password_login(&sf.client, &sf.url, "admin@example.com", "admin")
            .await
            .is_ok()
    );
    sf.admin(
        Method::PUT,
        "/sandbox/limits",
        Some(json!({"daily_api_requests": 10})),
    )
    .await;
    let (status, _) = sf.call(sf.api(Method::GET, "/limits")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn every_standard_object_can_be_created_and_read() {
    let sf = start(0).await;
    let account = sf
        .create(
            "Account",
            json!({"Name": "Objects Inc", "Industry": "Energy"}),
        )
        .await;
    let contact = sf
        .create(
            "Contact",
            json!({"FirstName": "Grace", "LastName": "Hopper", "AccountId": account}),
        )
        .await;
    let contact_row = sf.get(&format!("/sobjects/Contact/{contact}")).await;
    assert_eq!(contact_row["Name"], "Grace Hopper", "derived full name");
    let opp = sf
        .create(
            "Opportunity",
            json!({"Name": "Big deal", "StageName": "Closed Won", "CloseDate": "2026-12-01", "AccountId": account, "Amount": 1500.5}),
        )
        .await;
    let opp_row = sf.get(&format!("/sobjects/Opportunity/{opp}")).await;
    assert_eq!(
        (opp_row["IsClosed"].clone(), opp_row["IsWon"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(opp_row["Amount"], 1500.5);
    let task = sf
        .create("Task", json!({"Subject": "Call", "WhatId": opp, "WhoId": contact, "Status": "Completed", "ActivityDate": "2026-11-30"}))
        .await;
    let task_row = sf.get(&format!("/sobjects/Task/{task}")).await;
    assert_eq!(task_row["IsClosed"], true);
    assert_eq!(task_row["Priority"], "Normal");
    let product = sf
        .create("Product2", json!({"Name": "X300", "IsActive": true}))
        .await;
    assert!(product.starts_with("01t"));
    let user = sf
        .create(
            "User",
            json!({"Username": "new@example.com", "LastName": "New", "Email": "new@example.com"}),
        )
        .await;
    let user_row = sf.get(&format!("/sobjects/User/{user}")).await;
    assert_eq!(user_row["IsActive"], true);
    // Users cannot be deleted (they are deactivated on the platform).
    let (status, body) = sf
        .call(sf.api(Method::DELETE, &format!("/sobjects/User/{user}")))
        .await;
    assert_eq!((status, code(&body)), (400, "DELETE_FAILED"));
    // A checkbox set to null is unchecked, never null.
    let case = sf
        .create("Case", json!({"Subject": "flags", "IsEscalated": true}))
        .await;
    sf.call(
        sf.api(Method::PATCH, &format!("/sobjects/Case/{case}"))
            .json(&json!({"IsEscalated": null})),
    )
    .await;
    assert_eq!(
        sf.get(&format!("/sobjects/Case/{case}?fields=IsEscalated"))
            .await["IsEscalated"],
        false
    );
    // Task relationships resolve through the polymorphic WhatId to its first target only.
    let tasks = sf
        .query(&format!("SELECT Subject, Who.Name FROM Task WHERE WhatId = '{opp}' AND ActivityDate >= 2026-11-01 AND ActivityDate <= THIS_YEAR"))
        .await;
    assert_eq!(tasks["records"][0]["Who"]["Name"], "Grace Hopper");
}

#[tokio::test]
async fn upserts_match_numbers_by_value_and_ids_never_create() {
    let sf = start_with(SalesforceConfig {
        seed_cases: 0,
        custom_fields: vec![CustomFieldSpec {
            object: "Case".into(),
            name: "Ticket_No__c".into(),
            ty: "double".into(),
            label: None,
            length: None,
            external_id: true,
            unique: true,
            values: Vec::new(),
            restricted: false,
        }],
        ..Default::default()
    })
    .await;
    let (status, first) = sf
        .call(
            sf.api(Method::PATCH, "/sobjects/Case/Ticket_No__c/123")
                .json(&json!({"Subject": "n"})),
        )
        .await;
    assert_eq!(status, 201, "{first}");
    for key in ["123", "123.0", "0123"] {
        let (status, again) = sf
            .call(
                sf.api(Method::PATCH, &format!("/sobjects/Case/Ticket_No__c/{key}"))
                    .json(&json!({"Subject": key})),
            )
            .await;
        assert_eq!(status, 200, "{key}: {again}");
        assert_eq!(again["id"], first["id"]);
    }
    assert_eq!(sf.query("SELECT COUNT() FROM Case").await["totalSize"], 1);
    let (_, body) = sf
        .call(
            sf.api(Method::POST, "/sobjects/Case")
                .json(&json!({"Subject": "dup", "Ticket_No__c": 123})),
        )
        .await;
    assert_eq!(
        code(&body),
        "DUPLICATE_VALUE",
        "uniqueness holds for numbers too"
    );
    let (status, _) = sf
        .call(
            sf.api(Method::PATCH, "/sobjects/Case/Id/5005g0000000zzzAAA")
                .json(&json!({"Subject": "ghost"})),
        )
        .await;
    assert_eq!(status, 404, "upsert by Id only updates");
    assert_eq!(sf.query("SELECT COUNT() FROM Case").await["totalSize"], 1);

    // Concurrent upserts of one new key make one record.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let rb = sf
            .api(Method::PATCH, "/sobjects/Case/Ticket_No__c/777")
            .json(&json!({"Subject": format!("race {i}")}));
        tasks.push(tokio::spawn(async move {
            rb.send().await.unwrap().status().as_u16()
        }));
    }
    let mut created = 0;
    for t in tasks {
        let status = t.await.unwrap();
        assert!(status == 201 || status == 200, "{status}");
        created += usize::from(status == 201);
    }
    assert_eq!(created, 1);
    assert_eq!(
        sf.query("SELECT COUNT() FROM Case WHERE Ticket_No__c = 777")
            .await["totalSize"],
        1
    );
}
