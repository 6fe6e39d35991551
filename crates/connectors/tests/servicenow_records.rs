//! The ServiceNow connector against the sandbox, over HTTP: who am I, describe and query
//! validation, idempotent create, updates (one and batched), comments, attachments, reads of
//! many records in few calls.

mod sn_support;

use bytes::Bytes;
use serde_json::{json, Map, Value};
use sn_support::start;
use twinsync_connectors::{ErrorKind, NewComment, Platform, Update};
use twinsync_model::FieldType;

fn fields(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

#[tokio::test]
async fn who_am_i_names_the_integration_user_and_how_its_writes_look() {
    let sn = start(0).await;
    let c = sn.connector();
    let me = c.whoami().await.unwrap();
    assert_eq!(me.user_name, "itil");
    assert_eq!(me.id.len(), 32);
    assert!(!me.display_name.is_empty());
    let w = c
        .create(
            "incident",
            "who-1",
            &fields(json!({"short_description": "x"})),
        )
        .await
        .unwrap();
    assert_eq!(w.version.updated_by, me.writes_as);
}

#[tokio::test]
async fn describe_gives_types_choices_and_inherited_task_fields() {
    let sn = start(0).await;
    let c = sn.connector();
    let s = c.describe("incident").await.unwrap();
    let state = s.field("state").expect("state");
    let values: Vec<&str> = state.choices.iter().map(|ch| ch.value.as_str()).collect();
    assert!(values.contains(&"1") && values.contains(&"7"), "{values:?}");
    // Defined on `task`, inherited by incident.
    assert!(s.field("short_description").is_some());
    assert_eq!(
        s.field("caller_id").unwrap().ty,
        FieldType::Reference {
            target: "sys_user".into()
        }
    );
    let problem = c.describe("problem").await.unwrap();
    let problem_states: Vec<&str> = problem
        .field("state")
        .unwrap()
        .choices
        .iter()
        .map(|ch| ch.value.as_str())
        .collect();
    assert!(problem_states.contains(&"101"), "{problem_states:?}");
    // Only configured tables.
    let err = c.describe("sys_user").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Validation);
    assert!(err.message.contains("not synced"), "{err}");
}

#[tokio::test]
async fn trigger_queries_are_validated_against_the_dictionary() {
    let sn = start(0).await;
    let c = sn.connector();
    c.validate_query("incident", "urgency=1").await.unwrap();
    c.validate_query("incident", "active=true^priority<=2^ORDERBYnumber")
        .await
        .unwrap();
    c.validate_query("incident", "caller_id.user_name=itil")
        .await
        .unwrap();
    let err = c
        .validate_query("incident", "urgency=1^urgencyy=2")
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Validation);
    assert!(!err.is_transient());
    assert!(
        err.message.contains("column 11") && err.message.contains("urgencyy"),
        "{err}"
    );
    let err = c
        .validate_query("incident", "caller_id.nonsense=1")
        .await
        .unwrap_err();
    assert!(err.message.contains("nonsense"), "{err}");
}

#[tokio::test]
async fn a_create_retried_after_a_crash_finds_the_record_made_before() {
    let sn = start(0).await;
    let body = fields(json!({"short_description": "Printer on fire", "urgency": "1"}));
    let first = sn
        .connector()
        .create("incident", "twin-42", &body)
        .await
        .unwrap();
    assert!(!first.existed);
    assert!(first.number.as_deref().unwrap().starts_with("INC"));
    // The node died before noting the result; a new process retries the same create.
    let again = sn
        .connector()
        .create("incident", "twin-42", &body)
        .await
        .unwrap();
    assert!(again.existed);
    assert_eq!(again.key, first.key);
    let rows = sn
        .get("/api/now/table/incident?sysparm_query=correlation_id=twin-42")
        .await;
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["correlation_display"], "twinsync");
    // A correlation key with query metacharacters matches itself only.
    let odd = sn
        .connector()
        .create("incident", "a^ORb=c", &body)
        .await
        .unwrap();
    assert!(!odd.existed);
    assert_ne!(odd.key, first.key);
}

