//! Outbound messages: matching Case changes are sent as SOAP `notifications` envelopes, in
//! order, to a local receiver, retried until it acknowledges; bad registrations are refused
//! and a removed message sends nothing more.

mod sf_common;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use parking_lot::Mutex;
use reqwest::Method;
use serde_json::{json, Value};
use sf_common::{start, start_with, Sf};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use twinsync_sandbox::salesforce::SalesforceConfig;

const ACK: &str = r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>"#;

/// How the receiver answers one delivery.
#[derive(Debug, Clone, Copy)]
enum Answer {
    /// 200 with the acknowledgement.
    Ack,
    /// 500 with a SOAP fault.
    ServerError,
    /// 200 without `<Ack>true</Ack>`.
    NoAck,
}

/// One delivery as received.
#[derive(Debug, Clone)]
struct Delivery {
    body: String,
    content_type: String,
    /// Whether it was acknowledged.
    acked: bool,
}

/// A local receiver that records every delivery and answers from a script (then acks).
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Delivery>>>,
    script: Arc<Mutex<VecDeque<Answer>>>,
}

impl Receiver {
    /// Bodies of the acknowledged deliveries, in arrival order.
    fn acked(&self) -> Vec<String> {
        self.got
            .lock()
            .iter()
            .filter(|d| d.acked)
            .map(|d| d.body.clone())
            .collect()
    }

    fn calls(&self) -> usize {
        self.got.lock().len()
    }
}

async fn receive(
    State(r): State<Receiver>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, String) {
    let answer = r.script.lock().pop_front().unwrap_or(Answer::Ack);
    r.got.lock().push(Delivery {
        body,
        content_type: headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string(),
        acked: matches!(answer, Answer::Ack),
    });
    match answer {
        Answer::Ack => (StatusCode::OK, ACK.to_string()),
        Answer::ServerError => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "<soapenv:Envelope><soapenv:Body><soapenv:Fault><faultstring>busy</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>".to_string(),
        ),
        Answer::NoAck => (
            StatusCode::OK,
            ACK.replace("<Ack>true</Ack>", "<Ack>false</Ack>"),
        ),
    }
}

/// Starts a receiver on an ephemeral port; its URL.
async fn receiver(script: &[Answer]) -> (Receiver, String) {
    let r = Receiver::default();
    r.script.lock().extend(script.iter().copied());
    let app = Router::new()
        .route("/outbound", post(receive))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/outbound", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (r, url)
}

