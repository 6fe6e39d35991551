//! Fault injection, request counters and reset, over HTTP.

mod common;

use common::{error_of, start, Sn};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn status_of(sn: &Sn) -> u16 {
    sn.admin(Method::GET, "/api/now/table/incident?sysparm_limit=1")
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn fail_next_and_error_rate_inject_server_errors() {
    let sn = start(2).await;
    sn.faults(json!({"fail_next": 2, "error_status": 503}))
        .await;
    let r = sn
        .admin(Method::GET, "/api/now/table/incident")
        .send()
        .await
        .unwrap();
    let (status, err) = error_of(r).await;
    assert_eq!(status, 503);
    assert_eq!(err["message"], "Service Unavailable");
    assert_eq!(status_of(&sn).await, 503);
    assert_eq!(status_of(&sn).await, 200);

    sn.faults(json!({"error_rate": 1.0})).await;
    for _ in 0..5 {
        assert_eq!(status_of(&sn).await, 500);
    }
    sn.faults(json!({"error_rate": 0.5})).await;
    let mut failed = 0;
    for _ in 0..200 {
        if status_of(&sn).await == 500 {
            failed += 1;
        }
    }
    assert!((50..150).contains(&failed), "about half fail: {failed}");

    let faults: Value = sn
        .req(Method::GET, "/sandbox/faults")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        faults["injected"]["errors"].as_u64().unwrap(),
        2 + 5 + failed
    );
    let r = sn
        .req(Method::DELETE, "/sandbox/faults")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cleared: serde_json::Value = r.json().await.unwrap();
    assert_eq!(cleared["settings"]["error_rate"], 0.0);
    assert_eq!(status_of(&sn).await, 200);
}

#[tokio::test]
async fn throttling_answers_429_with_retry_after() {
    let sn = start(1).await;
    sn.faults(json!({"throttle_rate": 1.0, "retry_after_secs": 7}))
        .await;
    let r = sn
        .admin(Method::GET, "/api/now/table/incident")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["retry-after"], "7");
    assert_eq!(error_of(r).await.0, 429);

    sn.faults(json!({"rate_limit": {"limit": 3, "window_secs": 3600}}))
        .await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let r = sn
            .admin(Method::GET, "/api/now/table/incident")
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            assert_eq!(r.headers()["x-ratelimit-limit"], "3");
            let retry: u64 = r.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(retry > 3500 && retry <= 3600, "{retry}");
            assert!(r.headers().contains_key("x-ratelimit-reset"));
        }
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
}

#[tokio::test]
async fn downtime_lasts_until_cleared_and_spares_the_admin_endpoints() {
    let sn = start(1).await;
    sn.faults(json!({"down": true})).await;
    for path in [
        "/api/now/table/incident",
        "/api/now/attachment",
        "/oauth_token.do",
    ] {
        let r = sn.admin(Method::GET, path).send().await.unwrap();
        assert_eq!(r.status(), 503, "{path}");
        assert!(r.text().await.unwrap().contains("Instance Unavailable"));
    }
    assert_eq!(
        sn.req(Method::GET, "/sandbox/stats")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    sn.faults(json!({})).await;
    assert_eq!(status_of(&sn).await, 200);
}

#[tokio::test]
async fn latency_delays_every_api_answer() {
    let sn = start(1).await;
    sn.faults(json!({"latency_ms": 300})).await;
    let started = Instant::now();
    assert_eq!(status_of(&sn).await, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn bad_fault_settings_are_refused() {
    let sn = start(0).await;
    for body in [
        json!({"error_rate": 2}),
        json!({"error_status": 404}),
        json!({"bogus": 1}),
        json!({"rate_limit": {"limit": 0, "window_secs": 1}}),
    ] {
        let r = sn
            .req(Method::PUT, "/sandbox/faults")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{body}");
        let v: Value = r.json().await.unwrap();
        assert!(v["error"].as_str().unwrap().len() > 10);
    }
}

#[tokio::test]
async fn stats_count_requests_by_method_resource_and_status() {
    let sn = start(3).await;
    let id = sn.create("incident", json!({})).await["sys_id"]
        .as_str()
        .unwrap()
        .to_string();
    sn.patch("incident", &id, json!({"short_description": "x"}))
        .await;
    sn.get_json("/api/now/table/incident").await;
    sn.get_json("/api/now/table/sys_user?sysparm_limit=1").await;
    sn.req(Method::GET, "/api/now/table/incident")
        .send()
        .await
        .unwrap();
    let stats: Value = sn
        .req(Method::GET, "/sandbox/stats")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["total"], 5);
    assert_eq!(stats["by_method"], json!({"GET": 3, "PATCH": 1, "POST": 1}));
    assert_eq!(
        stats["by_resource"]["incident"],
        json!({"GET": 2, "PATCH": 1, "POST": 1})
    );
    assert_eq!(stats["by_resource"]["sys_user"], json!({"GET": 1}));
    assert_eq!(stats["by_status"], json!({"200": 3, "201": 1, "401": 1}));

    assert_eq!(
        sn.req(Method::DELETE, "/sandbox/stats")
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let stats: Value = sn
        .req(Method::GET, "/sandbox/stats")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["total"], 0);
}

#[tokio::test]
async fn reset_restores_the_seed_data_and_clears_faults_and_counters() {
    let sn = start(10).await;
    let before = sn.query_ids("incident", "ORDERBYnumber").await;
    sn.create("incident", json!({})).await;
    sn.itil(
        Method::DELETE,
        &format!("/api/now/table/incident/{}", before[0]),
    )
    .send()
    .await
    .unwrap();
    sn.faults(json!({"latency_ms": 5})).await;

    let r = sn.req(Method::POST, "/sandbox/reset").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["tables"]["incident"], 10);
    assert_eq!(
        sn.query_ids("incident", "ORDERBYnumber").await,
        before,
        "same seed, same records"
    );
    let faults: Value = sn
        .req(Method::GET, "/sandbox/faults")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(faults["settings"]["latency_ms"], 0);

    let r = sn
        .req(Method::POST, "/sandbox/reset")
        .json(&json!({"seed": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(sn.query_ids("incident", "").await.len(), 3);
    let stats: Value = sn
        .req(Method::GET, "/sandbox/stats")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["total"], 1, "counters restart at the reset");
}
