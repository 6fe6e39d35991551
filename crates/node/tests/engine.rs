//! The engine's two translations against both sandboxes: an urgent ServiceNow incident with
//! a comment and a file becomes a Salesforce case through the outgoing and incoming rules;
//! a redo after a crash makes nothing twice; a later edit writes only what changed; what was
//! copied in is never sent back; an unchanged record hashes the same.

use async_trait::async_trait;
use bytes::Bytes;
use serde_json::{json, Value};
mod support;

use twinsync_connectors::salesforce::Salesforce;
use twinsync_connectors::servicenow::ServiceNow;
use twinsync_connectors::{Entity, NewComment, Platform};
use twinsync_model::{ConnectionMode, ConnectionRole, ConnectionStatus};
use twinsync_node::engine::incoming::{apply, ApplyError, AttachmentSource, Received, Target};
use twinsync_node::engine::outgoing::extract;
use twinsync_node::engine::{RecordRef, ReplicaMessage};
use twinsync_rules::StaticUsers;
use twinsync_sandbox::salesforce::SalesforceSandbox;
use twinsync_sandbox::servicenow::ServiceNowSandbox;
use twinsync_store::*;

const OUTGOING_SN: &str = r#"
replica.key         = entity.key
replica.summary     = entity.short_description
replica.description = entity.description
replica.urgency     = entity.urgency
replica.comments    = entity.comments
replica.attachments = entity.attachments
"#;

const INCOMING_SF: &str = r#"
if (firstSync) {
    entity.entityType = "Case"
}
entity.Subject     = replica.summary
entity.Description = replica.description
entity.Priority    = replica.urgency == "1" ? "High" : "Low"
entity.comments    = commentHelper.mergeComments(entity, replica)
entity.attachments = attachmentHelper.mergeAttachments(entity, replica)
"#;

const OUTGOING_SF: &str = r#"
replica.summary  = entity.Subject
replica.comments = entity.comments
"#;

/// Files come straight from the ServiceNow instance here (from the peer node in a node).
struct FromServiceNow<'a>(&'a ServiceNow);

#[async_trait]
impl AttachmentSource for FromServiceNow<'_> {
    async fn fetch(&self, remote_id: &str) -> Result<Bytes, ApplyError> {
        Ok(self.0.download_attachment(remote_id).await?)
    }
}

fn connection() -> NewConnection {
    NewConnection {
        id: "c1".into(),
        name: "support-to-sales".into(),
        description: String::new(),
        local_instance: "sf".into(),
        remote_instance: "sn".into(),
        remote_url: "http://sn-node".into(),
        mode: ConnectionMode::Script,
        role: ConnectionRole::Acceptor,
        status: ConnectionStatus::Active,
        sealed_secret: vec![],
    }
}

struct World {
    _snbox: ServiceNowSandbox,
    _sfbox: SalesforceSandbox,
    sn: ServiceNow,
    sf: Salesforce,
}

async fn world() -> World {
    let (snbox, sfbox) = support::sandboxes(0, 0).await;
    World {
        sn: support::sn_connector(snbox.base_url(), "itil", None),
        sf: support::sf_connector(
            sfbox.base_url(),
            "integration@example.com",
            "integration",
            None,
        ),
        _snbox: snbox,
        _sfbox: sfbox,
    }
}

fn message(entity: &Entity, replica: &[u8]) -> ReplicaMessage {
    ReplicaMessage {
        replica: serde_json::from_slice(replica).unwrap(),
        entity: RecordRef::of(entity),
        rule_version: 1,
        detected_at: None,
        based_on: None,
    }
}

