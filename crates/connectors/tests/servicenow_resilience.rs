//! The ServiceNow connector when things go wrong: OAuth tokens expiring or revoked mid-run,
//! bursts of 5xx and 429 answers, downtime longer than the retry budget, an unreachable
//! instance, and bad credentials — each retried or surfaced as the right kind of error.

mod sn_support;

use serde_json::json;
use sn_support::{start, start_with};
use std::time::{Duration, Instant};
use twinsync_connectors::http::Http;
use twinsync_connectors::servicenow::ServiceNowAuth;
use twinsync_connectors::{ErrorKind, Platform, Replay, Secret, Watermark};
use twinsync_sandbox::common::faults::{FaultSettings, RateLimit};
use twinsync_sandbox::servicenow as sandbox;

fn oauth(secret: &str, password: &str) -> ServiceNowAuth {
    ServiceNowAuth::OAuthPassword {
        client_id: "twinsync".into(),
        client_secret: Secret::new(secret),
        user: "itil".into(),
        password: Secret::new(password),
    }
}

fn token_requests(sn: &sn_support::Sn) -> u64 {
    let stats = sn.sandbox.state().stats.snapshot();
    stats
        .by_resource
        .get("oauth")
        .map_or(0, |m| m.values().sum())
}

#[tokio::test]
async fn oauth_tokens_are_renewed_before_expiry_and_after_revocation() {
    let sn = start_with(sandbox::ServiceNowConfig {
        seed_incidents: 3,
        access_token_ttl: Duration::from_secs(1),
        ..Default::default()
    })
    .await;
    let c = sn.connector_as(oauth("twinsync-secret", "itil"));
    // Calls spread over three token lifetimes all succeed.
    let until = Instant::now() + Duration::from_millis(3000);
    let mut calls = 0;
    while Instant::now() < until {
        let page = c
            .changes("incident", None, &Watermark::start(), 10)
            .await
            .unwrap();
        assert_eq!(page.entities.len(), 3);
        calls += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(calls >= 10);
    let renewals = token_requests(&sn);
    assert!(renewals >= 3, "tokens asked for: {renewals}");
    let refused = sn
        .sandbox
        .state()
        .stats
        .snapshot()
        .by_status
        .get(&401)
        .copied()
        .unwrap_or(0);
    assert_eq!(refused, 0, "renewed before expiry, never refused");

    // Revoked access tokens: the 401 is answered by a refresh and the call goes through.
    sn.sandbox.state().tokens.lock().access.clear();
    c.whoami().await.unwrap();
    // Refresh tokens revoked as well: the connector logs in again with the password.
    {
        let mut tokens = sn.sandbox.state().tokens.lock();
        tokens.access.clear();
        tokens.refresh.clear();
    }
    assert_eq!(c.whoami().await.unwrap().user_name, "itil");
}

#[tokio::test]
async fn bursts_of_server_errors_and_throttling_are_retried_until_they_pass() {
    let sn = start(2).await;
    let c = sn.connector();
    sn.faults(FaultSettings {
        fail_next: 3,
        error_status: 503,
        ..Default::default()
    });
    let before = c.api_calls();
    let page = c
        .changes("incident", None, &Watermark::start(), 10)
        .await
        .unwrap();
    assert_eq!(page.entities.len(), 2);
    let after = c.api_calls();
    assert_eq!(after.retries - before.retries, 3);

    // 429 with Retry-After: the connector waits as told, then succeeds.
    sn.faults(FaultSettings {
        rate_limit: Some(RateLimit {
            limit: 2,
            window_secs: 1,
        }),
        ..Default::default()
    });
    let started = Instant::now();
    for _ in 0..4 {
        c.whoami().await.unwrap();
    }
    assert!(c.api_calls().throttled >= 1);
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "waited for the window"
    );
    sn.clear_faults();

    // A 500 on a create is not replayed (the record may exist): it surfaces as transient,
    // and the create retried by the node finds or makes exactly one record.
    sn.faults(FaultSettings {
        fail_next: 1,
        error_status: 500,
        ..Default::default()
    });
    let fields = json!({"short_description": "once"});
    let fields = fields.as_object().unwrap();
    // The correlation look-up takes the 500 and is retried; the POST goes through.
    let w = c.create("incident", "burst-1", fields).await.unwrap();
    assert!(!w.existed);
    // A comment is a journal write: after a 500 it may have been appended, so it is not
    // sent again; the node sees a transient error and checks the journal before retrying.
    let key = page.entities[0].key.clone();
    sn.faults(FaultSettings {
        fail_next: 1,
        error_status: 500,
        ..Default::default()
    });
    let before = c.api_calls().requests;
    let err = c
        .add_comment(
            "incident",
            &key,
            &twinsync_connectors::NewComment {
                body: "once".into(),
                internal: false,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unavailable);
    assert_eq!(c.api_calls().requests - before, 1);

    // A POST that met a 500 may have been applied: it is not sent again; a 503 says the
    // request was not processed, so it is.
    let http = Http::new(sn_support::quick_retries(Duration::from_secs(3))).unwrap();
    let url = format!("{}/api/now/table/incident", sn.url);
    let post = |c: &reqwest::Client| {
        c.post(url.as_str())
            .basic_auth("itil", Some("itil"))
            .json(&json!({"short_description": "raw"}))
    };
    for (status, attempts, answer) in [(500, 1, 500), (503, 2, 201)] {
        sn.faults(FaultSettings {
            fail_next: 1,
            error_status: status,
            ..Default::default()
        });
        let before = http.api_calls().requests;
        let r = http
            .send_with(Replay::OnlyIfUnprocessed, post)
            .await
            .unwrap();
        assert_eq!(r.status.as_u16(), answer);
        assert_eq!(
            http.api_calls().requests - before,
            attempts,
            "after {status}"
        );
    }
    // A safe request is retried through a 500.
    sn.faults(FaultSettings {
        fail_next: 1,
        error_status: 500,
        ..Default::default()
    });
    let r = http
        .send(|c| c.get(url.as_str()).basic_auth("itil", Some("itil")))
        .await
        .unwrap();
    assert_eq!(r.status.as_u16(), 200);
}

#[tokio::test]
async fn downtime_longer_than_the_retry_budget_surfaces_a_transient_error() {
    let sn = start(1).await;
    let c = sn.connector_with(|config| {
        config.http = sn_support::quick_retries(Duration::from_millis(600));
    });
    sn.faults(FaultSettings {
        down: true,
        ..Default::default()
    });
    let started = Instant::now();
    let err = c
        .changes("incident", None, &Watermark::start(), 10)
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(err.kind, ErrorKind::Unavailable, "{err}");
    assert!(err.is_transient());
    assert_eq!(err.status, Some(503));
    assert!(c.api_calls().retries >= 1);
    // Back up: the same call works.
    sn.clear_faults();
    c.changes("incident", None, &Watermark::start(), 10)
        .await
        .unwrap();

    // Nobody listening at all: a network error, also transient.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut config = twinsync_connectors::servicenow::ServiceNowConfig::new(
        &format!("http://{addr}"),
        ServiceNowAuth::Basic {
            user: "itil".into(),
            password: Secret::new("itil"),
        },
    );
    config.http = sn_support::quick_retries(Duration::from_millis(300));
    let nowhere = twinsync_connectors::servicenow::ServiceNow::new(config).unwrap();
    let err = nowhere.whoami().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Network, "{err}");
    assert!(err.is_transient());
    assert!(err.to_string().contains("could not connect"), "{err}");
}

#[tokio::test]
async fn bad_credentials_give_a_clear_permanent_error_without_the_secret() {
    let sn = start(0).await;
    let c = sn.connector_as(ServiceNowAuth::Basic {
        user: "itil".into(),
        password: Secret::new("Wr0ng-Pa55"),
    });
    let err = c.whoami().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Authentication, "{err}");
    assert!(!err.is_transient());
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("Wr0ng-Pa55"), "{shown}");
    assert!(shown.contains("ServiceNow"), "{shown}");

    let c = sn.connector_as(oauth("not-the-secret", "itil"));
    let err = c.whoami().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Authentication, "{err}");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("not-the-secret"), "{shown}");

    let c = sn.connector_as(oauth("twinsync-secret", "Wr0ng-Pa55"));
    let err = c.whoami().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Authentication, "{err}");
    assert!(!format!("{err} {err:?}").contains("Wr0ng-Pa55"));
}
