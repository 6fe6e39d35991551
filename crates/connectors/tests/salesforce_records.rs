//! The Salesforce connector against the sandbox, over HTTP: who am I, describe and SOQL
//! validation, idempotent create by external id, updates (one and batched), comments, files,
//! reads of many records with comments in few calls.

mod sf_support;

use bytes::Bytes;
use serde_json::{json, Map, Value};
use sf_support::{start, KEY_FIELD};
use twinsync_connectors::{ErrorKind, NewComment, Platform, Update};
use twinsync_model::FieldType;

fn fields(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

#[tokio::test]
async fn who_am_i_names_the_integration_user_and_how_its_writes_look() {
    let sf = start(0).await;
    let c = sf.connector();
    let me = c.whoami().await.unwrap();
    assert_eq!(me.user_name, "integration@example.com");
    assert_eq!(me.display_name, "Integration User");
    assert_eq!(me.id.len(), 18);
    let w = c
        .create("Case", "who-1", &fields(json!({"Subject": "x"})))
        .await
        .unwrap();
    assert_eq!(w.version.updated_by, me.writes_as);
    assert!(c.budget().unwrap().used > 0);
}

#[tokio::test]
async fn describe_gives_types_and_picklists() {
    let sf = start(0).await;
    let c = sf.connector();
    let s = c.describe("Case").await.unwrap();
    let priority: Vec<&str> = s
        .field("Priority")
        .unwrap()
        .choices
        .iter()
        .map(|ch| ch.value.as_str())
        .collect();
    assert_eq!(priority, ["High", "Medium", "Low"]);
    assert_eq!(
        s.field("AccountId").unwrap().ty,
        FieldType::Reference {
            target: "Account".into()
        }
    );
    assert!(s.field("CaseNumber").unwrap().read_only);
    assert!(s.field(KEY_FIELD).is_some());
    let err = c.describe("Account").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Validation);
    assert!(err.message.contains("not synced"), "{err}");
}

#[tokio::test]
async fn trigger_queries_are_checked_as_the_platform_would() {
    let sf = start(0).await;
    let c = sf.connector();
    c.validate_query("Case", "SELECT Id FROM Case WHERE Priority = 'High'")
        .await
        .unwrap();
    c.validate_query("Case", "Priority = 'High' AND Account.Name LIKE 'Acme%'")
        .await
        .unwrap();
    c.validate_query(
        "Case",
        "SELECT Id, (SELECT Id FROM CaseComments) FROM Case WHERE CreatedDate = LAST_N_DAYS:7",
    )
    .await
    .unwrap();
    let err = c
        .validate_query("Case", "SELECT Id FROM Case WHERE Priorty = 'High'")
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Validation);
    assert_eq!(err.code.as_deref(), Some("INVALID_FIELD"));
    assert!(err.message.contains("Priorty"), "{err}");
    let err = c
        .validate_query("Case", "SELECT Id FROM Case WHERE")
        .await
        .unwrap_err();
    assert!(err.message.contains("unexpected token"), "{err}");
    let err = c
        .validate_query("Case", "SELECT Id FROM Task")
        .await
        .unwrap_err();
    assert!(err.message.contains("the trigger is on Case"), "{err}");
}

#[tokio::test]
async fn a_create_retried_after_a_crash_finds_the_record_made_before() {
    let sf = start(0).await;
    let body = fields(json!({"Subject": "Printer on fire", "Priority": "High"}));
    let first = sf
        .connector()
        .create("Case", "twin-42", &body)
        .await
        .unwrap();
    assert!(!first.existed);
    assert!(first.number.is_some());
    let again = sf
        .connector()
        .create("Case", "twin-42", &body)
        .await
        .unwrap();
    assert!(again.existed);
    assert_eq!(again.key, first.key);
    let rows = sf
        .query(&format!(
            "SELECT Id FROM Case WHERE {KEY_FIELD} = 'twin-42'"
        ))
        .await;
    assert_eq!(rows.len(), 1);
    // One call per create: upsert and read-back in one composite request.
    let c = sf.connector();
    c.describe("Case").await.unwrap();
    let before = c.api_calls().requests;
    c.create("Case", "twin-43", &body).await.unwrap();
    assert_eq!(c.api_calls().requests - before, 1);
    // Without the external-id field the connector says what to do.
    let c = sf.connector_with(|cfg| cfg.external_id_field = "Missing__c".into());
    let err = c.create("Case", "x", &body).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Validation);
    assert!(
        err.message.contains("Missing__c") && err.message.contains("External ID"),
        "{err}"
    );
    // A value the platform refuses: its code and message are kept.
    let err = sf
        .connector()
        .create("Case", "bad", &fields(json!({"Priority": "Whenever"})))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Validation);
    assert_eq!(
        err.code.as_deref(),
        Some("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")
    );
}