#[tokio::test]
async fn an_urgent_incident_becomes_a_case_once_with_its_comment_and_file() {
    let w = world().await;
    let users = StaticUsers::default();
    // The incident, as someone on the ServiceNow side makes it.
    let inc = w
        .sn
        .create(
            "incident",
            "made-by-a-person",
            json!({"short_description": "Printer on fire", "description": "3rd floor", "urgency": "1"})
                .as_object()
                .unwrap(),
        )
        .await
        .unwrap();
    w.sn.add_comment(
        "incident",
        &inc.key,
        &NewComment {
            body: "Smoke seen".into(),
            internal: false,
        },
    )
    .await
    .unwrap();
    let file: Vec<u8> = (0..=255u8).cycle().take(5_000).collect();
    w.sn.upload_attachment(
        "incident",
        &inc.key,
        "photo.bin",
        "application/octet-stream",
        Bytes::from(file.clone()),
    )
    .await
    .unwrap();
    let incident =
        w.sn.get("incident", std::slice::from_ref(&inc.key))
            .await
            .unwrap()
            .remove(0);

    // Outgoing on the ServiceNow node.
    let out = extract(OUTGOING_SN, &incident, &[], &users).unwrap();
    let again = extract(OUTGOING_SN, &incident, &[], &users).unwrap();
    assert_eq!(out.hash, again.hash, "an unchanged record hashes the same");
    let msg = message(&incident, &out.replica);

    // Incoming on the Salesforce node.
    let store = SqliteStore::open_in_memory().unwrap();
    store.insert_connection(connection()).await.unwrap();
    let twin = store.ensure_remote_twin("c1", "corr-1").await.unwrap();
    let me = w.sf.whoami().await.unwrap();
    let files = FromServiceNow(&w.sn);
    let target = Target {
        platform: &w.sf,
        store: &store,
        files: &files,
        lookup: &users,
        me: &me,
    };
    let received = Received {
        connection_id: "c1",
        twin: &twin,
        message: &msg,
        previous: None,
        rule: INCOMING_SF,
        default_type: "Case",
    };
    let outcome = apply(&target, &received).await.unwrap();
    assert!(outcome.created);
    assert_eq!((outcome.comments, outcome.attachments), (1, 1));
    let case_key = outcome.local.key.clone();
    let case =
        w.sf.get("Case", std::slice::from_ref(&case_key))
            .await
            .unwrap()
            .remove(0);
    assert_eq!(case.fields["Subject"], "Printer on fire");
    assert_eq!(case.fields["Description"], "3rd floor");
    assert_eq!(case.fields["Priority"], "High");
    assert_eq!(case.comments.len(), 1);
    assert_eq!(case.comments[0].body, "Smoke seen");
    assert_eq!(case.attachments.len(), 1);
    assert_eq!(case.attachments[0].file_name, "photo.bin");
    let copied =
        w.sf.download_attachment(&case.attachments[0].id)
            .await
            .unwrap();
    assert_eq!(copied.as_ref(), file.as_slice());
    assert_eq!(
        outcome.own_version.as_deref(),
        Some(case.version.stamp.as_str())
    );

    // The node died before recording the apply: the redo makes nothing twice.
    let redo = apply(&target, &received).await.unwrap();
    assert!(!redo.created);
    assert_eq!((redo.comments, redo.attachments), (0, 0));
    assert_eq!(redo.local.key, case_key);
    let case =
        w.sf.get("Case", std::slice::from_ref(&case_key))
            .await
            .unwrap()
            .remove(0);
    assert_eq!((case.comments.len(), case.attachments.len()), (1, 1));

    // It died between adding a comment and linking it: the copy is adopted, not repeated.
    let fresh = SqliteStore::open_in_memory().unwrap();
    fresh.insert_connection(connection()).await.unwrap();
    let twin2 = fresh.ensure_remote_twin("c1", "corr-1").await.unwrap();
    let twin2 = fresh
        .update_twin(
            twin2.id,
            TwinChange {
                local: Some(outcome.local.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    for (kind, remote_id) in [
        (LinkKind::Comment, incident.comments[0].id.clone()),
        (LinkKind::Attachment, incident.attachments[0].id.clone()),
    ] {
        fresh
            .put_link(Link {
                connection_id: "c1".into(),
                correlation: "corr-1".into(),
                kind,
                remote_id,
                local_id: None,
                received: true,
            })
            .await
            .unwrap();
    }
    let target2 = Target {
        store: &fresh,
        ..target
    };
    let adopted = apply(
        &target2,
        &Received {
            twin: &twin2,
            ..received
        },
    )
    .await
    .unwrap();
    assert_eq!((adopted.comments, adopted.attachments), (0, 0));
    let case =
        w.sf.get("Case", std::slice::from_ref(&case_key))
            .await
            .unwrap()
            .remove(0);
    assert_eq!((case.comments.len(), case.attachments.len()), (1, 1));
    assert!(fresh
        .links("c1", "corr-1")
        .await
        .unwrap()
        .iter()
        .all(|l| l.local_id.is_some()));

    // What the Salesforce side copied in is not sent back.
    let links = store.links("c1", "corr-1").await.unwrap();
    let back = extract(OUTGOING_SF, &case, &links, &users).unwrap();
    let back: Value = serde_json::from_slice(&back.replica).unwrap();
    assert_eq!(back["summary"], "Printer on fire");
    assert_eq!(back["comments"], json!([]));

    // A later edit on ServiceNow writes only the field that changed.
    w.sn.update(
        "incident",
        &inc.key,
        json!({"short_description": "Printer on fire (2nd)"})
            .as_object()
            .unwrap(),
    )
    .await
    .unwrap();
    let incident2 =
        w.sn.get("incident", std::slice::from_ref(&inc.key))
            .await
            .unwrap()
            .remove(0);
    let out2 = extract(OUTGOING_SN, &incident2, &[], &users).unwrap();
    assert_ne!(out2.hash, out.hash);
    let twin = store
        .update_twin(
            twin.id,
            TwinChange {
                local: Some(outcome.local.clone()),
                previous: Some(serde_json::to_string(&msg.replica).unwrap()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let msg2 = message(&incident2, &out2.replica);
    let update = apply(
        &target,
        &Received {
            twin: &twin,
            message: &msg2,
            previous: Some(&msg.replica),
            ..received
        },
    )
    .await
    .unwrap();
    assert!(!update.created);
    assert_eq!(update.fields, ["Subject"]);
    assert_eq!((update.comments, update.attachments), (0, 0));
    let case =
        w.sf.get("Case", std::slice::from_ref(&case_key))
            .await
            .unwrap()
            .remove(0);
    assert_eq!(case.fields["Subject"], "Printer on fire (2nd)");

    // Concurrent edits to different fields: someone edits the case's description while the
    // incident's summary changes; the apply writes only the summary, both edits survive.
    w.sf.update(
        "Case",
        &case_key,
        json!({"Description": "Edited in Salesforce"})
            .as_object()
            .unwrap(),
    )
    .await
    .unwrap();
    w.sn.update(
        "incident",
        &inc.key,
        json!({"short_description": "Printer on fire (3rd)"})
            .as_object()
            .unwrap(),
    )
    .await
    .unwrap();
    let incident3 =
        w.sn.get("incident", std::slice::from_ref(&inc.key))
            .await
            .unwrap()
            .remove(0);
    let msg3 = message(
        &incident3,
        &extract(OUTGOING_SN, &incident3, &[], &users)
            .unwrap()
            .replica,
    );
    let third = apply(
        &target,
        &Received {
            twin: &twin,
            message: &msg3,
            previous: Some(&msg2.replica),
            ..received
        },
    )
    .await
    .unwrap();
    assert_eq!(third.fields, ["Subject"]);
    assert!(third.conflicts.is_empty());
    let case =
        w.sf.get("Case", std::slice::from_ref(&case_key))
            .await
            .unwrap()
            .remove(0);
    assert_eq!(case.fields["Subject"], "Printer on fire (3rd)");
    assert_eq!(case.fields["Description"], "Edited in Salesforce");

    // A true conflict: both sides change the same field; the other side's value is kept
    // and the conflict reported.
    w.sf.update(
        "Case",
        &case_key,
        json!({"Subject": "Renamed in Salesforce"})
            .as_object()
            .unwrap(),
    )
    .await
    .unwrap();
    w.sn.update(
        "incident",
        &inc.key,
        json!({"short_description": "Renamed in ServiceNow"})
            .as_object()
            .unwrap(),
    )
    .await
    .unwrap();
    let incident4 =
        w.sn.get("incident", std::slice::from_ref(&inc.key))
            .await
            .unwrap()
            .remove(0);
    let msg4 = message(
        &incident4,
        &extract(OUTGOING_SN, &incident4, &[], &users)
            .unwrap()
            .replica,
    );
    let fourth = apply(
        &target,
        &Received {
            twin: &twin,
            message: &msg4,
            previous: Some(&msg3.replica),
            ..received
        },
    )
    .await
    .unwrap();
    assert_eq!(fourth.conflicts, ["Subject"]);
    let case =
        w.sf.get("Case", std::slice::from_ref(&case_key))
            .await
            .unwrap()
            .remove(0);
    assert_eq!(case.fields["Subject"], "Renamed in ServiceNow");
}

#[tokio::test]
async fn a_script_error_is_permanent_and_names_its_line() {
    let w = world().await;
    let users = StaticUsers::default();
    let store = SqliteStore::open_in_memory().unwrap();
    store.insert_connection(connection()).await.unwrap();
    let twin = store.ensure_remote_twin("c1", "x").await.unwrap();
    let me = w.sf.whoami().await.unwrap();
    let files = FromServiceNow(&w.sn);
    let msg = ReplicaMessage {
        replica: json!({"summary": "s"}),
        entity: RecordRef::default(),
        rule_version: 1,
        detected_at: None,
        based_on: None,
    };
    let err = apply(
        &Target {
            platform: &w.sf,
            store: &store,
            files: &files,
            lookup: &users,
            me: &me,
        },
        &Received {
            connection_id: "c1",
            twin: &twin,
            message: &msg,
            previous: None,
            rule: "entity.Subject = replica.summary\nentity.Priority = replica.nothing.size()",
            default_type: "Case",
        },
    )
    .await
    .unwrap_err();
    assert!(!err.is_transient());
    assert!(err.to_string().contains("line 2"), "{err}");
}

/// The apply runs on the node's worker threads: its future must be `Send`.
#[allow(dead_code)]
fn apply_is_send(t: &Target<'_>, r: &Received<'_>) {
    fn send<T: Send>(_: T) {}
    send(apply(t, r));
}
