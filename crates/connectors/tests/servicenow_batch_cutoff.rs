//! The Batch API stops a batch after 30 seconds and lists what it did not run in
//! `unserviced_requests`; the connector sends those again. A stand-in instance that services
//! only two items per batch (the sandbox always services everything) checks that reads and
//! batched updates still come back complete and in order.

use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use twinsync_connectors::servicenow::{ServiceNow, ServiceNowAuth, ServiceNowConfig};
use twinsync_connectors::{Platform, Secret, Update};

const PER_BATCH: usize = 2;

fn record(i: usize) -> Value {
    json!({
        "sys_id": format!("{i:032x}"), "number": format!("INC{i:07}"),
        "sys_mod_count": "1", "sys_updated_on": "2026-01-01 00:00:00", "sys_updated_by": "itil",
    })
}

async fn batch(calls: Arc<AtomicUsize>, Json(body): Json<Value>) -> Json<Value> {
    calls.fetch_add(1, Ordering::SeqCst);
    let b64 = base64::engine::general_purpose::STANDARD;
    let requests = body["rest_requests"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut serviced = Vec::new();
    let mut unserviced = Vec::new();
    for (n, r) in requests.iter().enumerate() {
        let id = r["id"].as_str().unwrap().to_string();
        if n >= PER_BATCH {
            unserviced.push(Value::from(id));
            continue;
        }
        let url = r["url"].as_str().unwrap();
        let answer = match url.strip_prefix("/api/now/table/incident/") {
            Some(rest) => {
                let sys_id = rest.split('?').next().unwrap();
                json!({"result": record(usize::from_str_radix(sys_id, 16).unwrap())})
            }
            None => json!({"result": []}),
        };
        serviced.push(json!({
            "id": id, "status_code": 200, "status_text": "OK",
            "headers": [], "body": b64.encode(answer.to_string()),
        }));
    }
    Json(json!({
        "batch_request_id": body["batch_request_id"],
        "serviced_requests": serviced,
        "unserviced_requests": unserviced,
    }))
}

#[tokio::test]
async fn items_a_batch_left_unserviced_are_sent_again() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let app = Router::new()
        .route(
            "/api/now/v1/batch",
            post(move |body| batch(counted.clone(), body)),
        )
        .route(
            "/api/now/table/incident",
            get(|| async { Json(json!({"result": (0..3).map(record).collect::<Vec<_>>()})) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut config = ServiceNowConfig::new(
        &format!("http://{addr}"),
        ServiceNowAuth::Basic {
            user: "itil".into(),
            password: Secret::new("itil"),
        },
    );
    config.settle = None;
    let sn = ServiceNow::new(config).unwrap();

    let updates: Vec<Update> = (0..5)
        .map(|i| Update {
            key: format!("{i:032x}"),
            fields: json!({"description": "x"}).as_object().unwrap().clone(),
        })
        .collect();
    let results = sn.update_many("incident", &updates).await.unwrap();
    assert_eq!(results.len(), 5);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.as_ref().unwrap().key, format!("{i:032x}"));
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "5 items, 2 serviced per batch"
    );

    // A read: three records, one journal and one attachment list for them, in one batch
    // that services both.
    let got = sn
        .get(
            "incident",
            &(0..3).map(|i| format!("{i:032x}")).collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    assert_eq!(got.len(), 3);
}