#[tokio::test]
async fn update_writes_only_the_given_fields_and_returns_the_new_version() {
    let sf = start(0).await;
    let c = sf.connector();
    let w = c
        .create(
            "Case",
            "u-1",
            &fields(json!({"Subject": "one", "Description": "keep me"})),
        )
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let u = c
        .update("Case", &w.key, &fields(json!({"Subject": "two"})))
        .await
        .unwrap();
    assert!(u.version.stamp > w.version.stamp);
    let e = c.get("Case", std::slice::from_ref(&w.key)).await.unwrap();
    assert_eq!(e[0].fields["Subject"], "two");
    assert_eq!(e[0].fields["Description"], "keep me");
    assert_eq!(e[0].version, u.version);
    let err = c
        .update(
            "Case",
            "500000000000000AAA",
            &fields(json!({"Subject": "x"})),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
    let err = c
        .update("Case", "../../etc", &fields(json!({})))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
}

#[tokio::test]
async fn many_updates_go_two_hundred_per_collection_with_a_result_each() {
    let sf = start(0).await;
    let mut keys = sf.seed_cases(450).await;
    let c = sf.connector();
    c.describe("Case").await.unwrap();
    keys[7] = "500000000000000AAA".into(); // no such record
    let mut updates: Vec<Update> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| Update {
            key: k.clone(),
            fields: fields(json!({"Description": format!("updated {i}")})),
        })
        .collect();
    updates[9].fields = fields(json!({"Priority": "Whenever"}));
    let before = c.api_calls().requests;
    let results = c.update_many("Case", &updates).await.unwrap();
    let calls = c.api_calls().requests - before;
    // Three collections of at most 200, each with one read-back of the versions.
    assert_eq!(calls, 6, "450 updates");
    assert_eq!(results.len(), 450);
    for (i, r) in results.iter().enumerate() {
        match i {
            7 => assert_eq!(r.as_ref().unwrap_err().kind, ErrorKind::NotFound, "{r:?}"),
            9 => assert_eq!(r.as_ref().unwrap_err().kind, ErrorKind::Validation, "{r:?}"),
            _ => assert_eq!(r.as_ref().unwrap().key[..15], keys[i][..15]),
        }
    }
    let e = c.get("Case", &[keys[300].clone()]).await.unwrap();
    assert_eq!(e[0].fields["Description"], "updated 300");
}

