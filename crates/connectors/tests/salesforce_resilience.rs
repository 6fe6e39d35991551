//! The Salesforce connector when things go wrong, and its other log-in flows: sessions that
//! expire or are revoked mid-run, client credentials, JWT bearer and refresh tokens, bursts
//! of 5xx and 429, downtime beyond the retry budget, the daily API limit (slowing down,
//! holding back, and the org's own refusal), and bad credentials.

mod sf_support;

use serde_json::{json, Value};
use sf_support::{org, start, start_with};
use std::time::{Duration, Instant};
use twinsync_connectors::salesforce::{BudgetPolicy, SalesforceAuth};
use twinsync_connectors::{ErrorKind, Platform, Secret, Watermark};
use twinsync_sandbox::common::faults::{FaultSettings, RateLimit};
use twinsync_sandbox::salesforce::ConnectedApp;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../sandbox/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[tokio::test]
async fn expired_and_revoked_sessions_are_replaced_by_logging_in_again() {
    let mut config = org(3);
    config.session_ttl = Duration::from_secs(1);
    let sf = start_with(config).await;
    let c = sf.connector();
    let until = Instant::now() + Duration::from_millis(3000);
    let mut calls = 0;
    while Instant::now() < until {
        let page = c
            .changes("Case", None, &Watermark::start(), 10)
            .await
            .unwrap();
        assert_eq!(page.entities.len(), 3);
        calls += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(calls >= 8);
    let logins = sf
        .sandbox
        .state()
        .stats
        .snapshot()
        .by_resource
        .get("oauth")
        .map_or(0, |m| m.values().sum::<u64>());
    assert!(logins >= 3, "logged in {logins} times");
    sf.sandbox.state().sessions.lock().access.clear();
    assert_eq!(
        c.whoami().await.unwrap().user_name,
        "integration@example.com"
    );
}

#[tokio::test]
async fn client_credentials_jwt_bearer_and_refresh_token_flows_log_in() {
    let mut config = org(0);
    config.apps.push(ConnectedApp {
        consumer_key: "jwt-app".into(),
        consumer_secret: "jwt-secret".into(),
        run_as: Some("integration@example.com".into()),
        certificate: Some(fixture("jwt_cert.pem")),
    });
    let sf = start_with(config).await;
    let cc = sf.connector_as(SalesforceAuth::ClientCredentials {
        client_id: "jwt-app".into(),
        client_secret: Secret::new("jwt-secret"),
    });
    assert_eq!(
        cc.whoami().await.unwrap().user_name,
        "integration@example.com"
    );

    let jwt = sf.connector_as(SalesforceAuth::JwtBearer {
        client_id: "jwt-app".into(),
        username: "admin@example.com".into(),
        private_key_pem: Secret::new(fixture("jwt_private.pem")),
        audience: Some("https://login.salesforce.com".into()),
    });
    assert_eq!(jwt.whoami().await.unwrap().user_name, "admin@example.com");
    let forged = sf.connector_as(SalesforceAuth::JwtBearer {
        client_id: "jwt-app".into(),
        username: "admin@example.com".into(),
        private_key_pem: Secret::new(fixture("other_private.pem")),
        audience: None,
    });
    let err = forged.whoami().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Authentication, "{err}");

    let granted: Value = sf
        .client
        .post(format!("{}/sandbox/refresh-tokens", sf.url))
        .json(&json!({"username": "integration@example.com", "client_id": "twinsync"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refresh = granted["refresh_token"].as_str().expect("refresh token");
    let rt = sf.connector_as(SalesforceAuth::RefreshToken {
        client_id: "twinsync".into(),
        client_secret: Some(Secret::new("twinsync-secret")),
        refresh_token: Secret::new(refresh),
    });
    assert_eq!(
        rt.whoami().await.unwrap().user_name,
        "integration@example.com"
    );
}

#[tokio::test]
async fn bursts_of_server_errors_and_throttling_are_retried_until_they_pass() {
    let sf = start(2).await;
    let c = sf.connector();
    c.describe("Case").await.unwrap();
    sf.faults(FaultSettings {
        fail_next: 3,
        error_status: 503,
        ..Default::default()
    });
    let before = c.api_calls();
    let page = c
        .changes("Case", None, &Watermark::start(), 10)
        .await
        .unwrap();
    assert_eq!(page.entities.len(), 2);
    assert_eq!(c.api_calls().retries - before.retries, 3);

    sf.faults(FaultSettings {
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
    assert!(started.elapsed() >= Duration::from_millis(500));
    sf.clear_faults();

    // The comment POST is not replayed after a 500 (it may have been applied).
    let key = page.entities[0].key.clone();
    sf.faults(FaultSettings {
        fail_next: 1,
        error_status: 500,
        ..Default::default()
    });
    let before = c.api_calls().requests;
    let err = c
        .add_comment(
            "Case",
            &key,
            &twinsync_connectors::NewComment {
                body: "once".into(),
                internal: false,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unavailable);
    assert!(err.is_transient());
    assert_eq!(c.api_calls().requests - before, 1);
}

#[tokio::test]
async fn downtime_longer_than_the_retry_budget_surfaces_a_transient_error() {
    let sf = start(1).await;
    let c =
        sf.connector_with(|cfg| cfg.http = sf_support::quick_retries(Duration::from_millis(600)));
    c.describe("Case").await.unwrap();
    sf.faults(FaultSettings {
        down: true,
        ..Default::default()
    });
    let err = c
        .changes("Case", None, &Watermark::start(), 10)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unavailable, "{err}");
    assert!(err.is_transient());
    sf.clear_faults();
    c.changes("Case", None, &Watermark::start(), 10)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_daily_limit_slows_the_connector_then_holds_it_back() {
    let mut config = org(2);
    config.daily_api_requests = 40;
    let sf = start_with(config).await;
    let c = sf.connector_with(|cfg| {
        cfg.budget = BudgetPolicy {
            slow_below: 0.5,
            pause: Duration::from_millis(50),
            keep_free: 0.25,
            probe_every: Duration::from_millis(300),
        }
    });
    let mut held_back = None;
    for i in 0..40 {
        match c.whoami().await {
            Ok(_) => {}
            Err(e) => {
                held_back = Some((i, e));
                break;
            }
        }
    }
    let (i, err) = held_back.expect("held back before the org's limit");
    assert_eq!(err.kind, ErrorKind::DailyLimitReached, "{err}");
    assert!(err.is_transient());
    assert!(err.message.contains("daily API requests used"), "{err}");
    let b = c.budget().unwrap();
    assert_eq!(b.max, 40);
    assert!(b.used >= 30 && b.used < 40, "{b:?} after {i} calls");
    assert!(c.api_calls().throttled >= 5, "slowed down first");
    // The org's window frees up: the next probe sees it and the connector goes on.
    let r = sf
        .client
        .put(format!("{}/sandbox/limits", sf.url))
        .json(&json!({"used": 0}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    tokio::time::sleep(Duration::from_millis(350)).await;
    c.whoami().await.unwrap();
    c.whoami().await.unwrap();
    assert!(c.budget().unwrap().used < 10);
}

#[tokio::test]
async fn the_orgs_own_refusal_past_the_limit_is_a_transient_daily_limit_error() {
    let mut config = org(0);
    config.daily_api_requests = 5;
    let sf = start_with(config).await;
    let c = sf.connector_with(|cfg| {
        cfg.budget = BudgetPolicy {
            keep_free: 0.0,
            slow_below: 0.0,
            ..BudgetPolicy::default()
        }
    });
    let mut last = None;
    for _ in 0..10 {
        if let Err(e) = c.whoami().await {
            last = Some(e);
            break;
        }
    }
    let err = last.expect("the org refuses past its limit");
    assert_eq!(err.kind, ErrorKind::DailyLimitReached, "{err}");
    assert_eq!(err.code.as_deref(), Some("REQUEST_LIMIT_EXCEEDED"));
    assert!(err.is_transient());
    let b = c.budget().unwrap();
    assert!(b.used >= b.max, "{b:?}");
}

#[tokio::test]
async fn bad_credentials_give_a_clear_permanent_error_without_the_secret() {
    let sf = start(0).await;
    let c = sf.connector_as(SalesforceAuth::Password {
        client_id: "twinsync".into(),
        client_secret: Secret::new("twinsync-secret"),
        username: "integration@example.com".into(),
        password: Secret::new("Wr0ng-Pa55"),
        security_token: None,
    });
    let err = c.whoami().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Authentication, "{err}");
    assert!(!err.is_transient());
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("Wr0ng-Pa55"), "{shown}");
    assert!(shown.contains("authentication failure"), "{shown}");

    let c = sf.connector_as(SalesforceAuth::Password {
        client_id: "twinsync".into(),
        client_secret: Secret::new("n0t-the-secret"),
        username: "integration@example.com".into(),
        password: Secret::new("integration"),
        security_token: None,
    });
    let err = c.whoami().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Authentication, "{err}");
    assert!(!format!("{err} {err:?}").contains("n0t-the-secret"));
}
