//! Flows an admin relies on, between two nodes on loopback: the Task rule from the rules
//! issue syncs Salesforce tasks; commenting out `replica.description` in the outgoing rule
//! stops the description from being shared; a deactivated connection queues changes and
//! delivers them once activated.

mod support;

use serde_json::json;
use std::time::Duration;
use support::eventually;
use twinsync_connectors::Platform;
use twinsync_model::{ConnectionMode, ConnectionStatus, RuleDirection};
use twinsync_store::Store;

fn fields(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    v.as_object().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_task_rule_from_the_rules_issue_syncs_salesforce_tasks() {
    let p = support::pair(ConnectionMode::Script).await;
    p.sf_node
        .publish_rule(
            &p.id,
            RuleDirection::Outgoing,
            "if(entity.entityType == \"Task\") {\n    replica.key        = entity.Id\n    replica.summary    = entity.Subject\n    replica.description = entity.Description\n}\n",
            "test",
        )
        .await
        .unwrap();
    support::trigger(
        &p.sf_node,
        &p.id,
        "Task",
        "SELECT Id FROM Task WHERE Priority = 'High'",
    )
    .await;
    let task = p
        .sf_person
        .create(
            "Task",
            "t-1",
            &fields(json!({"Subject": "Call the customer back", "Description": "about the outage", "Priority": "High", "Status": "Not Started"})),
        )
        .await
        .unwrap();
    let task_key = task.key;
    let incident = eventually("the task as a ServiceNow record", || async {
        let twin = p
            .sf_node
            .store()
            .twin_of_local(&p.id, "Task", &task_key)
            .await
            .ok()??;
        let remote = twin.remote?;
        p.sn_person
            .get(&remote.entity_type, &[remote.key])
            .await
            .ok()?
            .pop()
    })
    .await;
    assert_eq!(
        incident.fields["short_description"],
        "Call the customer back"
    );
    assert_eq!(incident.fields["description"], "about the outage");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commenting_out_the_description_in_the_outgoing_rule_stops_sharing_it() {
    let p = support::pair(ConnectionMode::Script).await;
    support::trigger(&p.sn_node, &p.id, "incident", "urgency=1").await;
    let inc = p
        .sn_person
        .create(
            "incident",
            "d-1",
            &fields(
                json!({"short_description": "Shared", "description": "first text", "urgency": "1"}),
            ),
        )
        .await
        .unwrap();
    let case_key = eventually("the case", || async {
        p.sn_node
            .store()
            .twin_of_local(&p.id, "incident", &inc.key)
            .await
            .ok()??
            .remote
            .map(|r| r.key)
    })
    .await;
    // The default outgoing rule with the description line commented out.
    let rule = twinsync_node::engine::defaults::rule(
        twinsync_model::PlatformKind::ServiceNow,
        RuleDirection::Outgoing,
    )
    .replace(
        "replica.description = entity.description",
        "// replica.description = entity.description",
    );
    assert!(rule.contains("// replica.description"));
    p.sn_node
        .publish_rule(&p.id, RuleDirection::Outgoing, &rule, "test")
        .await
        .unwrap();
    p.sn_person
        .update(
            "incident",
            &inc.key,
            &fields(json!({"short_description": "Shared, renamed", "description": "private text"})),
        )
        .await
        .unwrap();
    let case = eventually("the new summary on the case", || async {
        p.sf_person
            .get("Case", std::slice::from_ref(&case_key))
            .await
            .ok()?
            .pop()
            .filter(|c| c.fields["Subject"] == "Shared, renamed")
    })
    .await;
    assert_eq!(
        case.fields["Description"], "first text",
        "the description stayed private"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivated_connection_queues_changes_and_delivers_them_once_activated() {
    let p = support::pair(ConnectionMode::Script).await;
    support::trigger(&p.sn_node, &p.id, "incident", "urgency=1").await;
    p.sn_node
        .set_status(&p.id, ConnectionStatus::Inactive)
        .await
        .unwrap();
    let inc = p
        .sn_person
        .create(
            "incident",
            "q-1",
            &fields(json!({"short_description": "Queued while paused", "urgency": "1"})),
        )
        .await
        .unwrap();
    // Detected and queued, not delivered.
    eventually("the change queued", || async {
        let d = p.sn_node.store().depths(&p.id).await.ok()?;
        (d.outbox > 0).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(p.sf_node.store().twins(&p.id, 10).await.unwrap().is_empty());
    p.sn_node
        .set_status(&p.id, ConnectionStatus::Active)
        .await
        .unwrap();
    eventually("the case after activation", || async {
        p.sn_node
            .store()
            .twin_of_local(&p.id, "incident", &inc.key)
            .await
            .ok()??
            .remote
    })
    .await;
    assert_eq!(p.sn_node.store().depths(&p.id).await.unwrap().outbox, 0);
}
