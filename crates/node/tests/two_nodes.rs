//! Two nodes on loopback, one per platform sandbox, linked by a connection made through the
//! real handshake: an urgent incident appears as a case with mapped fields, its comment and
//! file; a comment on the case comes back once; closing the case closes the incident; and
//! then everything goes quiet (no echo, no ping-pong).

use bytes::Bytes;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
mod support;

use support::{eventually, sandboxes, SETTLE};
use twinsync_connectors::salesforce::Salesforce;
use twinsync_connectors::servicenow::ServiceNow;
use twinsync_connectors::{Entity, NewComment, Platform, Watermark};
use twinsync_model::{ConnectionMode, ConnectionStatus};
use twinsync_node::{Initiate, Node};
use twinsync_store::Store;

fn sn_connector(url: &str, user: &str) -> ServiceNow {
    support::sn_connector(url, user, SETTLE)
}

fn sf_connector(url: &str, user: &str, password: &str) -> Salesforce {
    support::sf_connector(url, user, password, SETTLE)
}

async fn node(instance: &str, platform: Arc<dyn Platform>, dir: &tempfile::TempDir) -> Node {
    support::node(instance, platform, dir, Vec::new()).await
}

async fn case_with_subject(sf: &Salesforce, subject: &str) -> Option<Entity> {
    sf.changes("Case", None, &Watermark::start(), 2000)
        .await
        .ok()?
        .entities
        .into_iter()
        .find(|e| e.fields["Subject"] == subject)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_urgent_incident_syncs_to_a_case_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let (snb, sfb) = sandboxes(0, 25).await;
    // People on each side, and the nodes' integration users.
    let sn_person = sn_connector(snb.base_url(), "admin");
    let sf_person = sf_connector(sfb.base_url(), "admin@example.com", "admin");
    let sn_node = node(
        "acme-servicenow",
        Arc::new(support::sn_integration(snb.base_url())),
        &dir,
    )
    .await;
    let sf_node = node(
        "acme-salesforce",
        Arc::new(support::sf_integration(sfb.base_url())),
        &dir,
    )
    .await;

    // Initiate on the ServiceNow side, accept on the Salesforce side.
    let (pending, code) = sn_node
        .initiate(Initiate {
            remote_url: sf_node.url().to_string(),
            mode: ConnectionMode::Script,
            name: None,
            remote_instance: None,
            description: "support to sales".into(),
        })
        .await
        .unwrap();
    assert_eq!(pending.spec.status, ConnectionStatus::Pending);
    assert_eq!(pending.spec.name, "acme-servicenow_to_acme-salesforce");
    let accepted = sf_node.accept(&code).await.unwrap();
    assert_eq!(accepted.spec.status, ConnectionStatus::Active);
    let id = accepted.spec.id.clone();
    assert_eq!(
        sn_node.store().connection(&id).await.unwrap().spec.status,
        ConnectionStatus::Active
    );
    // A code works once.
    let again = sf_node.accept(&code).await.unwrap_err();
    assert!(again.to_string().contains("exists already"), "{again}");

    support::trigger(&sn_node, &id, "incident", "urgency=1").await;

    // Someone files an urgent incident, with a comment and a photo; and a routine one.
    let inc = sn_person
        .create(
            "incident",
            "person-1",
            json!({"short_description": "Smoke from the 7th floor server room", "description": "3rd floor", "urgency": "1", "impact": "1"})
                .as_object()
                .unwrap(),
        )
        .await
        .unwrap();
    sn_person
        .create(
            "incident",
            "person-2",
            json!({"short_description": "Mouse squeaks", "urgency": "3"})
                .as_object()
                .unwrap(),
        )
        .await
        .unwrap();
    sn_person
        .add_comment(
            "incident",
            &inc.key,
            &NewComment {
                body: "Smoke seen".into(),
                internal: false,
            },
        )
        .await
        .unwrap();
    let photo: Vec<u8> = (0..=255u8).cycle().take(3_000).collect();
    sn_person
        .upload_attachment(
            "incident",
            &inc.key,
            "photo.bin",
            "application/octet-stream",
            Bytes::from(photo.clone()),
        )
        .await
        .unwrap();

    let case = eventually("the case with its comment and file", || async {
        case_with_subject(&sf_person, "Smoke from the 7th floor server room")
            .await
            .filter(|c| c.comments.len() == 1 && c.attachments.len() == 1)
    })
    .await;
    assert_eq!(case.fields["Description"], "3rd floor");
    assert_eq!(case.fields["Priority"], "High");
    assert_eq!(case.fields["Status"], "New");
    assert_eq!(case.comments[0].body, "Smoke seen");
    let copied = sf_person
        .download_attachment(&case.attachments[0].id)
        .await
        .unwrap();
    assert_eq!(copied.as_ref(), photo.as_slice());
    assert!(case_with_subject(&sf_person, "Mouse squeaks")
        .await
        .is_none());

    // Both sides know the link once the ack is back.
    let twin = eventually("the ack", || async {
        sn_node
            .store()
            .twins(&id, 10)
            .await
            .ok()?
            .into_iter()
            .find(|t| t.remote.is_some())
    })
    .await;
    assert_eq!(twin.remote.unwrap().key[..15], case.key[..15]);

    // A comment on the case comes back to the incident, once.
    sf_person
        .add_comment(
            "Case",
            &case.key,
            &NewComment {
                body: "Sales called the customer".into(),
                internal: false,
            },
        )
        .await
        .unwrap();
    let incident = eventually("the case comment on the incident", || async {
        sn_person
            .get("incident", std::slice::from_ref(&inc.key))
            .await
            .ok()?
            .pop()
            .filter(|e| e.comments.len() == 2)
    })
    .await;
    assert!(incident
        .comments
        .iter()
        .any(|c| c.body == "Sales called the customer"));

    // Closing the case closes the incident.
    sf_person
        .update(
            "Case",
            &case.key,
            json!({"Status": "Closed"}).as_object().unwrap(),
        )
        .await
        .unwrap();
    let incident = eventually("the incident closed", || async {
        sn_person
            .get("incident", std::slice::from_ref(&inc.key))
            .await
            .ok()?
            .pop()
            .filter(|e| e.fields["state"] == "7")
    })
    .await;
    assert_eq!(incident.fields["close_code"], "Solution provided");

    // Then quiet: several rounds on both sides move nothing more.
    for _ in 0..3 {
        sn_node.tick().await;
        sf_node.tick().await;
    }
    let sent_before = (
        sn_node.store().depths(&id).await.unwrap(),
        sf_node.store().depths(&id).await.unwrap(),
    );
    let log_before = sf_node
        .store()
        .log_of(&id, &twin.correlation, 100)
        .await
        .unwrap()
        .len();
    for _ in 0..5 {
        sn_node.tick().await;
        sf_node.tick().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(sent_before.0.outbox + sent_before.1.outbox, 0);
    let log_after = sf_node
        .store()
        .log_of(&id, &twin.correlation, 100)
        .await
        .unwrap()
        .len();
    assert_eq!(log_before, log_after, "no ping-pong");
    let incident = sn_person
        .get("incident", std::slice::from_ref(&inc.key))
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(incident.comments.len(), 2);
    let case = case_with_subject(&sf_person, "Smoke from the 7th floor server room")
        .await
        .unwrap();
    assert_eq!(case.comments.len(), 2);
    assert!(sn_node.store().open_errors(None).await.unwrap().is_empty());
    assert!(sf_node.store().open_errors(None).await.unwrap().is_empty());

    sn_node.shutdown().await;
    sf_node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trigger_syncs_new_changes_and_bulk_exalate_the_existing_matches() {
    let dir = tempfile::tempdir().unwrap();
    let (snb, sfb) = sandboxes(30, 0).await;
    let sn = Arc::new(support::sn_integration(snb.base_url()));
    let sn_node = node("sn", sn.clone(), &dir).await;
    let sf_node = node(
        "sf",
        Arc::new(support::sf_integration(sfb.base_url())),
        &dir,
    )
    .await;
    let sf_person = sf_connector(sfb.base_url(), "admin@example.com", "admin");
    let (_, code) = sn_node
        .initiate(Initiate {
            remote_url: sf_node.url().to_string(),
            mode: ConnectionMode::Basic,
            name: Some("bulk".into()),
            remote_instance: None,
            description: String::new(),
        })
        .await
        .unwrap();
    let id = sf_node.accept(&code).await.unwrap().spec.id;
    let trigger = support::trigger(&sn_node, &id, "incident", "urgency=1").await;
    // Seeded urgent incidents predate the trigger: they wait for a bulk exalate.
    for _ in 0..4 {
        sn_node.tick().await;
        sf_node.tick().await;
    }
    assert_eq!(cases(&sf_person).await, 0);
    let urgent = sn
        .changes("incident", Some("urgency=1"), &Watermark::start(), 2000)
        .await
        .unwrap()
        .entities
        .len();
    assert!(urgent > 0);
    let mut pages = 0;
    let done = sn_node
        .bulk_exalate(trigger.id, |_| pages += 1)
        .await
        .unwrap();
    assert_eq!(done.matched, urgent);
    assert_eq!(done.queued, urgent);
    assert!(pages >= 1);
    eventually("every urgent incident as a case", || async {
        (cases(&sf_person).await == urgent).then_some(())
    })
    .await;
    // Run again: nothing new to send.
    let again = sn_node.bulk_exalate(trigger.id, |_| {}).await.unwrap();
    assert_eq!((again.matched, again.queued), (urgent, 0));
    sn_node.shutdown().await;
    sf_node.shutdown().await;
}

async fn cases(p: &Salesforce) -> usize {
    p.changes("Case", None, &Watermark::start(), 2000)
        .await
        .unwrap()
        .entities
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_connect_links_existing_records_and_unexalate_unlinks_them() {
    let support::Pair {
        sn_node,
        sf_node,
        sn_person,
        sf_person,
        id,
        keep: _keep,
    } = support::pair(ConnectionMode::Basic).await;
    // The same problem, filed on both sides before the connection existed.
    let inc = sn_person
        .create(
            "incident",
            "p-1",
            json!({"short_description": "Billing export fails", "description": "since Monday", "urgency": "3"})
                .as_object()
                .unwrap(),
        )
        .await
        .unwrap();
    let case = sf_person
        .create(
            "Case",
            "p-2",
            json!({"Subject": "Customer: export broken", "Priority": "Low"})
                .as_object()
                .unwrap(),
        )
        .await
        .unwrap();
    let linked = sn_node
        .bulk_connect(
            &id,
            &[twinsync_node::Pair {
                local_type: "incident".into(),
                local_key: inc.key.clone(),
                remote_type: "Case".into(),
                remote_key: case.key.clone(),
            }],
        )
        .await
        .unwrap();
    assert_eq!(linked, 1);
    eventually("the link acknowledged", || async {
        sn_node
            .store()
            .twin_of_local(&id, "incident", &inc.key)
            .await
            .ok()?
            .and_then(|t| t.remote)
    })
    .await;
    // Linking again changes nothing; nothing was overwritten on either side.
    let again = sn_node
        .bulk_connect(
            &id,
            &[twinsync_node::Pair {
                local_type: "incident".into(),
                local_key: inc.key.clone(),
                remote_type: "Case".into(),
                remote_key: case.key.clone(),
            }],
        )
        .await
        .unwrap();
    assert_eq!(again, 0);
    for _ in 0..3 {
        sn_node.tick().await;
        sf_node.tick().await;
    }
    let c = sf_person
        .get("Case", std::slice::from_ref(&case.key))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(c.fields["Subject"], "Customer: export broken");
    // A later change flows to the linked case, and only what changed.
    sn_person
        .update(
            "incident",
            &inc.key,
            json!({"description": "since Monday; CSV only"})
                .as_object()
                .unwrap(),
        )
        .await
        .unwrap();
    let c = eventually("the description on the linked case", || async {
        sf_person
            .get("Case", std::slice::from_ref(&case.key))
            .await
            .ok()?
            .pop()
            .filter(|c| c.fields["Description"] == "since Monday; CSV only")
    })
    .await;
    assert_eq!(c.fields["Subject"], "Customer: export broken");
    tokio::time::sleep(Duration::from_millis(2100)).await; // past the settle window
    assert_eq!(cases(&sf_person).await, 1, "no second case");

    // Unexalate: both twins go, and later edits stay where they are made.
    sn_node.unexalate(&id, "incident", &inc.key).await.unwrap();
    eventually("the other side's twin removed", || async {
        sf_node
            .store()
            .twins(&id, 10)
            .await
            .ok()
            .filter(|t| t.is_empty())
    })
    .await;
    sn_person
        .update(
            "incident",
            &inc.key,
            json!({"description": "after the unlink"})
                .as_object()
                .unwrap(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for _ in 0..3 {
        sn_node.tick().await;
        sf_node.tick().await;
    }
    let c = sf_person
        .get("Case", std::slice::from_ref(&case.key))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(c.fields["Description"], "since Monday; CSV only");
    assert!(sn_node.unexalate(&id, "incident", &inc.key).await.is_err());
    sn_node.shutdown().await;
    sf_node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_edits_with_triggers_matching_everything_ends_quiet() {
    let support::Pair {
        sn_node,
        sf_node,
        sn_person,
        sf_person,
        id,
        keep: _keep,
    } = support::pair(ConnectionMode::Basic).await;
    // Triggers that match every record on both sides: what the node writes matches them too.
    for (n, entity_type, query) in [
        (&sn_node, "incident", "active=true"),
        (
            &sf_node,
            "Case",
            "SELECT Id FROM Case WHERE IsClosed = false",
        ),
    ] {
        support::trigger(n, &id, entity_type, query).await;
    }
    let inc = sn_person
        .create(
            "incident",
            "burst",
            json!({"short_description": "Burst", "description": "edit 0"})
                .as_object()
                .unwrap(),
        )
        .await
        .unwrap();
    let twin = eventually("the case", || async {
        sn_node
            .store()
            .twin_of_local(&id, "incident", &inc.key)
            .await
            .ok()?
            .filter(|t| t.remote.is_some())
    })
    .await;
    let case_key = twin.remote.clone().unwrap().key;
    // Twenty edits within about a second.
    for i in 1..=20 {
        sn_person
            .update(
                "incident",
                &inc.key,
                json!({"description": format!("edit {i}")})
                    .as_object()
                    .unwrap(),
            )
            .await
            .unwrap();
    }
    eventually("the last edit on the case", || async {
        sf_person
            .get("Case", std::slice::from_ref(&case_key))
            .await
            .ok()?
            .pop()
            .filter(|c| c.fields["Description"] == "edit 20")
    })
    .await;
    // Quiet: a few seconds of rounds move nothing more, and nothing came back.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let applied_here = sf_node
        .store()
        .log_of(&id, &twin.correlation, 1000)
        .await
        .unwrap()
        .len();
    for _ in 0..5 {
        sn_node.tick().await;
        sf_node.tick().await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let applied_later = sf_node
        .store()
        .log_of(&id, &twin.correlation, 1000)
        .await
        .unwrap()
        .len();
    assert_eq!(applied_here, applied_later, "still syncing after the burst");
    assert!(
        (1..=21).contains(&applied_here),
        "{applied_here} applies for one create and 20 edits"
    );
    let came_back: Vec<_> = sn_node
        .store()
        .log_of(&id, &twin.correlation, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|l| l.entry.event != "sent")
        .collect();
    assert!(came_back.is_empty(), "echoed back: {came_back:?}");
    let sent_back = sf_node
        .store()
        .log_of(&id, &twin.correlation, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|l| l.entry.event == "sent")
        .count();
    assert_eq!(sent_back, 0, "the Salesforce node sent something back");
    for n in [&sn_node, &sf_node] {
        let d = n.store().depths(&id).await.unwrap();
        assert_eq!((d.outbox, d.inbox), (0, 0));
        assert_eq!(n.store().twins(&id, 10).await.unwrap().len(), 1);
    }
    sn_node.shutdown().await;
    sf_node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_twin_with_a_failing_rule_does_not_hold_up_the_others() {
    let support::Pair {
        sn_node,
        sf_node,
        sn_person,
        sf_person,
        id,
        keep: _keep,
    } = support::pair(ConnectionMode::Script).await;
    // An incoming rule that fails on one kind of record.
    sf_node
        .publish_rule(
            &id,
            twinsync_model::RuleDirection::Incoming,
            "entity.entityType = \"Case\"\nif (replica.summary.contains(\"boom\")) {\n    def nothing = null\n    nothing.size()\n}\nentity.Subject = replica.summary\n",
            "test",
        )
        .await
        .unwrap();
    support::trigger(&sn_node, &id, "incident", "urgency=1").await;
    for (i, summary) in ["first fine", "boom goes this one", "second fine"]
        .iter()
        .enumerate()
    {
        sn_person
            .create(
                "incident",
                &format!("iso-{i}"),
                json!({"short_description": summary, "urgency": "1"})
                    .as_object()
                    .unwrap(),
            )
            .await
            .unwrap();
    }
    eventually("both fine incidents as cases", || async {
        let a = case_with_subject(&sf_person, "first fine").await;
        let b = case_with_subject(&sf_person, "second fine").await;
        (a.is_some() && b.is_some()).then_some(())
    })
    .await;
    let errors = sf_node.store().open_errors(Some(&id)).await.unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].location.as_deref().unwrap().contains("line 4"),
        "{errors:?}"
    );
    assert!(case_with_subject(&sf_person, "boom goes this one")
        .await
        .is_none());
    sn_node.shutdown().await;
    sf_node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_connect_by_field_pairs_records_holding_the_same_value() {
    let support::Pair {
        sn_node,
        sf_node,
        sn_person,
        sf_person,
        id,
        keep: _keep,
    } = support::pair(ConnectionMode::Basic).await;
    // Records filed on both sides before the connection, naming the same problems; one
    // subject is used twice on the Salesforce side, one incident has no case.
    /// Files one record per title; their keys.
    async fn file(
        person: &dyn Platform,
        entity_type: &str,
        (title_field, description_field, side): (&str, &str, &str),
        titles: [&str; 4],
    ) -> Vec<String> {
        let mut keys = Vec::new();
        for (i, title) in titles.iter().enumerate() {
            let fields = json!({title_field: title, description_field: format!("{side} {i}")});
            let w = person
                .create(
                    entity_type,
                    &format!("{side}-{i}"),
                    fields.as_object().unwrap(),
                )
                .await
                .unwrap();
            keys.push(w.key);
        }
        keys
    }
    let incidents = file(
        &sn_person,
        "incident",
        ("short_description", "description", "local"),
        ["Printer, 3rd floor", "VPN drops", "Dup title", "Only here"],
    )
    .await;
    let cases = file(
        &sf_person,
        "Case",
        ("Subject", "Description", "remote"),
        ["Printer, 3rd floor", "VPN drops", "Dup title", "Dup title"],
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2100)).await; // the records' second is over
    let by = twinsync_node::MatchBy {
        local_type: "incident".into(),
        local_field: "short_description".into(),
        remote_type: "Case".into(),
        remote_field: "Subject".into(),
    };
    let m = sn_node.bulk_connect_by(&id, &by).await.unwrap();
    assert_eq!(m.local, 4);
    assert_eq!(m.pairs, 2);
    assert_eq!(m.linked, 2);
    assert_eq!(m.ambiguous, vec!["Dup title".to_string()]);
    assert_eq!(m.unmatched, 1);
    for (inc, case) in incidents.iter().zip(&cases).take(2) {
        let t = eventually("the link acknowledged", || async {
            sn_node
                .store()
                .twin_of_local(&id, "incident", inc)
                .await
                .ok()?
                .and_then(|t| t.remote)
        })
        .await;
        assert_eq!(&t.key, case);
    }
    // Linked without overwriting: each side keeps its own description.
    for _ in 0..3 {
        sn_node.tick().await;
        sf_node.tick().await;
    }
    let c = sf_person.get("Case", &cases[..1]).await.unwrap().remove(0);
    assert_eq!(c.fields["Description"], "remote 0");
    let i = sn_person
        .get("incident", &incidents[..1])
        .await
        .unwrap()
        .remove(0);
    assert_eq!(i.fields["description"], "local 0");
    // Again: nothing new to link.
    let again = sn_node.bulk_connect_by(&id, &by).await.unwrap();
    assert_eq!((again.pairs, again.linked), (2, 0));
    // From the other side (ServiceNow answers the look-up, a comma in a value included).
    let back = sf_node
        .bulk_connect_by(
            &id,
            &twinsync_node::MatchBy {
                local_type: "Case".into(),
                local_field: "Subject".into(),
                remote_type: "incident".into(),
                remote_field: "short_description".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!((back.local, back.pairs, back.linked), (4, 2, 0));
    assert_eq!(back.ambiguous, vec!["Dup title".to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_queued_while_the_remote_node_is_down_drains_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (snb, sfb) = sandboxes(0, 0).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    // Every write the Salesforce node makes, across its restart, in the order made.
    let writes = support::recording::Writes::default();
    let sf_platform = || -> Arc<dyn Platform> {
        Arc::new(support::recording::Recording {
            inner: Arc::new(support::sf_integration(sfb.base_url())),
            writes: writes.clone(),
        })
    };
    let sn_node = node(
        "sn",
        Arc::new(support::sn_integration(snb.base_url())),
        &dir,
    )
    .await;
    let sf_node = support::node_at("sf", sf_platform(), &dir, port).await;
    let id = support::connect(&sn_node, &sf_node, ConnectionMode::Basic).await;
    support::trigger(&sn_node, &id, "incident", "urgency=1").await;
    let sn_person = sn_connector(snb.base_url(), "admin");
    let sf_person = sf_connector(sfb.base_url(), "admin@example.com", "admin");
    let mut keys = Vec::new();
    for i in 0..5 {
        let w = sn_person
            .create(
                "incident",
                &format!("down-{i}"),
                json!({"short_description": format!("outage {i}"), "urgency": "1"})
                    .as_object()
                    .unwrap(),
            )
            .await
            .unwrap();
        keys.push(w.key);
    }
    eventually("the five cases", || async {
        (cases(&sf_person).await == 5).then_some(())
    })
    .await;

    // The Salesforce node goes away; edits keep coming on the ServiceNow side.
    sf_node.shutdown().await;
    for round in 0..6 {
        for k in &keys {
            sn_person
                .update(
                    "incident",
                    k,
                    json!({"description": format!("edit {round}")})
                        .as_object()
                        .unwrap(),
                )
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    eventually("a backlog waiting for the other node", || async {
        let d = sn_node.store().depths(&id).await.ok()?;
        (d.outbox > 0).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Back on the same address and data: the backlog drains, the last edit wins everywhere.
    let sf_node = support::node_at("sf", sf_platform(), &dir, port).await;
    eventually("every case at the last edit", || async {
        let got = sf_person
            .changes("Case", None, &Watermark::start(), 100)
            .await
            .ok()?;
        (got.entities.len() == 5
            && got
                .entities
                .iter()
                .all(|c| c.fields["Description"] == "edit 5"))
        .then_some(())
    })
    .await;
    eventually("the outbox drained", || async {
        let d = sn_node.store().depths(&id).await.ok()?;
        (d.outbox == 0).then_some(())
    })
    .await;
    assert_eq!(cases(&sf_person).await, 5, "no case made twice");

    // Each case got the edits in the order they were made, none twice: the descriptions
    // written to it climb strictly to the last edit. The node was down while 30 edits were
    // made, so some cases got several of them one after the other from the backlog.
    let writes = writes.lock().unwrap().clone();
    let mut per_case: std::collections::HashMap<String, Vec<u32>> = Default::default();
    for (key, fields) in &writes {
        if let Some(d) = fields.get("Description").and_then(|d| d.as_str()) {
            if let Some(n) = d.strip_prefix("edit ") {
                per_case
                    .entry(key.clone())
                    .or_default()
                    .push(n.parse().unwrap());
            }
        }
    }
    assert_eq!(per_case.len(), 5, "{writes:?}");
    for (key, edits) in &per_case {
        assert!(
            edits.windows(2).all(|w| w[0] < w[1]),
            "case {key} got edits out of order or twice: {edits:?}"
        );
        assert_eq!(edits.last(), Some(&5), "case {key}: {edits:?}");
    }
    let applied: usize = per_case.values().map(Vec::len).sum();
    assert!(
        applied > 5,
        "the backlog held more than the last edit of each case: {per_case:?}"
    );
    drop(sf_node);
}
