//! Push: webhooks fire on matching inserts and updates, in order, retried until accepted.

mod common;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use common::start;
use parking_lot::Mutex;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A receiver that records what it is sent and fails the first `fail_first` deliveries.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Value>>>,
    fail_first: Arc<AtomicUsize>,
    calls: Arc<AtomicUsize>,
}

async fn receive(State(r): State<Receiver>, Json(body): Json<Value>) -> http::StatusCode {
    let n = r.calls.fetch_add(1, Ordering::SeqCst);
    if n < r.fail_first.load(Ordering::SeqCst) {
        return http::StatusCode::SERVICE_UNAVAILABLE;
    }
    r.got.lock().push(body);
    http::StatusCode::OK
}

async fn receiver(fail_first: usize) -> (Receiver, String) {
    let r = Receiver::default();
    r.fail_first.store(fail_first, Ordering::SeqCst);
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (r, url)
}

async fn wait_for(r: &Receiver, n: usize) -> Vec<Value> {
    for _ in 0..200 {
        if r.got.lock().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    r.got.lock().clone()
}

#[tokio::test]
async fn matching_changes_are_pushed_in_order_with_the_record() {
    let sn = start(0).await;
    let (rx, url) = receiver(0).await;
    let r = sn
        .req(Method::POST, "/sandbox/webhooks")
        .json(&json!({"url": url, "table": "incident", "condition": "urgency=1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let hook: Value = r.json().await.unwrap();
    let hook_id = hook["id"].as_str().unwrap().to_string();

    let urgent = sn
        .create(
            "incident",
            json!({"short_description": "urgent", "urgency": 1}),
        )
        .await;
    let id = urgent["sys_id"].as_str().unwrap().to_string();
    sn.create(
        "incident",
        json!({"short_description": "not urgent", "urgency": 3}),
    )
    .await;
    for i in 0..5 {
        sn.patch("incident", &id, json!({"description": format!("edit {i}")}))
            .await;
    }
    sn.patch(
        "incident",
        &id,
        json!({"comments": "a comment is an update too"}),
    )
    .await;
    sn.patch("incident", &id, json!({"urgency": 2})).await; // no longer matches: not pushed

    let got = wait_for(&rx, 7).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        rx.got.lock().len(),
        7,
        "only changes matching the condition are pushed"
    );
    assert_eq!(got[0]["operation"], "insert");
    assert_eq!(got[0]["table"], "incident");
    assert_eq!(got[0]["sys_id"], id.as_str());
    assert_eq!(got[0]["record"]["short_description"], "urgent");
    assert_eq!(got[0]["record"]["number"], urgent["number"]);
    let counts: Vec<u64> = got
        .iter()
        .map(|g| g["sys_mod_count"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(
        counts,
        [0, 1, 2, 3, 4, 5, 6],
        "in the order the changes happened"
    );
    assert_eq!(got[5]["record"]["description"], "edit 4");
    assert_eq!(got[6]["operation"], "update");
    assert_eq!(got[6]["sys_updated_by"], "itil");

    let v: Value = sn
        .req(Method::GET, &format!("/sandbox/webhooks/{hook_id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["delivery"]["delivered"], 7);
    assert_eq!(v["delivery"]["pending"], 0);

    assert_eq!(
        sn.req(Method::DELETE, &format!("/sandbox/webhooks/{hook_id}"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    sn.patch("incident", &id, json!({"urgency": 1})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.got.lock().len(), 7, "a removed webhook pushes nothing");
}

#[tokio::test]
async fn failed_deliveries_are_retried_with_backoff_and_keep_their_order() {
    let sn = start(0).await;
    let (rx, url) = receiver(3).await;
    let r = sn
        .req(Method::POST, "/sandbox/webhooks")
        .json(&json!({"url": url, "table": "incident", "events": ["insert"], "retry": {"max_attempts": 10, "initial_backoff_ms": 20, "max_backoff_ms": 100}}))
        .send()
        .await
        .unwrap();
    let hook: Value = r.json().await.unwrap();
    let mut numbers = Vec::new();
    for _ in 0..4 {
        numbers.push(sn.create("incident", json!({})).await["number"].clone());
    }
    let got = wait_for(&rx, 4).await;
    let pushed: Vec<Value> = got.iter().map(|g| g["record"]["number"].clone()).collect();
    assert_eq!(pushed, numbers);
    let v: Value = sn
        .req(
            Method::GET,
            &format!("/sandbox/webhooks/{}", hook["id"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["delivery"]["failed_attempts"], 3);
    assert_eq!(v["delivery"]["delivered"], 4);
    assert!(v["delivery"]["last_error"]
        .as_str()
        .unwrap()
        .contains("503"));
}

#[tokio::test]
async fn a_receiver_that_never_accepts_has_its_notifications_dropped_after_the_last_attempt() {
    let sn = start(0).await;
    let (rx, url) = receiver(usize::MAX).await;
    let r = sn
        .req(Method::POST, "/sandbox/webhooks")
        .json(&json!({"url": url, "table": "incident", "retry": {"max_attempts": 3, "initial_backoff_ms": 10, "max_backoff_ms": 20}}))
        .send()
        .await
        .unwrap();
    let hook: Value = r.json().await.unwrap();
    sn.create("incident", json!({})).await;
    let path = format!("/sandbox/webhooks/{}", hook["id"].as_str().unwrap());
    let mut delivery = Value::Null;
    for _ in 0..100 {
        let v: Value = sn
            .req(Method::GET, &path)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        delivery = v["delivery"].clone();
        if delivery["dropped"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(delivery["dropped"], 1, "{delivery}");
    assert_eq!(delivery["failed_attempts"], 3);
    assert_eq!(rx.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn bad_registrations_are_refused_with_the_reason() {
    let sn = start(0).await;
    for (body, reason) in [
        (json!({"url": "ftp://x", "table": "incident"}), "http"),
        (
            json!({"url": "http://127.0.0.1:1/x", "table": "nope"}),
            "unknown table",
        ),
        (
            json!({"url": "http://127.0.0.1:1/x", "table": "incident", "condition": "urgncy=1"}),
            "unknown field `urgncy`",
        ),
        (
            json!({"url": "http://127.0.0.1:1/x", "table": "incident", "events": ["delete"]}),
            "delete",
        ),
        (json!({"table": "incident"}), "url"),
    ] {
        let r = sn
            .req(Method::POST, "/sandbox/webhooks")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{body}");
        let v: Value = r.json().await.unwrap();
        assert!(v["error"].as_str().unwrap().contains(reason), "{v}");
    }
    let v: Value = sn
        .req(Method::GET, "/sandbox/webhooks")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v, json!([]));
}