#[tokio::test]
async fn update_writes_only_the_given_fields_and_returns_the_new_version() {
    let sn = start(0).await;
    let c = sn.connector();
    let w = c
        .create(
            "incident",
            "u-1",
            &fields(json!({"short_description": "one", "description": "keep me"})),
        )
        .await
        .unwrap();
    let u = c
        .update(
            "incident",
            &w.key,
            &fields(json!({"short_description": "two"})),
        )
        .await
        .unwrap();
    assert_ne!(u.version.stamp, w.version.stamp);
    assert_eq!(u.version.updated_by, "itil");
    let e = c
        .get("incident", std::slice::from_ref(&w.key))
        .await
        .unwrap();
    assert_eq!(e[0].fields["short_description"], "two");
    assert_eq!(e[0].fields["description"], "keep me");
    assert_eq!(e[0].version, u.version);
    // A field the platform refuses comes back as a permanent error with its message.
    let err = c
        .update(
            "incident",
            &"0".repeat(32),
            &fields(json!({"short_description": "x"})),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert!(!err.is_transient());
    let err = c
        .update("incident", "../../etc", &fields(json!({})))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
}

#[tokio::test]
async fn many_updates_go_in_batches_of_a_hundred_with_a_result_each() {
    let sn = start(0).await;
    let c = sn.connector();
    let reqs: Vec<(&str, String, Value)> = (0..250)
        .map(|i| {
            (
                "POST",
                "/api/now/table/incident".to_string(),
                json!({"short_description": format!("bulk {i}")}),
            )
        })
        .collect();
    sn.batch(&reqs).await;
    let rows = sn
        .get("/api/now/table/incident?sysparm_fields=sys_id&sysparm_limit=1000")
        .await;
    let mut keys: Vec<String> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["sys_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys.len(), 250);
    keys[7] = "f".repeat(32); // no such record
    let updates: Vec<Update> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| Update {
            key: k.clone(),
            fields: fields(json!({"description": format!("updated {i}")})),
        })
        .collect();
    let before = c.api_calls();
    let results = c.update_many("incident", &updates).await.unwrap();
    let after = c.api_calls();
    assert_eq!(after.requests - before.requests, 3, "250 updates, 3 calls");
    assert_eq!(results.len(), 250);
    for (i, r) in results.iter().enumerate() {
        if i == 7 {
            assert_eq!(r.as_ref().unwrap_err().kind, ErrorKind::NotFound);
        } else {
            assert_eq!(r.as_ref().unwrap().key, keys[i]);
        }
    }
    let e = c.get("incident", &[keys[200].clone()]).await.unwrap();
    assert_eq!(e[0].fields["description"], "updated 200");
}

#[tokio::test]
async fn comments_and_attachments_round_trip_byte_exact() {
    let sn = start(0).await;
    let c = sn.connector();
    let w = c
        .create(
            "incident",
            "c-1",
            &fields(json!({"short_description": "talk"})),
        )
        .await
        .unwrap();
    let public = c
        .add_comment(
            "incident",
            &w.key,
            &NewComment {
                body: "Customer says hi\nsecond line".into(),
                internal: false,
            },
        )
        .await
        .unwrap();
    assert!(!public.comment.internal);
    assert_eq!(public.comment.author, "itil");
    let note = c
        .add_comment(
            "incident",
            &w.key,
            &NewComment {
                body: "internal only".into(),
                internal: true,
            },
        )
        .await
        .unwrap();
    assert!(note.comment.internal);
    assert_ne!(note.comment.id, public.comment.id);
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let a = c
        .upload_attachment(
            "incident",
            &w.key,
            "dump.bin",
            "application/octet-stream",
            Bytes::from(bytes.clone()),
        )
        .await
        .unwrap();
    assert_eq!(a.size, 70_000);
    assert_eq!(a.file_name, "dump.bin");
    let e = &c
        .get("incident", std::slice::from_ref(&w.key))
        .await
        .unwrap()[0];
    // Journal times have one-second resolution: two comments made within the same second
    // have no order on the platform, so compare them as a set.
    let mut got = e.comments.clone();
    got.sort_by(|a, b| a.body.cmp(&b.body));
    assert_eq!(got, vec![public.comment.clone(), note.comment.clone()]);
    assert_eq!(e.attachments, vec![a.clone()]);
    // The version after the last comment is the version read.
    assert_eq!(Some(e.version.clone()), note.version);
    let down = c.download_attachment(&a.id).await.unwrap();
    assert_eq!(down.as_ref(), bytes.as_slice());
    let script = e.to_script_json();
    assert_eq!(script["entityType"], "incident");
    let internal: Vec<bool> = script["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["internal"].as_bool().unwrap())
        .collect();
    assert_eq!(internal.len(), 2);
    assert_eq!(internal.iter().filter(|i| **i).count(), 1);
}

#[tokio::test]
async fn reading_many_records_with_comments_takes_a_handful_of_calls() {
    let sn = start(150).await; // seeded incidents carry comments
    let c = sn.connector();
    let rows = sn
        .get("/api/now/table/incident?sysparm_fields=sys_id&sysparm_limit=1000")
        .await;
    let mut keys: Vec<String> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["sys_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys.len(), 150);
    let journal = sn
        .get("/api/now/table/sys_journal_field?sysparm_fields=element_id&sysparm_limit=100000")
        .await;
    let comment_total = journal.as_array().unwrap().len();
    assert!(comment_total > 150, "seeded comments: {comment_total}");
    keys.push("0".repeat(32)); // unknown keys are left out
    let before = c.api_calls().requests;
    let got = c.get("incident", &keys).await.unwrap();
    let calls = c.api_calls().requests - before;
    assert_eq!(got.len(), 150);
    assert_eq!(
        got.iter().map(|e| e.comments.len()).sum::<usize>(),
        comment_total
    );
    // Two record queries (100 ids each) and one batch for journals and attachments.
    assert_eq!(
        calls, 3,
        "calls for 150 records with {comment_total} comments"
    );
    for e in &got {
        let created: Vec<&str> = e.comments.iter().map(|c| c.created.as_str()).collect();
        let mut sorted = created.clone();
        sorted.sort();
        assert_eq!(created, sorted, "comments oldest first");
        assert!(e.url.contains(&e.key));
    }
}

#[tokio::test]
async fn new_attachments_are_found_though_the_record_does_not_change() {
    let sn = start(0).await;
    let c = sn.connector();
    let w = c
        .create(
            "incident",
            "f-1",
            &fields(json!({"short_description": "files"})),
        )
        .await
        .unwrap();
    let start_wm = twinsync_connectors::Watermark::start();
    // Journal entries update the record itself: no separate feed.
    assert!(c
        .child_changes(
            "incident",
            twinsync_connectors::ChildList::Comments,
            &start_wm,
            10
        )
        .await
        .unwrap()
        .is_none());
    c.upload_attachment(
        "incident",
        &w.key,
        "a.txt",
        "text/plain",
        Bytes::from_static(b"a"),
    )
    .await
    .unwrap();
    let page = c
        .child_changes(
            "incident",
            twinsync_connectors::ChildList::Attachments,
            &start_wm,
            10,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(page.keys, vec![w.key.clone()]);
    let after = c
        .child_changes(
            "incident",
            twinsync_connectors::ChildList::Attachments,
            &page.next,
            10,
        )
        .await
        .unwrap()
        .unwrap();
    assert!(after.keys.is_empty());
}

#[tokio::test]
async fn get_matching_keeps_only_the_named_records_the_trigger_matches() {
    let sn = start(0).await;
    let c = sn.connector();
    let mut keys = Vec::new();
    for (i, urgency) in ["1", "3", "1"].iter().enumerate() {
        let w = c
            .create(
                "incident",
                &format!("match-{i}"),
                &fields(json!({"short_description": format!("m{i}"), "urgency": urgency})),
            )
            .await
            .unwrap();
        keys.push(w.key);
    }
    let before = c.api_calls().requests;
    let got = c
        .get_matching("incident", "urgency=1^NQpriority=1", &keys[..2])
        .await
        .unwrap();
    assert_eq!(
        c.api_calls().requests - before,
        2,
        "one Table API call, one Batch call for journals and files"
    );
    let got: Vec<&str> = got.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(got, vec![keys[0].as_str()], "the third is not named");
    let none = c
        .get_matching("incident", "urgency=2", &keys)
        .await
        .unwrap();
    assert!(none.is_empty());
}