/// Waits (up to 20 s) until `r` acknowledged `n` deliveries.
async fn wait_for(r: &Receiver, n: usize) -> Vec<String> {
    for _ in 0..400 {
        if r.acked().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = r.acked();
    assert!(
        got.len() >= n,
        "expected {n} deliveries, got {}: {got:#?}",
        got.len()
    );
    got
}

/// Registers an outbound message; its id.
async fn register(sf: &Sf, spec: Value) -> String {
    let (status, body) = sf
        .admin(Method::POST, "/sandbox/outbound-messages", Some(spec))
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}

fn spec(url: &str) -> Value {
    json!({
        "object": "Case",
        "fields": ["Subject", "Status", "Priority"],
        "url": url,
        "condition": "Priority = 'High'",
        "retry": {"max_attempts": 20, "initial_backoff_ms": 20, "max_backoff_ms": 200}
    })
}

/// The text inside the first `<tag>…</tag>` (attributes allowed), if any.
fn element<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = xml
        .find(&format!("<{tag}>"))
        .map(|i| i + tag.len() + 2)
        .or_else(|| {
            let i = xml.find(&format!("<{tag} "))?;
            Some(i + xml[i..].find('>')? + 1)
        })?;
    let close = xml[open..].find(&format!("</{tag}>"))?;
    Some(&xml[open..open + close])
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

async fn patch(sf: &Sf, id: &str, body: Value) {
    let (status, out) = sf
        .call(
            sf.api(Method::PATCH, &format!("/sobjects/Case/{id}"))
                .json(&body),
        )
        .await;
    assert_eq!(status, 204, "{out}");
}

async fn delivery_counts(sf: &Sf, id: &str) -> Value {
    let (status, body) = sf
        .admin(
            Method::GET,
            &format!("/sandbox/outbound-messages/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["delivery"].clone()
}

/// Waits (up to 20 s) until the message has nothing pending; its counts.
async fn settled(sf: &Sf, id: &str, delivered: u64) -> Value {
    let mut counts = Value::Null;
    for _ in 0..400 {
        counts = delivery_counts(sf, id).await;
        if counts["delivered"] == delivered && counts["pending"] == 0 {
            return counts;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not settled at {delivered} deliveries: {counts}");
}

#[tokio::test]
async fn matching_case_changes_arrive_in_order_as_notifications() {
    let sf = start(3).await;
    let (rx, url) = receiver(&[]).await;
    let action = register(&sf, spec(&url)).await;
    assert!(action.starts_with("04k"), "{action}");
    assert_eq!(action.len(), 18);
    let (_, info) = sf.admin(Method::GET, "/sandbox", None).await;
    let org = info["organization_id"].as_str().unwrap().to_string();

    // 1: created High (sent); 2: created Low (not sent); 3: 2 raised to High (sent);
    // 4: 1 edited while High (sent); 5: 1 lowered to Medium (not sent); 6: 2 edited while
    // High with markup in its subject (sent).
    let first = sf
        .create(
            "Case",
            json!({"Subject": "first", "Priority": "High", "Status": "New"}),
        )
        .await;
    let second = sf
        .create("Case", json!({"Subject": "second", "Priority": "Low"}))
        .await;
    patch(
        &sf,
        &second,
        json!({"Priority": "High", "Subject": "second raised"}),
    )
    .await;
    patch(
        &sf,
        &first,
        json!({"Subject": "first edited", "Status": "Working"}),
    )
    .await;
    patch(
        &sf,
        &first,
        json!({"Priority": "Medium", "Subject": "first lowered"}),
    )
    .await;
    let tricky = r#"Printer <&> "on fire" & 'smoking'"#;
    patch(&sf, &second, json!({"Subject": tricky})).await;

    let got = wait_for(&rx, 4).await;
    let counts = settled(&sf, &action, 4).await;
    assert_eq!(counts["queued"], 4, "{counts}");
    assert_eq!(counts["failed_attempts"], 0, "{counts}");
    assert_eq!(rx.calls(), 4, "exactly the matching changes are sent");

    let subjects: Vec<String> = got
        .iter()
        .map(|b| unescape(element(b, "sf:Subject").unwrap()))
        .collect();
    assert_eq!(
        subjects,
        ["first", "second raised", "first edited", tricky],
        "in the order the changes happened"
    );
    let ids: Vec<&str> = got.iter().map(|b| element(b, "sf:Id").unwrap()).collect();
    assert_eq!(ids, [&first, &second, &first, &second]);

    let mut notification_ids = Vec::new();
    for (body, delivery) in got.iter().zip(rx.got.lock().iter()) {
        assert!(
            delivery.content_type.starts_with("text/xml"),
            "{}",
            delivery.content_type
        );
        assert!(body.starts_with("<?xml"), "{body}");
        assert!(body.contains(r#"xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/""#));
        assert!(body.contains(r#"<notifications xmlns="http://soap.sforce.com/2005/09/outbound">"#));
        assert_eq!(element(body, "OrganizationId"), Some(org.as_str()));
        assert_eq!(element(body, "ActionId"), Some(action.as_str()));
        assert!(body.contains(r#"<SessionId xsi:nil="true"/>"#), "{body}");
        let enterprise = element(body, "EnterpriseUrl").unwrap();
        assert!(enterprise.starts_with(&sf.url), "{enterprise}");
        assert!(enterprise.contains("/services/Soap/c/"), "{enterprise}");
        assert!(element(body, "PartnerUrl")
            .unwrap()
            .contains("/services/Soap/u/"));
        // The schema fixes the order of the header elements.
        let at = |s: &str| body.find(s).unwrap_or_else(|| panic!("{s} in {body}"));
        assert!(at("<OrganizationId>") < at("<ActionId>"));
        assert!(at("<ActionId>") < at("<SessionId"));
        assert!(at("<SessionId") < at("<EnterpriseUrl>"));
        assert!(at("<EnterpriseUrl>") < at("<PartnerUrl>"));
        assert!(at("<PartnerUrl>") < at("<Notification>"));
        let notification = element(body, "Notification").unwrap();
        let id = element(notification, "Id").unwrap();
        assert!(id.starts_with("04l") && id.len() == 18, "{id}");
        notification_ids.push(id.to_string());
        assert!(
            notification.contains(
                r#"<sObject xsi:type="sf:Case" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">"#
            ),
            "{notification}"
        );
        let sobject = element(notification, "sObject").unwrap();
        // Only Id and the selected fields.
        for field in ["sf:Id", "sf:Subject", "sf:Status", "sf:Priority"] {
            assert!(element(sobject, field).is_some(), "{field} in {sobject}");
        }
        for field in ["sf:CaseNumber", "sf:Description", "sf:OwnerId"] {
            assert!(element(sobject, field).is_none(), "{field} in {sobject}");
        }
        assert_eq!(element(sobject, "sf:Priority"), Some("High"));
        assert_eq!(body.matches("<Notification>").count(), 1);
    }
    let statuses: Vec<&str> = got
        .iter()
        .map(|b| element(b, "sf:Status").unwrap())
        .collect();
    assert_eq!(statuses, ["New", "New", "Working", "New"]);
    notification_ids.sort();
    notification_ids.dedup();
    assert_eq!(
        notification_ids.len(),
        4,
        "each notification has its own id"
    );

    // Markup in values is escaped, never sent raw.
    let last = &got[3];
    assert!(
        last.contains("<sf:Subject>Printer &lt;&amp;&gt; &quot;on fire&quot; &amp; 'smoking'</sf:Subject>")
            || last.contains(
                "<sf:Subject>Printer &lt;&amp;&gt; &quot;on fire&quot; &amp; &apos;smoking&apos;</sf:Subject>"
            ),
        "{last}"
    );
    assert!(!last.contains("<&>"));

    // The registration is listed with its counts.
    let (status, list) = sf
        .admin(Method::GET, "/sandbox/outbound-messages", None)
        .await;
    assert_eq!(status, 200);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], action.as_str());
    assert_eq!(list[0]["spec"]["condition"], "Priority = 'High'");
    assert_eq!(list[0]["delivery"]["delivered"], 4);
}

#[tokio::test]
async fn changes_through_composite_calls_are_sent_and_rolled_back_ones_are_not() {
    let sf = start(1).await;
    let (rx, url) = receiver(&[]).await;
    let action = register(&sf, spec(&url)).await;
    let (status, body) = sf
        .call(sf.api(Method::POST, "/composite/sobjects").json(&json!({
            "allOrNone": true,
            "records": [
                {"attributes": {"type": "Case"}, "Subject": "rolled back", "Priority": "High"},
                {"attributes": {"type": "Case"}, "Subject": "bad", "Priority": "Urgent"}
            ]
        })))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body[0]["success"], false, "{body}");
    let (status, body) = sf
        .call(sf.api(Method::POST, "/composite/sobjects").json(&json!({
            "records": [
                {"attributes": {"type": "Case"}, "Subject": "batch one", "Priority": "High"},
                {"attributes": {"type": "Case"}, "Subject": "batch low", "Priority": "Low"},
                {"attributes": {"type": "Case"}, "Subject": "batch two", "Priority": "High"}
            ]
        })))
        .await;
    assert_eq!(status, 200, "{body}");
    let got = wait_for(&rx, 2).await;
    settled(&sf, &action, 2).await;
    let subjects: Vec<&str> = got
        .iter()
        .map(|b| element(b, "sf:Subject").unwrap())
        .collect();
    assert_eq!(subjects, ["batch one", "batch two"]);
    assert_eq!(rx.calls(), 2);
}

#[tokio::test]
async fn a_receiver_that_fails_or_does_not_ack_is_retried_until_it_acks() {
    let sf = start(1).await;
    let (rx, url) = receiver(&[
        Answer::ServerError,
        Answer::NoAck,
        Answer::ServerError,
        Answer::NoAck,
    ])
    .await;
    let action = register(&sf, spec(&url)).await;
    let counts = delivery_counts(&sf, &action).await;
    assert_eq!(counts["queued"], 0, "{counts}");
    let a = sf
        .create("Case", json!({"Subject": "retried", "Priority": "High"}))
        .await;
    let b = sf
        .create("Case", json!({"Subject": "behind it", "Priority": "High"}))
        .await;
    let got = wait_for(&rx, 2).await;
    let counts = settled(&sf, &action, 2).await;
    assert_eq!(counts["failed_attempts"], 4, "{counts}");
    assert_eq!(counts["dropped"], 0, "{counts}");
    assert!(
        counts["last_error"].as_str().unwrap().contains("Ack"),
        "the last failure was a missing ack: {counts}"
    );
    let ids: Vec<&str> = got.iter().map(|b| element(b, "sf:Id").unwrap()).collect();
    assert_eq!(ids, [&a, &b], "the retried one is still delivered first");
    // Every attempt carried the same notification.
    let attempts: Vec<String> = rx.got.lock().iter().map(|d| d.body.clone()).collect();
    assert_eq!(attempts.len(), 6);
    for attempt in &attempts[..5] {
        assert_eq!(attempt, &attempts[0]);
    }
    assert_ne!(attempts[5], attempts[0]);
}

#[tokio::test]
async fn a_receiver_that_never_acks_has_the_notification_dropped_after_max_attempts() {
    let sf = start(1).await;
    let (rx, url) = receiver(&[Answer::NoAck; 50]).await;
    let mut s = spec(&url);
    s["retry"] = json!({"max_attempts": 3, "initial_backoff_ms": 10, "max_backoff_ms": 20});
    let action = register(&sf, s).await;
    sf.create(
        "Case",
        json!({"Subject": "never acked", "Priority": "High"}),
    )
    .await;
    let mut counts = Value::Null;
    for _ in 0..400 {
        counts = delivery_counts(&sf, &action).await;
        if counts["dropped"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(counts["dropped"], 1, "{counts}");
    assert_eq!(counts["failed_attempts"], 3, "{counts}");
    assert_eq!(counts["delivered"], 0, "{counts}");
    assert_eq!(counts["pending"], 0, "{counts}");
    assert_eq!(rx.calls(), 3);
}

#[tokio::test]
async fn bad_registrations_are_refused_with_the_reason() {
    let sf = start(0).await;
    let url = "http://127.0.0.1:9/outbound";
    let with = |patch: Value| {
        let mut s = spec(url);
        for (k, v) in patch.as_object().unwrap() {
            s[k] = v.clone();
        }
        s
    };
    for (body, reason) in [
        (with(json!({"object": "Nope"})), "Nope"),
        (with(json!({"fields": ["Subject", "Sujbect"]})), "Sujbect"),
        (with(json!({"url": "not a url"})), "url"),
        (with(json!({"url": "ftp://127.0.0.1/x"})), "http"),
        (with(json!({"condition": "Priority = "})), "condition"),
        (with(json!({"condition": "Nope__c = 'x'"})), "Nope__c"),
        (with(json!({"condition": "Priority = High"})), "condition"),
        (
            with(
                json!({"retry": {"max_attempts": 0, "initial_backoff_ms": 1, "max_backoff_ms": 1}}),
            ),
            "max_attempts",
        ),
        (with(json!({"bogus": true})), "bogus"),
        (json!({"object": "Case", "fields": ["Subject"]}), "url"),
        (json!([1, 2]), "outbound message"),
    ] {
        let (status, v) = sf
            .admin(
                Method::POST,
                "/sandbox/outbound-messages",
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, 400, "{body}: {v}");
        let message = v["error"].as_str().unwrap_or_else(|| panic!("{v}"));
        assert!(message.contains(reason), "{body}: {message}");
    }
    let r = sf
        .raw(Method::POST, "/sandbox/outbound-messages")
        .body("{garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let (status, v) = sf
        .admin(Method::GET, "/sandbox/outbound-messages", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(v, json!([]), "nothing was registered");
    let (status, _) = sf
        .admin(
            Method::GET,
            "/sandbox/outbound-messages/04k000000000001AAA",
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = sf
        .admin(
            Method::DELETE,
            "/sandbox/outbound-messages/04k000000000001AAA",
            None,
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_deleted_message_sends_nothing_more() {
    let sf = start(1).await;
    let (removed_rx, removed_url) = receiver(&[]).await;
    let removed = register(&sf, spec(&removed_url)).await;
    let id = sf
        .create("Case", json!({"Subject": "before", "Priority": "High"}))
        .await;
    wait_for(&removed_rx, 1).await;

    let (status, _) = sf
        .admin(
            Method::DELETE,
            &format!("/sandbox/outbound-messages/{removed}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = sf
        .admin(
            Method::GET,
            &format!("/sandbox/outbound-messages/{removed}"),
            None,
        )
        .await;
    assert_eq!(status, 404);

    // A second message, registered after, is the sentinel: once it has received the later
    // changes, the removed one would have too.
    let (kept_rx, kept_url) = receiver(&[]).await;
    let kept = register(&sf, spec(&kept_url)).await;
    assert_ne!(kept, removed);
    patch(&sf, &id, json!({"Subject": "after"})).await;
    sf.create("Case", json!({"Subject": "after too", "Priority": "High"}))
        .await;
    let got = wait_for(&kept_rx, 2).await;
    assert_eq!(element(&got[0], "ActionId"), Some(kept.as_str()));
    assert_eq!(element(&got[0], "sf:Subject"), Some("after"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        removed_rx.calls(),
        1,
        "the removed message sent nothing more"
    );
    let (_, list) = sf
        .admin(Method::GET, "/sandbox/outbound-messages", None)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], kept.as_str());
}

/// A temporary directory removed when dropped.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn registrations_survive_a_restart_and_no_id_is_reused() {
    let dir = TempDir(std::env::temp_dir().join(format!(
        "twinsync-sf-outbound-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    )));
    std::fs::create_dir_all(&dir.0).unwrap();
    let config = || SalesforceConfig {
        data: Some(dir.0.join("org.jsonl")),
        seed_cases: 1,
        ..Default::default()
    };
    let (rx, url) = receiver(&[]).await;
    let sf = start_with(config()).await;
    let action = register(&sf, spec(&url)).await;
    sf.create("Case", json!({"Subject": "before", "Priority": "High"}))
        .await;
    wait_for(&rx, 1).await;
    sf.sandbox.shutdown().await;

    let sf = start_with(config()).await;
    sf.create("Case", json!({"Subject": "after", "Priority": "High"}))
        .await;
    let got = wait_for(&rx, 2).await;
    let subjects: Vec<&str> = got
        .iter()
        .map(|b| element(b, "sf:Subject").unwrap())
        .collect();
    assert_eq!(subjects, ["before", "after"]);
    for body in &got {
        assert_eq!(element(body, "ActionId"), Some(action.as_str()));
    }
    // Receivers de-duplicate on the notification id: a new change needs a new one.
    let ids: Vec<&str> = got
        .iter()
        .map(|b| element(element(b, "Notification").unwrap(), "Id").unwrap())
        .collect();
    assert_ne!(
        ids[0], ids[1],
        "a notification id was reused after the restart"
    );
    for id in &ids {
        assert!(id.starts_with("04l") && id.len() == 18, "{id}");
        assert_eq!(
            twinsync_model::salesforce_id::normalize(&id[..15]).as_deref(),
            Some(*id),
            "a well-formed id"
        );
    }
    // Removing the message and registering another gives a new action id too.
    let (status, _) = sf
        .admin(
            Method::DELETE,
            &format!("/sandbox/outbound-messages/{action}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    sf.sandbox.shutdown().await;
    let sf = start_with(config()).await;
    let again = register(&sf, spec(&url)).await;
    assert_ne!(again, action, "an action id was reused");
    sf.sandbox.shutdown().await;
}
