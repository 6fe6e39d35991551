//! Fault injection, request counters, the daily API limit and reset of the Salesforce
//! sandbox, over HTTP.

mod sf_common;

use reqwest::Method;
use serde_json::{json, Value};
use sf_common::{code, password_login, query_path, start, Sf};
use std::time::{Duration, Instant};

/// Sets the fault settings, expecting them accepted.
async fn faults(sf: &Sf, settings: Value) {
    let (status, body) = sf
        .admin(Method::PUT, "/sandbox/faults", Some(settings.clone()))
        .await;
    assert_eq!(status, 200, "{settings}: {body}");
}

/// The status of a small query.
async fn status_of(sf: &Sf) -> u16 {
    sf.api(Method::GET, &query_path("SELECT Id FROM Case LIMIT 1"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The status of a password login at the token endpoint.
async fn token_status(sf: &Sf) -> u16 {
    sf.raw(Method::POST, "/services/oauth2/token")
        .form(&[
            ("grant_type", "password"),
            ("client_id", "twinsync"),
            ("client_secret", "twinsync-secret"),
            ("username", "admin@example.com"),
            ("password", "admin"),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn injected(sf: &Sf) -> Value {
    let (status, body) = sf.admin(Method::GET, "/sandbox/faults", None).await;
    assert_eq!(status, 200);
    body["injected"].clone()
}

#[tokio::test]
async fn fail_next_and_error_rate_inject_server_errors_on_rest_and_oauth() {
    let sf = start(2).await;
    faults(&sf, json!({"fail_next": 2, "error_status": 503})).await;
    let (status, body) = sf
        .call(sf.api(Method::GET, "/sobjects/Case/describe"))
        .await;
    assert_eq!(status, 503);
    assert_eq!(code(&body), "UNKNOWN_EXCEPTION", "{body}");
    assert!(body[0]["message"].as_str().unwrap().contains("ErrorId"));
    assert_eq!(token_status(&sf).await, 503, "the token endpoint fails too");
    assert_eq!(status_of(&sf).await, 200, "exactly two requests failed");
    assert_eq!(token_status(&sf).await, 200);

    faults(&sf, json!({"error_rate": 1.0})).await;
    for _ in 0..3 {
        assert_eq!(status_of(&sf).await, 500);
    }
    assert_eq!(token_status(&sf).await, 500);
    faults(&sf, json!({"error_rate": 0.5, "error_status": 502})).await;
    let mut failed = 0;
    for _ in 0..200 {
        match status_of(&sf).await {
            502 => failed += 1,
            200 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert!((50..150).contains(&failed), "about half fail: {failed}");
    assert_eq!(
        injected(&sf).await["errors"].as_u64().unwrap(),
        2 + 3 + 1 + failed
    );

    let (status, body) = sf.admin(Method::DELETE, "/sandbox/faults", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["settings"]["error_rate"], 0.0);
    for _ in 0..10 {
        assert_eq!(status_of(&sf).await, 200);
    }
    assert_eq!(token_status(&sf).await, 200);
}

#[tokio::test]
async fn throttling_answers_429_with_retry_after_and_an_error_array() {
    let sf = start(1).await;
    faults(&sf, json!({"throttle_rate": 1.0, "retry_after_secs": 7})).await;
    for request in [
        sf.api(Method::GET, "/sobjects/Case/describe"),
        sf.api(Method::POST, "/sobjects/Case")
            .json(&json!({"Subject": "throttled"})),
        sf.raw(Method::POST, "/services/oauth2/token")
            .form(&[("grant_type", "password")]),
    ] {
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["retry-after"], "7");
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        let body: Value = r.json().await.unwrap();
        assert_eq!(code(&body), "REQUEST_LIMIT_EXCEEDED", "{body}");
        assert!(!body[0]["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(injected(&sf).await["throttled"], 3);
    sf.admin(Method::DELETE, "/sandbox/faults", None).await;
    let v = sf
        .query("SELECT COUNT() FROM Case WHERE Subject = 'throttled'")
        .await;
    assert_eq!(v["totalSize"], 0, "a throttled create changes nothing");
}

#[tokio::test]
async fn a_rate_limit_window_admits_its_limit_then_answers_429() {
    let sf = start(1).await;
    faults(
        &sf,
        json!({"rate_limit": {"limit": 3, "window_secs": 3600}}),
    )
    .await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        // REST and token requests share the one quota.
        let r = if i == 1 {
            sf.raw(Method::POST, "/services/oauth2/token")
                .form(&[
                    ("grant_type", "password"),
                    ("client_id", "twinsync"),
                    ("client_secret", "twinsync-secret"),
                    ("username", "admin@example.com"),
                    ("password", "admin"),
                ])
                .send()
                .await
                .unwrap()
        } else {
            sf.api(Method::GET, "/limits").send().await.unwrap()
        };
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            let retry: u64 = r.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(retry > 3000 && retry <= 3600, "{retry}");
            let body: Value = r.json().await.unwrap();
            assert_eq!(code(&body), "REQUEST_LIMIT_EXCEEDED");
        }
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429, 429]);

    // New settings start a new window.
    faults(
        &sf,
        json!({"rate_limit": {"limit": 1, "window_secs": 3600}}),
    )
    .await;
    assert_eq!(status_of(&sf).await, 200);
    assert_eq!(status_of(&sf).await, 429);
    sf.admin(Method::DELETE, "/sandbox/faults", None).await;
    assert_eq!(status_of(&sf).await, 200);
}

#[tokio::test]
async fn downtime_answers_503_until_cleared_and_spares_the_admin_endpoints() {
    let sf = start(1).await;
    faults(&sf, json!({"down": true})).await;
    for (method, path) in [
        (Method::GET, "/services/data/v59.0/limits"),
        (Method::GET, "/services/data/v59.0/sobjects/Case"),
        (Method::GET, "/services/data/"),
        (Method::POST, "/services/oauth2/token"),
        (Method::POST, "/services/Soap/u/59.0"),
    ] {
        let r = sf
            .raw(method, path)
            .bearer_auth(&sf.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 503, "{path}");
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(r.text().await.unwrap().contains("maintenance"));
    }
    for path in ["/sandbox", "/sandbox/stats", "/sandbox/limits"] {
        let (status, _) = sf.admin(Method::GET, path, None).await;
        assert_eq!(status, 200, "{path} is not affected");
    }
    assert_eq!(injected(&sf).await["down"], 5);
    let (status, body) = sf.admin(Method::DELETE, "/sandbox/faults", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["settings"]["down"], false);
    assert_eq!(status_of(&sf).await, 200);
    assert_eq!(token_status(&sf).await, 200);
}

#[tokio::test]
async fn latency_delays_rest_and_token_answers() {
    let sf = start(1).await;
    faults(&sf, json!({"latency_ms": 250})).await;
    let started = Instant::now();
    assert_eq!(status_of(&sf).await, 200);
    assert!(started.elapsed() >= Duration::from_millis(250));
    let started = Instant::now();
    assert_eq!(token_status(&sf).await, 200);
    assert!(started.elapsed() >= Duration::from_millis(250));
    // The admin endpoints answer without the delay's effect on their result.
    let (status, body) = sf.admin(Method::GET, "/sandbox/faults", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["settings"]["latency_ms"], 250);
    sf.admin(Method::DELETE, "/sandbox/faults", None).await;
    let (_, body) = sf.admin(Method::GET, "/sandbox/faults", None).await;
    assert_eq!(body["settings"]["latency_ms"], 0);
}

#[tokio::test]
async fn bad_fault_settings_are_refused_with_a_reason() {
    let sf = start(0).await;
    for body in [
        json!({"error_rate": 2}),
        json!({"throttle_rate": -0.5}),
        json!({"error_status": 404}),
        json!({"latency_ms": 999_999_999u64}),
        json!({"bogus": 1}),
        json!({"rate_limit": {"limit": 0, "window_secs": 1}}),
        json!({"rate_limit": {"limit": 1}}),
        json!("down"),
    ] {
        let (status, v) = sf
            .admin(Method::PUT, "/sandbox/faults", Some(body.clone()))
            .await;
        assert_eq!(status, 400, "{body}");
        assert!(v["error"].as_str().unwrap().len() > 10, "{v}");
    }
    let r = sf
        .raw(Method::PUT, "/sandbox/faults")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let (_, v) = sf.admin(Method::GET, "/sandbox/faults", None).await;
    assert_eq!(v["settings"]["error_rate"], 0.0, "nothing was applied");
    assert_eq!(status_of(&sf).await, 200);
}

#[tokio::test]
async fn stats_count_requests_by_resource_method_and_status() {
    let sf = start(3).await;
    let (status, _) = sf.admin(Method::DELETE, "/sandbox/stats", None).await;
    assert_eq!(status, 204);

    // oauth: one login.
    let token = password_login(&sf.client, &sf.url, "admin@example.com", "admin")
        .await
        .unwrap();
    assert!(!token.is_empty());
    // Case: a create, a read, an update, a read of a missing record.
    let id = sf.create("Case", json!({"Subject": "counted"})).await;
    sf.get(&format!("/sobjects/Case/{id}")).await;
    let (status, _) = sf
        .call(
            sf.api(Method::PATCH, &format!("/sobjects/Case/{id}"))
                .json(&json!({"Priority": "High"})),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = sf
        .call(sf.api(Method::GET, "/sobjects/Case/500000000000000AAA"))
        .await;
    assert_eq!(status, 404);
    // Account: a create.
    sf.create("Account", json!({"Name": "Counted Inc"})).await;
    // query: a query, a queryAll and a bad query.
    sf.query("SELECT Id FROM Case").await;
    sf.get(&format!(
        "/queryAll?q={}",
        url::form_urlencoded::byte_serialize(b"SELECT Id FROM Case").collect::<String>()
    ))
    .await;
    let (status, _) = sf
        .call(sf.api(Method::GET, &query_path("SELECT Nope FROM Case")))
        .await;
    assert_eq!(status, 400);
    // composite: one collections call and one composite call (subrequests are not counted).
    let (status, _) = sf
        .call(sf.api(Method::POST, "/composite/sobjects").json(&json!({
            "records": [{"attributes": {"type": "Case"}, "Subject": "a"},
                        {"attributes": {"type": "Case"}, "Subject": "b"}]
        })))
        .await;
    assert_eq!(status, 200);
    let (status, _) = sf
        .call(sf.api(Method::POST, "/composite").json(&json!({
            "compositeRequest": [
                {"method": "POST", "url": "/services/data/v59.0/sobjects/Case", "referenceId": "c", "body": {"Subject": "c"}},
                {"method": "GET", "url": "/services/data/v59.0/sobjects/Case/@{c.id}", "referenceId": "r"}
            ]
        })))
        .await;
    assert_eq!(status, 200);
    // soap: a failed login (a SOAP fault is a 500).
    let r = sf
        .raw(Method::POST, "/services/Soap/u/59.0")
        .header("Content-Type", "text/xml")
        .body(r#"<se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/"><se:Body><login xmlns="urn:partner.soap.sforce.com"><username>admin@example.com</username><password>wrong</password></login></se:Body></se:Envelope>"#)
        .send()
        .await
        .unwrap();
    let soap_status = r.status().as_u16();
    // An unauthenticated call still counts.
    let r = sf
        .raw(Method::GET, "/services/data/v59.0/sobjects/Case/describe")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Admin calls are not counted.
    sf.admin(Method::GET, "/sandbox", None).await;

    let (status, stats) = sf.admin(Method::GET, "/sandbox/stats", None).await;
    assert_eq!(status, 200);
    assert_eq!(stats["total"], 13, "{stats}");
    let by_resource = &stats["by_resource"];
    assert_eq!(by_resource["oauth"], json!({"POST": 1}), "{stats}");
    assert_eq!(
        by_resource["Case"],
        json!({"GET": 3, "PATCH": 1, "POST": 1}),
        "{stats}"
    );
    assert_eq!(by_resource["Account"], json!({"POST": 1}), "{stats}");
    assert_eq!(by_resource["query"], json!({"GET": 3}), "{stats}");
    assert_eq!(by_resource["composite"], json!({"POST": 2}), "{stats}");
    assert_eq!(by_resource["soap"], json!({"POST": 1}), "{stats}");
    assert!(by_resource.get("sandbox").is_none(), "{stats}");
    assert_eq!(
        stats["by_method"],
        json!({"GET": 6, "PATCH": 1, "POST": 6}),
        "{stats}"
    );
    let mut want = std::collections::BTreeMap::<String, u64>::new();
    for (s, n) in [
        (200, 6),
        (201, 2),
        (204, 1),
        (400, 1),
        (401, 1),
        (404, 1),
        (soap_status, 1),
    ] {
        *want.entry(s.to_string()).or_default() += n;
    }
    assert_eq!(stats["by_status"], json!(want), "{stats}");

    // Injected answers are counted with their status.
    faults(&sf, json!({"fail_next": 1})).await;
    assert_eq!(status_of(&sf).await, 500);
    let (_, stats) = sf.admin(Method::GET, "/sandbox/stats", None).await;
    assert_eq!(
        stats["by_status"]["500"],
        json!(1 + u64::from(soap_status == 500))
    );
    assert_eq!(stats["by_resource"]["query"]["GET"], 4);

    let (status, _) = sf.admin(Method::DELETE, "/sandbox/stats", None).await;
    assert_eq!(status, 204);
    let (_, stats) = sf.admin(Method::GET, "/sandbox/stats", None).await;
    assert_eq!(stats["total"], 0);
    assert_eq!(stats["by_resource"], json!({}));
}

/// The `(used, max)` of a `Sforce-Limit-Info: api-usage=N/M` header.
fn usage(r: &reqwest::Response) -> (u64, u64) {
    let h = r
        .headers()
        .get("sforce-limit-info")
        .expect("Sforce-Limit-Info on every REST answer")
        .to_str()
        .unwrap();
    let (used, max) = h
        .strip_prefix("api-usage=")
        .and_then(|s| s.split_once('/'))
        .unwrap_or_else(|| panic!("header {h}"));
    (used.parse().unwrap(), max.parse().unwrap())
}

#[tokio::test]
async fn the_daily_limit_counts_every_rest_call_and_then_refuses_with_403() {
    let sf = start(3).await;
    let (status, v) = sf
        .admin(
            Method::PUT,
            "/sandbox/limits",
            Some(json!({"daily_api_requests": 8, "used": 0})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(v, json!({"daily_api_requests": 8, "used": 0}));

    let case = sf.query("SELECT Id FROM Case LIMIT 1").await["records"][0]["Id"]
        .as_str()
        .unwrap()
        .to_string();
    // used is 1 now; each kind of call, successful or not, counts once.
    let calls = vec![
        sf.api(Method::GET, &format!("/sobjects/Case/{case}")),
        sf.api(Method::POST, "/sobjects/Case")
            .json(&json!({"Subject": "metered"})),
        sf.api(Method::GET, "/sobjects/Nope/x"),
        sf.api(Method::POST, "/composite/sobjects").json(&json!({
            "records": [{"attributes": {"type": "Case"}, "Subject": "m1"},
                        {"attributes": {"type": "Case"}, "Subject": "m2"}]
        })),
    ];
    let mut last = 1;
    for rb in calls {
        let r = rb.send().await.unwrap();
        let (used, max) = usage(&r);
        assert_eq!(max, 8);
        assert_eq!(used, last + 1, "each call counts once");
        last = used;
    }
    // /limits agrees with the header of the same answer.
    let r = sf.api(Method::GET, "/limits").send().await.unwrap();
    let (used, max) = usage(&r);
    assert_eq!((used, max), (6, 8));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["DailyApiRequests"], json!({"Max": 8, "Remaining": 2}));
    // An unauthenticated call is not metered.
    let r = sf
        .raw(Method::GET, "/services/data/v59.0/limits")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let (_, v) = sf.admin(Method::GET, "/sandbox/limits", None).await;
    assert_eq!(v["used"], 6);

    for n in 7..=8 {
        let r = sf.api(Method::GET, "/limits").send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(usage(&r), (n, 8));
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["DailyApiRequests"]["Remaining"], 8 - n);
    }
    for rb in [
        sf.api(Method::GET, "/limits"),
        sf.api(Method::POST, "/sobjects/Case")
            .json(&json!({"Subject": "over the limit"})),
        sf.api(Method::GET, &query_path("SELECT Id FROM Case")),
    ] {
        let r = rb.send().await.unwrap();
        assert_eq!(r.status(), 403);
        assert_eq!(usage(&r), (8, 8), "refused calls are not counted");
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body,
            json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
        );
    }
    // The token endpoint still works.
    assert_eq!(token_status(&sf).await, 200);

    // Raising the limit lets calls through; the refused create did not happen.
    sf.admin(
        Method::PUT,
        "/sandbox/limits",
        Some(json!({"daily_api_requests": 100})),
    )
    .await;
    let v = sf
        .query("SELECT Subject FROM Case WHERE Subject = 'over the limit'")
        .await;
    assert_eq!(v["totalSize"], 0);
    let r = sf.api(Method::GET, "/limits").send().await.unwrap();
    assert_eq!(usage(&r), (10, 100));
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["DailyApiRequests"],
        json!({"Max": 100, "Remaining": 90})
    );
}

#[tokio::test]
async fn reset_restores_the_seed_data_and_clears_usage_faults_and_counters() {
    let mut sf = start(6).await;
    let ids_of = |v: &Value| -> Vec<(String, String, String)> {
        v["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["Id"].as_str().unwrap().to_string(),
                    r["CaseNumber"].as_str().unwrap().to_string(),
                    r["Subject"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let soql = "SELECT Id, CaseNumber, Subject FROM Case ORDER BY CaseNumber";
    let before = ids_of(&sf.query(soql).await);
    assert_eq!(before.len(), 6);

    let created = sf
        .create("Case", json!({"Subject": "after the seed"}))
        .await;
    let (status, _) = sf
        .call(
            sf.api(Method::PATCH, &format!("/sobjects/Case/{}", before[0].0))
                .json(&json!({"Subject": "changed"})),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = sf
        .call(sf.api(Method::DELETE, &format!("/sobjects/Case/{}", before[1].0)))
        .await;
    assert_eq!(status, 204);
    sf.admin(
        Method::PUT,
        "/sandbox/limits",
        Some(json!({"daily_api_requests": 50})),
    )
    .await;
    faults(&sf, json!({"latency_ms": 5})).await;
    let (_, v) = sf.admin(Method::GET, "/sandbox/limits", None).await;
    assert!(v["used"].as_u64().unwrap() > 0);

    let r = sf.raw(Method::POST, "/sandbox/reset").send().await.unwrap();
    assert_eq!(r.status(), 204);

    let (_, v) = sf.admin(Method::GET, "/sandbox/limits", None).await;
    assert_eq!(v["used"], 0, "usage is cleared");
    let (_, v) = sf.admin(Method::GET, "/sandbox/faults", None).await;
    assert_eq!(v["settings"]["latency_ms"], 0, "faults are cleared");
    let (_, v) = sf.admin(Method::GET, "/sandbox/stats", None).await;
    assert_eq!(v["total"], 0, "counters are cleared");
    let (status, body) = sf.call(sf.api(Method::GET, "/limits")).await;
    assert_eq!(status, 401, "sessions are cleared: {body}");

    sf.token = password_login(&sf.client, &sf.url, "admin@example.com", "admin")
        .await
        .unwrap();
    let r = sf.api(Method::GET, "/limits").send().await.unwrap();
    assert_eq!(usage(&r).0, 1, "usage starts again");
    assert_eq!(
        ids_of(&sf.query(soql).await),
        before,
        "same seed, same records"
    );
    let (status, body) = sf
        .call(sf.api(Method::GET, &format!("/sobjects/Case/{created}")))
        .await;
    assert_eq!(status, 404, "{body}");
    let v = sf
        .get(&format!(
            "/queryAll?q={}",
            url::form_urlencoded::byte_serialize(b"SELECT Id FROM Case WHERE IsDeleted = true")
                .collect::<String>()
        ))
        .await;
    assert_eq!(v["totalSize"], 0, "the recycle bin is empty");
    let again = sf.create("Case", json!({"Subject": "numbering"})).await;
    let v = sf.get(&format!("/sobjects/Case/{again}")).await;
    assert_eq!(
        v["CaseNumber"], "00001007",
        "numbering restarts after the seed"
    );
}
