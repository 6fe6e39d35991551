//! `composite/sobjects` and `composite`: batched writes with partial failures, all-or-none
//! rollback, retrieve by ids, and chained subrequests with references.

mod sf_common;

use reqwest::Method;
use serde_json::{json, Value};
use sf_common::{code, start};

#[tokio::test]
async fn collections_create_with_partial_failure_and_all_or_none() {
    let sf = start(0).await;
    let body = |all: bool| {
        json!({"allOrNone": all, "records": [
            {"attributes": {"type": "Case"}, "Subject": "one"},
            {"attributes": {"type": "Case"}, "Subject": "two", "Status": "Bogus"},
            {"attributes": {"type": "Account"}, "Name": "Three Inc"},
        ]})
    };
    let (status, out) = sf
        .call(
            sf.api(Method::POST, "/composite/sobjects")
                .json(&body(false)),
        )
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out[0]["success"], true);
    assert!(out[0]["id"].as_str().unwrap().starts_with("500"));
    assert_eq!(
        out[1],
        json!({"success": false, "errors": [{"statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "message": "Status: bad value for restricted picklist field: Bogus", "fields": ["Status"]}]})
    );
    assert!(out[2]["id"].as_str().unwrap().starts_with("001"));
    assert_eq!(sf.query("SELECT COUNT() FROM Case").await["totalSize"], 1);

    let (status, out) = sf
        .call(
            sf.api(Method::POST, "/composite/sobjects")
                .json(&body(true)),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        out[0]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert_eq!(
        out[1]["errors"][0]["statusCode"],
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    );
    assert_eq!(out[2]["errors"][0]["message"], "Record rolled back because not all records were valid and the request was using AllOrNone header");
    assert_eq!(
        sf.query("SELECT COUNT() FROM Case").await["totalSize"],
        1,
        "nothing kept"
    );
    assert_eq!(
        sf.query("SELECT COUNT() FROM Account WHERE Name = 'Three Inc'")
            .await["totalSize"],
        1
    );

    let many: Vec<Value> = (0..201)
        .map(|i| json!({"attributes": {"type": "Case"}, "Subject": format!("n{i}")}))
        .collect();
    let (status, out) = sf
        .call(
            sf.api(Method::POST, "/composite/sobjects")
                .json(&json!({"records": many})),
        )
        .await;
    assert_eq!((status, code(&out)), (400, "EXCEEDED_ID_LIMIT"));
}

#[tokio::test]
async fn collections_update_retrieve_and_delete() {
    let sf = start(3).await;
    let ids: Vec<String> = sf.query("SELECT Id FROM Case ORDER BY CaseNumber").await["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Id"].as_str().unwrap().to_string())
        .collect();
    let (status, out) = sf
        .call(sf.api(Method::PATCH, "/composite/sobjects").json(
            &json!({"allOrNone": false, "records": [
                {"attributes": {"type": "Case"}, "id": ids[0], "Subject": "renamed 0"},
                {"attributes": {"type": "Case"}, "id": ids[1], "CaseNumber": "9"},
                {"attributes": {"type": "Case"}, "Subject": "no id"},
            ]}),
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(out[0], json!({"id": ids[0], "success": true, "errors": []}));
    assert_eq!(out[1]["id"], json!(ids[1]));
    assert_eq!(
        out[1]["errors"][0]["statusCode"],
        "INVALID_FIELD_FOR_INSERT_UPDATE"
    );
    assert_eq!(out[2]["success"], false);

    let (status, got) = sf
        .call(sf.api(Method::POST, "/composite/sobjects/Case").json(&json!({"ids": [ids[0], "5005g0000000zzzAAA", ids[2]], "fields": ["Subject", "Status"]})))
        .await;
    assert_eq!(status, 200);
    assert_eq!(got[0]["Subject"], "renamed 0");
    assert_eq!(got[1], Value::Null);
    assert_eq!(got[2]["Id"], json!(ids[2]));

    let (status, out) = sf
        .call(sf.api(
            Method::DELETE,
            &format!(
                "/composite/sobjects?ids={},{},bogus&allOrNone=true",
                ids[0], ids[1]
            ),
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        out[0]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert_eq!(out[2]["errors"][0]["statusCode"], "MALFORMED_ID");
    assert_eq!(sf.query("SELECT COUNT() FROM Case").await["totalSize"], 3);
    let (_, out) = sf
        .call(sf.api(
            Method::DELETE,
            &format!("/composite/sobjects?ids={},{}", ids[0], ids[1]),
        ))
        .await;
    assert_eq!(
        out,
        json!([{"id": ids[0], "success": true, "errors": []}, {"id": ids[1], "success": true, "errors": []}])
    );
    assert_eq!(sf.query("SELECT COUNT() FROM Case").await["totalSize"], 1);
}

#[tokio::test]
async fn composite_chains_references_and_rolls_back_all_or_none() {
    let sf = start(0).await;
    let request = |all: bool, bad_status: &str| {
        json!({"allOrNone": all, "compositeRequest": [
            {"method": "POST", "url": "/services/data/v59.0/sobjects/Account", "referenceId": "acct", "body": {"Name": "Chained Co"}},
            {"method": "POST", "url": "/services/data/v59.0/sobjects/Case", "referenceId": "case", "body": {"Subject": "linked", "AccountId": "@{acct.id}"}},
            {"method": "GET", "url": "/services/data/v59.0/sobjects/Case/@{case.id}?fields=Subject,AccountId", "referenceId": "read"},
            {"method": "PATCH", "url": "/services/data/v59.0/sobjects/Case/@{case.id}", "referenceId": "close", "body": {"Status": bad_status}},
            {"method": "GET", "url": "/services/data/v59.0/query?q=SELECT+Id+FROM+Case+WHERE+AccountId+%3D+'@{acct.id}'", "referenceId": "q"},
            {"method": "GET", "url": "/services/data/v59.0/sobjects/Case/@{q.records[0].Id}", "referenceId": "again"},
        ]})
    };
    let (status, out) = sf
        .call(
            sf.api(Method::POST, "/composite")
                .json(&request(true, "Closed")),
        )
        .await;
    assert_eq!(status, 200, "{out}");
    let results = out["compositeResponse"].as_array().unwrap();
    assert_eq!(results.len(), 6);
    assert_eq!(results[0]["httpStatusCode"], 201);
    assert_eq!(results[0]["referenceId"], "acct");
    assert!(results[0]["httpHeaders"]["Location"]
        .as_str()
        .unwrap()
        .contains("/sobjects/Account/001"));
    let account = results[0]["body"]["id"].clone();
    assert_eq!(results[2]["body"]["AccountId"], account);
    assert_eq!(results[3]["httpStatusCode"], 204);
    assert_eq!(results[3]["body"], Value::Null);
    assert_eq!(results[4]["body"]["totalSize"], 1);
    assert_eq!(results[5]["body"]["Status"], "Closed");

    // All-or-none: one bad subrequest undoes everything before it.
    let (_, out) = sf
        .call(
            sf.api(Method::POST, "/composite")
                .json(&request(true, "Bogus")),
        )
        .await;
    let results = out["compositeResponse"].as_array().unwrap();
    assert_eq!(results.len(), 6);
    assert_eq!(results[3]["httpStatusCode"], 400);
    assert_eq!(
        results[3]["body"][0]["errorCode"],
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    );
    for i in [0, 1, 2, 4, 5] {
        assert_eq!(
            results[i]["body"][0]["errorCode"], "PROCESSING_HALTED",
            "{i}: {}",
            results[i]
        );
    }
    assert_eq!(
        sf.query("SELECT COUNT() FROM Account WHERE Name = 'Chained Co'")
            .await["totalSize"],
        1,
        "the rolled-back account is gone"
    );

    // Without all-or-none the rest goes on; an unresolvable reference is reported.
    let (_, out) = sf
        .call(sf.api(Method::POST, "/composite").json(&json!({"compositeRequest": [
            {"method": "PATCH", "url": "/services/data/v59.0/sobjects/Case/5005g0000000zzzAAA", "referenceId": "missing", "body": {"Subject": "x"}},
            {"method": "GET", "url": "/services/data/v59.0/sobjects/Case/@{missing.id}", "referenceId": "follow"},
            {"method": "POST", "url": "/services/data/v59.0/sobjects/Account", "referenceId": "ok", "body": {"Name": "Survivor"}},
        ]})))
        .await;
    let results = out["compositeResponse"].as_array().unwrap();
    assert_eq!(results[0]["httpStatusCode"], 404);
    assert_eq!(results[1]["body"][0]["errorCode"], "PROCESSING_HALTED");
    assert!(results[1]["body"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("Invalid reference specified. No value for missing.id found in missing."));
    assert_eq!(results[2]["httpStatusCode"], 201);

    let too_many: Vec<Value> = (0..26).map(|i| json!({"method": "GET", "url": "/services/data/v59.0/limits", "referenceId": format!("r{i}")})).collect();
    let (status, _) = sf
        .call(
            sf.api(Method::POST, "/composite")
                .json(&json!({"compositeRequest": too_many})),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn collections_upsert_by_external_id() {
    let sf = sf_common::start_with(twinsync_sandbox::salesforce::SalesforceConfig {
        seed_cases: 0,
        custom_fields: vec![twinsync_sandbox::salesforce::CustomFieldSpec {
            object: "Case".into(),
            name: "Key__c".into(),
            ty: "string".into(),
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
    let existing = sf
        .create("Case", json!({"Subject": "old", "Key__c": "K1"}))
        .await;
    let (status, out) = sf
        .call(
            sf.api(Method::PATCH, "/composite/sobjects/Case/Key__c")
                .json(&json!({"records": [
                    {"attributes": {"type": "Case"}, "Key__c": "K1", "Subject": "updated"},
                    {"attributes": {"type": "Case"}, "Key__c": "K2", "Subject": "new"},
                    {"attributes": {"type": "Case"}, "Subject": "no key"},
                    {"attributes": {"type": "Account"}, "Key__c": "K3", "Name": "wrong type"},
                ]})),
        )
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(
        out[0],
        json!({"id": existing, "success": true, "errors": [], "created": false})
    );
    assert_eq!(out[1]["created"], true);
    assert_eq!(out[2]["success"], false);
    assert_eq!(out[3]["errors"][0]["statusCode"], "INVALID_TYPE");
    let subjects = sf.query("SELECT Subject FROM Case ORDER BY Key__c").await;
    assert_eq!(subjects["records"][0]["Subject"], "updated");
    assert_eq!(subjects["records"][1]["Subject"], "new");

    // All or none: the good record is rolled back with the bad one.
    let (_, out) = sf
        .call(
            sf.api(Method::PATCH, "/composite/sobjects/Case/Key__c")
                .json(&json!({"allOrNone": true, "records": [
                    {"attributes": {"type": "Case"}, "Key__c": "K9", "Subject": "would be new"},
                    {"attributes": {"type": "Case"}, "Key__c": "K1", "Status": "Bogus"},
                ]})),
        )
        .await;
    assert_eq!(
        out[0]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert_eq!(
        out[1]["errors"][0]["statusCode"],
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    );
    assert_eq!(
        sf.query("SELECT COUNT() FROM Case WHERE Key__c = 'K9'")
            .await["totalSize"],
        0
    );
    let (status, _) = sf
        .call(
            sf.api(Method::PATCH, "/composite/sobjects/Case/Subject")
                .json(&json!({"records": []})),
        )
        .await;
    assert_eq!(status, 404, "only external-id fields");
}
