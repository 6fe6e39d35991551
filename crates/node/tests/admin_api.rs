//! The admin API over HTTP, between two nodes on loopback: tokens, logins and roles, initiate and
//! accept, rules that must compile (Script mode only), triggers checked by the platform,
//! exalate, a failing rule becoming an error entry that blocks its twin until retried,
//! stats, deactivate/activate, and delete only with confirmation.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;
mod support;

use support::sandboxes;
use twinsync_connectors::{Platform, Watermark};
use twinsync_node::{hash_password, AdminToken, ConsoleUser, Node, Role};

const ADMIN: &str = "admin-token-0123456789";
const OPERATOR: &str = "operator-token-0123456789";
const VIEWER: &str = "viewer-token-0123456789";

async fn node(instance: &str, platform: Arc<dyn Platform>, dir: &tempfile::TempDir) -> Node {
    support::node(
        instance,
        platform,
        dir,
        vec![
            AdminToken::new("ann", ADMIN, Role::Admin),
            AdminToken::new("ops", OPERATOR, Role::Operator),
            AdminToken::new("dash", VIEWER, Role::Viewer),
        ],
    )
    .await
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn call(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut r = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_drives_a_connection_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let (snb, sfb) = sandboxes(0, 0).await;
    let sn = Arc::new(support::sn_integration(snb.base_url()));
    let sf = Arc::new(support::sf_integration(sfb.base_url()));
    let a = node("sn", sn.clone(), &dir).await;
    let b = node("sf", sf.clone(), &dir).await;
    let http = reqwest::Client::new();
    let api_a = Api {
        http: http.clone(),
        base: a.url().to_string(),
    };
    let api_b = Api {
        http,
        base: b.url().to_string(),
    };

    // Health needs no token; everything else does, by role.
    assert_eq!(
        api_a.call(None, Method::GET, "/healthz", None).await.0,
        StatusCode::OK
    );
    let (s, v) = api_a
        .call(None, Method::GET, "/api/v1/connections", None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    let (s, _) = api_a
        .call(Some("wrong"), Method::GET, "/api/v1/connections", None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, v) = api_a
        .call(
            Some(VIEWER),
            Method::POST,
            "/api/v1/connections",
            Some(json!({"remote_url": b.url(), "mode": "script"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert!(v["error"].as_str().unwrap().contains("needs admin"), "{v}");

    // A URL that is not a node is refused before anything is stored.
    let (s, v) = api_a
        .call(
            Some(ADMIN),
            Method::POST,
            "/api/v1/connections",
            Some(json!({"remote_url": format!("{}/nowhere", snb.base_url()), "mode": "script"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_GATEWAY, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("does not answer as a twinsync node"),
        "{v}"
    );

    let (s, v) = api_a
        .call(
            Some(ADMIN),
            Method::POST,
            "/api/v1/connections",
            Some(json!({"remote_url": b.url(), "mode": "script", "name": "sn-sf"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["connection"]["status"], "pending");
    let id = v["connection"]["id"].as_str().unwrap().to_string();
    let code = v["invitation_code"].as_str().unwrap().to_string();
    let (s, v) = api_b
        .call(
            Some(ADMIN),
            Method::POST,
            "/api/v1/connections/accept",
            Some(json!({"code": "garbage"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v) = api_b
        .call(
            Some(ADMIN),
            Method::POST,
            "/api/v1/connections/accept",
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["status"], "active");
    let (_, v) = api_a
        .call(
            Some(VIEWER),
            Method::GET,
            &format!("/api/v1/connections/{id}"),
            None,
        )
        .await;
    assert_eq!(v["status"], "active");

    // Rules: the default is shown until one is published; a rule that does not compile is
    // refused with its located errors.
    let (s, v) = api_b
        .call(
            Some(VIEWER),
            Method::GET,
            &format!("/api/v1/connections/{id}/rules/incoming"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["default"], true);
    let (s, v) = api_b
        .call(
            Some(ADMIN),
            Method::PUT,
            &format!("/api/v1/connections/{id}/rules/incoming"),
            Some(json!({"source": "entity.Subject = (replica.summary"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["error"].as_str().unwrap().contains("line 1"), "{v}");
    // A rule that compiles but fails on every record: its errors block only their twins.
    let failing = "entity.entityType = \"Case\"\nentity.Subject = replica.summary.nothing()";
    let (s, v) = api_b
        .call(
            Some(ADMIN),
            Method::PUT,
            &format!("/api/v1/connections/{id}/rules/incoming"),
            Some(json!({"source": failing})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["version"], 1);
    assert_eq!(v["published_by"], "ann");

    // Triggers are checked by the platform first.
    let (s, v) = api_a
        .call(
            Some(ADMIN),
            Method::POST,
            &format!("/api/v1/connections/{id}/triggers"),
            Some(json!({"entity_type": "incident", "query": "urgencyy=1"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["error"].as_str().unwrap().contains("urgencyy"), "{v}");
    let (s, v) = api_a
        .call(
            Some(ADMIN),
            Method::POST,
            &format!("/api/v1/connections/{id}/triggers"),
            Some(json!({"entity_type": "incident", "query": "urgency=1", "notes": "urgent"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, v) = api_a
        .call(
            Some(VIEWER),
            Method::GET,
            &format!("/api/v1/connections/{id}/triggers"),
            None,
        )
        .await;
    assert_eq!(v.as_array().unwrap().len(), 1);

    // Exalate one incident by hand (it does not match the trigger).
    let inc = sn
        .create(
            "incident",
            "by-hand",
            json!({"short_description": "Exalated by hand", "urgency": "3"})
                .as_object()
                .unwrap(),
        )
        .await
        .unwrap();
    let (s, v) = api_a
        .call(
            Some(VIEWER),
            Method::POST,
            &format!("/api/v1/connections/{id}/exalate"),
            Some(json!({"entity_type": "incident", "key": inc.key})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) = api_a
        .call(
            Some(OPERATOR),
            Method::POST,
            &format!("/api/v1/connections/{id}/exalate"),
            Some(json!({"entity_type": "incident", "key": inc.key})),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");

    // The failing rule makes an error entry on the Salesforce node.
    let error = support::eventually("the error entry", || async {
        let (_, v) = api_b
            .call(Some(VIEWER), Method::GET, "/api/v1/errors", None)
            .await;
        v.as_array().and_then(|a| a.first().cloned())
    })
    .await;
    assert_eq!(error["entity"], inc.number.clone().unwrap());
    assert_eq!(error["rule_version"], 1);
    assert!(
        error["location"].as_str().unwrap().contains("line 2"),
        "{error}"
    );

    // Fix the rule, retry the error: the case appears and the error is gone.
    let fixed = "entity.entityType = \"Case\"\nentity.Subject = replica.summary";
    let (s, _) = api_b
        .call(
            Some(ADMIN),
            Method::PUT,
            &format!("/api/v1/connections/{id}/rules/incoming"),
            Some(json!({"source": fixed})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = api_b
        .call(
            Some(OPERATOR),
            Method::POST,
            &format!("/api/v1/errors/{}/retry", error["id"]),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    support::eventually("the case", || async {
        let page = sf
            .changes("Case", None, &Watermark::start(), 100)
            .await
            .ok()?;
        page.entities
            .into_iter()
            .find(|c| c.fields["Subject"] == "Exalated by hand")
    })
    .await;
    let (_, v) = api_b
        .call(Some(VIEWER), Method::GET, "/api/v1/errors", None)
        .await;
    assert_eq!(v.as_array().unwrap().len(), 0);
    let (_, stats) = api_b
        .call(
            Some(VIEWER),
            Method::GET,
            &format!("/api/v1/connections/{id}/stats"),
            None,
        )
        .await;
    assert_eq!(stats["twins"], 1);
    assert_eq!(stats["open_errors"], 0);
    assert!(stats["api_calls"]["requests"].as_u64().unwrap() > 0);

    // The incident's history on the ServiceNow node: sent under the default rule, linked to
    // the case.
    let (s, h) = api_a
        .call(
            Some(VIEWER),
            Method::GET,
            &format!("/api/v1/connections/{id}/entities/incident/{}", inc.key),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{h}");
    assert_eq!(h["remote"]["type"], "Case", "{h}");
    let events: Vec<&str> = h["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["event"].as_str().unwrap())
        .collect();
    assert!(events.contains(&"sent"), "{h}");

    // Prometheus metrics (viewer).
    let r = reqwest::Client::new()
        .get(format!("{}/metrics", b.url()))
        .bearer_auth(VIEWER)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.unwrap();
    for needle in [
        "twinsync_applied_total 1",
        "twinsync_failed_total 1",
        "twinsync_sync_latency_seconds_count 1",
        "twinsync_twins{connection=\"sn-sf\"} 1",
        "twinsync_inbox_depth{connection=\"sn-sf\"} 0",
        "twinsync_platform_api_calls_total",
    ] {
        assert!(text.contains(needle), "{needle} missing in:\n{text}");
    }

    // Deactivate and activate (operator); delete needs admin and the name as confirmation.
    let (s, v) = api_a
        .call(
            Some(OPERATOR),
            Method::POST,
            &format!("/api/v1/connections/{id}/deactivate"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "inactive");
    let (s, _) = api_a
        .call(
            Some(OPERATOR),
            Method::POST,
            &format!("/api/v1/connections/{id}/activate"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = api_a
        .call(
            Some(OPERATOR),
            Method::DELETE,
            &format!("/api/v1/connections/{id}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = api_a
        .call(
            Some(ADMIN),
            Method::DELETE,
            &format!("/api/v1/connections/{id}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::PRECONDITION_REQUIRED, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("confirm=sn-sf"),
        "{v}"
    );
    let (s, _) = api_a
        .call(
            Some(ADMIN),
            Method::DELETE,
            &format!("/api/v1/connections/{id}?confirm=sn-sf"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = api_a
        .call(
            Some(VIEWER),
            Method::GET,
            &format!("/api/v1/connections/{id}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_log_in_and_act_in_their_role_until_they_log_out() {
    let dir = tempfile::tempdir().unwrap();
    let (snb, _sfb) = sandboxes(0, 0).await;
    let sn = Arc::new(support::sn_integration(snb.base_url()));
    let user = |name: &str, password: &str, role| ConsoleUser {
        name: name.into(),
        password_hash: hash_password(password).unwrap(),
        role,
    };
    let a = support::node_with_users(
        "sn",
        sn,
        &dir,
        vec![AdminToken::new("ann", ADMIN, Role::Admin)],
        vec![
            user("ada", "ada's long password", Role::Operator),
            user("vic", "vic's long password", Role::Viewer),
        ],
        std::time::Duration::from_millis(150),
    )
    .await;
    let api = Api {
        http: reqwest::Client::new(),
        base: a.url().to_string(),
    };
    let login = |user: &'static str, password: &'static str| {
        api.call(
            None,
            Method::POST,
            "/api/v1/login",
            Some(json!({"user": user, "password": password})),
        )
    };

    // Wrong password and unknown user: the same answer.
    let (s, wrong) = login("ada", "vic's long password").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{wrong}");
    let (s, unknown) = login("eve", "ada's long password").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong, unknown);

    let (s, v) = login("ada", "ada's long password").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["user"].as_str(), v["role"].as_str()),
        (Some("ada"), Some("operator"))
    );
    let ada = v["token"].as_str().unwrap().to_string();
    let (_, v) = login("vic", "vic's long password").await;
    let vic = v["token"].as_str().unwrap().to_string();
    assert_ne!(ada, vic);

    // Sessions act in their users' roles, beside the API tokens.
    let (s, _) = api
        .call(Some(&vic), Method::GET, "/api/v1/connections", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = api
        .call(Some(&ada), Method::POST, "/api/v1/errors/999/resolve", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "an operator may resolve: {v}");
    let (s, v) = api
        .call(Some(&vic), Method::POST, "/api/v1/errors/999/resolve", None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("user `vic` is a viewer"),
        "{v}"
    );
    let (s, v) = api
        .call(
            Some(&ada),
            Method::POST,
            "/api/v1/connections",
            Some(json!({"remote_url": a.url(), "mode": "script"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");

    // Logging out ends that session only; an API token has nothing to log out.
    let (s, _) = api
        .call(Some(&ada), Method::POST, "/api/v1/logout", None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = api
        .call(Some(&ada), Method::GET, "/api/v1/connections", None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    let (s, _) = api
        .call(Some(&vic), Method::GET, "/api/v1/connections", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = api
        .call(Some(ADMIN), Method::POST, "/api/v1/logout", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    a.shutdown().await;
}
