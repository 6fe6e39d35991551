//! Push: nodes that poll once an hour still sync at once, because the sandboxes notify them
//! (a ServiceNow business rule's REST message, a Salesforce outbound message). Whatever
//! syncs within the test's 30 s came by push. Also: two notifications for the same new
//! record at the same time make one twin and one record; the endpoint answers Salesforce
//! with the acknowledgement it waits for and refuses wrong tokens and bodies.

use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
mod support;

use support::{eventually, node_polling, sandboxes, PUSH_TOKEN, SETTLE};
use twinsync_connectors::salesforce::Salesforce;
use twinsync_connectors::{Entity, Platform, Watermark};
use twinsync_model::ConnectionMode;
use twinsync_node::Node;
use twinsync_store::Store;

const HOUR: Duration = Duration::from_secs(3600);

async fn cases_with_subject(sf: &Salesforce, subject: &str) -> Vec<Entity> {
    sf.changes("Case", None, &Watermark::start(), 2000)
        .await
        .map(|p| p.entities)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.fields["Subject"] == subject)
        .collect()
}

async fn post(url: &str, body: String, content_type: &str) -> (u16, String) {
    let r = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

struct Setup {
    _dir: tempfile::TempDir,
    snb: twinsync_sandbox::servicenow::ServiceNowSandbox,
    sfb: twinsync_sandbox::salesforce::SalesforceSandbox,
    sn_node: Node,
    sf_node: Node,
    id: String,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let (snb, sfb) = sandboxes(0, 0).await;
    let sn_node = node_polling(
        "acme-servicenow",
        Arc::new(support::sn_integration(snb.base_url())),
        &dir,
        Vec::new(),
        HOUR,
    )
    .await;
    let sf_node = node_polling(
        "acme-salesforce",
        Arc::new(support::sf_integration(sfb.base_url())),
        &dir,
        Vec::new(),
        HOUR,
    )
    .await;
    let id = support::connect(&sn_node, &sf_node, ConnectionMode::Basic).await;
    support::trigger(&sn_node, &id, "incident", "urgency=1").await;
    support::trigger(&sf_node, &id, "Case", "Priority = 'High'").await;
    Setup {
        _dir: dir,
        snb,
        sfb,
        sn_node,
        sf_node,
        id,
    }
}

/// Registers a ServiceNow business-rule stand-in that posts incident changes to `node`.
async fn servicenow_webhook(snb: &str, node: &Node) {
    let r = reqwest::Client::new()
        .post(format!("{snb}/sandbox/webhooks"))
        .basic_auth("admin", Some("admin"))
        .json(&json!({"url": format!("{}/hooks/{PUSH_TOKEN}", node.url()), "table": "incident"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
}

/// Registers an outbound message for every case change, sent to `node`.
async fn salesforce_outbound(sfb: &str, node: &Node) -> String {
    let r = reqwest::Client::new()
        .post(format!("{sfb}/sandbox/outbound-messages"))
        .json(&json!({"object": "Case", "fields": ["Subject"], "url": format!("{}/hooks/{PUSH_TOKEN}", node.url())}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let v: Value = r.json().await.unwrap();
    v["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_changes_sync_both_ways_without_a_poll() {
    let s = setup().await;
    servicenow_webhook(s.snb.base_url(), &s.sn_node).await;
    let outbound = salesforce_outbound(s.sfb.base_url(), &s.sf_node).await;
    let sn_person = support::sn_connector(s.snb.base_url(), "admin", SETTLE);
    let sf_person = support::sf_connector(s.sfb.base_url(), "admin@example.com", "admin", SETTLE);

    let inc = sn_person
        .create(
            "incident",
            "p-1",
            json!({"short_description": "Pushed across", "urgency": "1"})
                .as_object()
                .unwrap(),
        )
        .await
        .unwrap();
    let case = eventually("the case made by push", || async {
        cases_with_subject(&sf_person, "Pushed across").await.pop()
    })
    .await;
    assert!(s.sn_node.metrics().pushed.load(Ordering::Relaxed) >= 1);

    // Back the other way: an outbound message for the case's update.
    sf_person
        .update(
            "Case",
            &case.key,
            json!({"Description": "answered from sales"})
                .as_object()
                .unwrap(),
        )
        .await
        .unwrap();
    eventually("the incident updated by push", || async {
        let e = sn_person
            .get("incident", std::slice::from_ref(&inc.key))
            .await
            .ok()?
            .pop()?;
        (e.fields["description"] == "answered from sales").then_some(())
    })
    .await;
    // Salesforce got its acknowledgements: nothing waits for a retry.
    let r: Value = reqwest::get(format!(
        "{}/sandbox/outbound-messages/{outbound}",
        s.sfb.base_url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let delivery = &r["delivery"];
    assert!(delivery["delivered"].as_u64().unwrap() >= 1, "{r}");
    assert_eq!(delivery["failed_attempts"].as_u64().unwrap_or(0), 0, "{r}");
    // The feed shows a change once the settle second after it is over.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        cases_with_subject(&sf_person, "Pushed across").await.len(),
        1
    );
    assert_eq!(s.sn_node.store().twins(&s.id, 10).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_notifications_for_one_new_record_at_once_make_one_twin() {
    let s = setup().await;
    // Two business rules notify the node of the same change, and a third copy is
    // posted by hand at the same moment.
    servicenow_webhook(s.snb.base_url(), &s.sn_node).await;
    servicenow_webhook(s.snb.base_url(), &s.sn_node).await;
    let sn_person = support::sn_connector(s.snb.base_url(), "admin", SETTLE);
    let sf_person = support::sf_connector(s.sfb.base_url(), "admin@example.com", "admin", SETTLE);
    let inc = sn_person
        .create(
            "incident",
            "p-2",
            json!({"short_description": "Told three times", "urgency": "1"})
                .as_object()
                .unwrap(),
        )
        .await
        .unwrap();
    let hook = format!("{}/hooks/{PUSH_TOKEN}", s.sn_node.url());
    let body = json!({"table": "incident", "sys_id": inc.key}).to_string();
    let (a, b) = tokio::join!(
        post(&hook, body.clone(), "application/json"),
        post(&hook, body, "application/json")
    );
    assert_eq!((a.0, b.0), (200, 200), "{a:?} {b:?}");
    eventually("all notifications received", || async {
        (s.sn_node.metrics().pushed.load(Ordering::Relaxed) >= 4).then_some(())
    })
    .await;
    eventually("the case", || async {
        cases_with_subject(&sf_person, "Told three times")
            .await
            .pop()
    })
    .await;
    // Give any duplicate the time to appear: the link coming back means the receiving
    // side finished with every message it got.
    eventually("the link back", || async {
        let twins = s.sn_node.store().twins(&s.id, 10).await.ok()?;
        twins
            .iter()
            .find(|t| t.local.as_ref().is_some_and(|l| l.key == inc.key) && t.remote.is_some())
            .map(|_| ())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        cases_with_subject(&sf_person, "Told three times")
            .await
            .len(),
        1
    );
    assert_eq!(s.sn_node.store().twins(&s.id, 10).await.unwrap().len(), 1);
    assert_eq!(s.sf_node.store().twins(&s.id, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_endpoint_acks_salesforce_and_refuses_what_is_wrong() {
    let s = setup().await;
    let sf_hook = format!("{}/hooks/{PUSH_TOKEN}", s.sf_node.url());
    let envelope = r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>00D000000000001AAA</OrganizationId><ActionId>04k000000000001AAA</ActionId><Notification><Id>04l000000000001AAA</Id><sObject xsi:type="sf:Account" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>001000000000001AAA</sf:Id></sObject></Notification></notifications></soapenv:Body></soapenv:Envelope>"#;
    let (status, body) = post(&sf_hook, envelope.into(), "text/xml; charset=utf-8").await;
    assert_eq!(status, 200);
    assert!(body.contains("<Ack>true</Ack>"), "{body}");
    assert!(body.contains("notificationsResponse"), "{body}");
    // An object the node does not sync is acknowledged and not looked at.
    assert_eq!(s.sf_node.metrics().pushed.load(Ordering::Relaxed), 0);

    let (status, body) = post(&sf_hook, "<oops".into(), "text/xml").await;
    assert_eq!(status, 400, "{body}");
    let wrong = format!("{}/hooks/not-the-token-at-all", s.sf_node.url());
    let (status, body) = post(&wrong, envelope.into(), "text/xml").await;
    assert_eq!(status, 403, "{body}");
    let sn_hook = format!("{}/hooks/{PUSH_TOKEN}", s.sn_node.url());
    let (status, body) = post(
        &sn_hook,
        r#"{"table":"incident"}"#.into(),
        "application/json",
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("sys_id"), "{body}");
}