#[tokio::test]
async fn comments_and_files_round_trip_byte_exact() {
    let sf = start(0).await;
    let c = sf.connector();
    let w = c
        .create("Case", "c-1", &fields(json!({"Subject": "talk"})))
        .await
        .unwrap();
    let public = c
        .add_comment(
            "Case",
            &w.key,
            &NewComment {
                body: "Customer says hi\nsecond line".into(),
                internal: false,
            },
        )
        .await
        .unwrap();
    assert!(!public.comment.internal);
    let note = c
        .add_comment(
            "Case",
            &w.key,
            &NewComment {
                body: "internal only".into(),
                internal: true,
            },
        )
        .await
        .unwrap();
    assert!(note.comment.internal);
    let me = c.whoami().await.unwrap();
    assert_eq!(note.comment.author, me.id);
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let a = c
        .upload_attachment(
            "Case",
            &w.key,
            "dump.bin",
            "application/octet-stream",
            Bytes::from(bytes.clone()),
        )
        .await
        .unwrap();
    assert_eq!(a.size, 70_000);
    assert_eq!(a.file_name, "dump.bin");
    let e = &c.get("Case", std::slice::from_ref(&w.key)).await.unwrap()[0];
    let mut got = e.comments.clone();
    got.sort_by(|x, y| x.body.cmp(&y.body));
    assert_eq!(got, vec![public.comment.clone(), note.comment.clone()]);
    assert_eq!(e.attachments.len(), 1);
    assert_eq!(e.attachments[0].id, a.id);
    assert_eq!(e.attachments[0].file_name, "dump.bin");
    assert_eq!(e.attachments[0].size, 70_000);
    let down = c.download_attachment(&a.id).await.unwrap();
    assert_eq!(down.as_ref(), bytes.as_slice());
    // Tasks take no comments.
    let task = sf
        .call(
            reqwest::Method::POST,
            "sobjects/Task",
            Some(json!({"Subject": "call back", "Status": "Not Started", "Priority": "Normal"})),
        )
        .await;
    assert_eq!(task.0, 201, "{}", task.1);
    let err = c
        .add_comment(
            "Task",
            task.1["id"].as_str().unwrap(),
            &NewComment {
                body: "x".into(),
                internal: false,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Validation);
}

#[tokio::test]
async fn reading_many_records_with_comments_takes_one_call_per_two_hundred() {
    let sf = start(300).await; // seeded cases carry comments
    let c = sf.connector();
    c.whoami().await.unwrap();
    c.describe("Case").await.unwrap();
    let mut keys: Vec<String> = sf
        .query("SELECT Id FROM Case")
        .await
        .iter()
        .map(|r| r["Id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys.len(), 300);
    let comment_total = sf.query("SELECT Id FROM CaseComment").await.len();
    assert!(comment_total >= 300, "seeded comments: {comment_total}");
    keys.push("500000000000000AAA".into()); // unknown keys are left out
    let before = c.api_calls().requests;
    let got = c.get("Case", &keys).await.unwrap();
    let calls = c.api_calls().requests - before;
    assert_eq!(got.len(), 300);
    assert_eq!(
        got.iter().map(|e| e.comments.len()).sum::<usize>(),
        comment_total
    );
    assert_eq!(
        calls, 2,
        "calls for 300 records with {comment_total} comments"
    );
    for e in &got {
        assert!(e.url.contains(&e.key));
        assert!(e.number.is_some());
    }
}

#[tokio::test]
async fn the_api_version_is_the_newest_offered_unless_one_is_pinned() {
    let sf = start(1).await;
    let c = sf.connector_with(|cfg| cfg.api_version = Some("59.0".into()));
    assert_eq!(c.get("Case", &[]).await.unwrap().len(), 0);
    c.changes("Case", None, &twinsync_connectors::Watermark::start(), 5)
        .await
        .unwrap();
    let c = sf.connector_with(|cfg| cfg.api_version = Some("99.0".into()));
    let err = c.describe("Case").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Validation);
    assert!(
        err.message.contains("does not offer API version 99.0") && err.message.contains("59.0"),
        "{err}"
    );
    let c = sf.connector_with(|cfg| cfg.api_version = Some("45.0".into()));
    let err = c.describe("Case").await.unwrap_err();
    assert!(err.message.contains("too old"), "{err}");
}

#[tokio::test]
async fn new_comments_and_files_are_found_though_the_case_does_not_change() {
    let sf = start(0).await;
    let c = sf.connector();
    let ids = sf.seed_cases(3).await;
    let start_wm = twinsync_connectors::Watermark::start();
    let none = c
        .child_changes(
            "Case",
            twinsync_connectors::ChildList::Comments,
            &start_wm,
            10,
        )
        .await
        .unwrap()
        .unwrap();
    assert!(none.keys.is_empty());
    for id in [&ids[1], &ids[1], &ids[2]] {
        let (status, body) = sf
            .call(
                reqwest::Method::POST,
                "sobjects/CaseComment",
                Some(json!({"ParentId": id, "CommentBody": "hello"})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let page = c
        .child_changes(
            "Case",
            twinsync_connectors::ChildList::Comments,
            &start_wm,
            10,
        )
        .await
        .unwrap()
        .unwrap();
    let mut got = page.keys.clone();
    got.sort();
    let mut want = vec![ids[1].clone(), ids[2].clone()];
    want.sort();
    assert_eq!(got, want);
    let after = c
        .child_changes(
            "Case",
            twinsync_connectors::ChildList::Comments,
            &page.next,
            10,
        )
        .await
        .unwrap()
        .unwrap();
    assert!(after.keys.is_empty() && !after.more);
    let (status, body) = sf
        .call(
            reqwest::Method::POST,
            "sobjects/ContentVersion",
            Some(json!({"Title": "f.txt", "PathOnClient": "f.txt", "VersionData": "aGVsbG8=", "FirstPublishLocationId": ids[0]})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let files = c
        .child_changes(
            "Case",
            twinsync_connectors::ChildList::Attachments,
            &start_wm,
            10,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(files.keys, vec![ids[0].clone()]);
}

#[tokio::test]
async fn get_matching_keeps_only_the_named_records_the_trigger_matches() {
    let sf = start(0).await;
    let c = sf.connector();
    let mut keys = Vec::new();
    for (i, priority) in ["High", "Low", "High"].iter().enumerate() {
        let w = c
            .create(
                "Case",
                &format!("match-{i}"),
                &fields(json!({"Subject": format!("m{i}"), "Priority": priority})),
            )
            .await
            .unwrap();
        keys.push(w.key);
    }
    let got = c
        .get_matching(
            "Case",
            "Priority = 'High' OR Status = 'Escalated'",
            &keys[..2],
        )
        .await
        .unwrap();
    let got: Vec<&str> = got.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(got, vec![keys[0].as_str()], "the third is not named");
    let whole = c
        .get_matching("Case", "SELECT Id FROM Case WHERE Priority = 'Low'", &keys)
        .await
        .unwrap();
    assert_eq!(whole.len(), 1);
    assert_eq!(whole[0].key, keys[1]);
}
