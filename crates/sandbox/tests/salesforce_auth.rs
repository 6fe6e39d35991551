//! OAuth 2.0 flows (password, client credentials, refresh token, JWT bearer), SOAP login,
//! sessions, identity and revoke, against the Salesforce sandbox over HTTP.

mod sf_common;

use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};
use sf_common::{code, password_login, read, start, start_with, Sf};
use std::time::Duration;
use twinsync_sandbox::salesforce::{ConnectedApp, SalesforceConfig, SfUserSpec};

async fn token(sf: &Sf, form: &[(&str, &str)]) -> (u16, Value) {
    sf.call(sf.raw(Method::POST, "/services/oauth2/token").form(form))
        .await
}

#[tokio::test]
async fn password_flow_answers_like_the_platform() {
    let sf = start(3).await;
    let (status, body) = token(
        &sf,
        &[
            ("grant_type", "password"),
            ("client_id", "twinsync"),
            ("client_secret", "twinsync-secret"),
            ("username", "admin@example.com"),
            ("password", "admin"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["instance_url"], json!(sf.url));
    assert_eq!(body["token_type"], "Bearer");
    assert!(
        body.get("refresh_token").is_none(),
        "the password flow gives no refresh token"
    );
    let id = body["id"].as_str().unwrap();
    assert!(id.starts_with(&format!("{}/id/00D", sf.url)), "{id}");
    let issued_at = body["issued_at"].as_str().unwrap();
    assert!(
        issued_at.parse::<u64>().unwrap() > 1_700_000_000_000,
        "epoch ms"
    );
    // signature = base64(HMAC-SHA256(id + issued_at, consumer secret))
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"twinsync-secret").unwrap();
    mac.update(format!("{id}{issued_at}").as_bytes());
    let want = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(body["signature"], json!(want));

    // The token works; the identity URL names the user.
    let access = body["access_token"].as_str().unwrap();
    let (status, who) = sf.call(sf.client.get(id).bearer_auth(access)).await;
    assert_eq!(status, 200);
    assert_eq!(who["username"], "admin@example.com");
    let (status, who) = sf
        .call(sf.client.get(format!("{id}?oauth_token={access}")))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        who["organization_id"],
        json!(id.split('/').nth_back(1).unwrap())
    );
}

#[tokio::test]
async fn password_flow_refusals_use_the_platform_codes() {
    let sf = start(0).await;
    /// A token request's form, and the error and description it must get.
    type Refusal<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: &[Refusal] = &[
        (
            &[
                ("grant_type", "password"),
                ("client_id", "nope"),
                ("client_secret", "x"),
                ("username", "admin@example.com"),
                ("password", "admin"),
            ],
            "invalid_client_id",
            "client identifier invalid",
        ),
        (
            &[
                ("grant_type", "password"),
                ("client_id", "twinsync"),
                ("client_secret", "wrong"),
                ("username", "admin@example.com"),
                ("password", "admin"),
            ],
            "invalid_client",
            "invalid client credentials",
        ),
        (
            &[
                ("grant_type", "password"),
                ("client_id", "twinsync"),
                ("client_secret", "twinsync-secret"),
                ("username", "admin@example.com"),
                ("password", "wrong"),
            ],
            "invalid_grant",
            "authentication failure",
        ),
        (
            &[("grant_type", "magic"), ("client_id", "twinsync")],
            "unsupported_grant_type",
            "grant type not supported",
        ),
    ];
    for (form, error, description) in cases {
        let (status, body) = token(&sf, form).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], *error);
        assert_eq!(body["error_description"], *description);
    }
}

#[tokio::test]
async fn security_tokens_are_appended_to_the_password() {
    let mut config = SalesforceConfig::default();
    config.users.push(SfUserSpec {
        username: "api@example.com".into(),
        password: "pw".into(),
        security_token: "TOKEN123".into(),
        name: Some("Api User".into()),
        email: None,
    });
    let sf = start_with(config).await;
    assert!(password_login(&sf.client, &sf.url, "api@example.com", "pw")
        .await
        .is_err());
    assert!(
        password_login(&sf.client, &sf.url, "api@example.com", "pwTOKEN123")
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn client_credentials_run_as_the_configured_user_with_basic_auth() {
    let mut config = SalesforceConfig::default();
    config.apps[0].run_as = Some("integration@example.com".into());
    let sf = start_with(config).await;
    let r = sf
        .raw(Method::POST, "/services/oauth2/token")
        .basic_auth("twinsync", Some("twinsync-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let (status, body) = read(r).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "api");
    let access = body["access_token"].as_str().unwrap();
    let me = sf
        .client
        .get(body["id"].as_str().unwrap())
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    let (_, me) = read(me).await;
    assert_eq!(me["username"], "integration@example.com");
    // Created records name the run-as user.
    let r = sf
        .client
        .post(format!("{}/services/data/v59.0/sobjects/Case", sf.url))
        .bearer_auth(access)
        .json(&json!({"Subject": "from the integration"}))
        .send()
        .await
        .unwrap();
    let (_, created) = read(r).await;
    let case = sf
        .get(&format!(
            "/sobjects/Case/{}?fields=CreatedById",
            created["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(case["CreatedById"], me["user_id"]);

    let (status, body) = token(
        &sf,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "twinsync"),
            ("client_secret", "bad"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_client"))
    );
}

#[tokio::test]
async fn refresh_tokens_issue_new_sessions_until_revoked() {
    let sf = start(0).await;
    let (status, issued) = sf
        .admin(
            Method::POST,
            "/sandbox/refresh-tokens",
            Some(json!({"username": "admin@example.com"})),
        )
        .await;
    assert_eq!(status, 200, "{issued}");
    let refresh = issued["refresh_token"].as_str().unwrap().to_string();
    let (status, body) = token(
        &sf,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "twinsync"),
            ("refresh_token", &refresh),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("refresh_token").is_none());
    let access = body["access_token"].as_str().unwrap().to_string();
    let r = sf
        .client
        .get(format!("{}/services/data/v59.0/limits", sf.url))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // A wrong secret, an unknown token, a revoked token.
    let (status, body) = token(
        &sf,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "twinsync"),
            ("client_secret", "bad"),
            ("refresh_token", &refresh),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_client"))
    );
    let (_, body) = token(
        &sf,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "twinsync"),
            ("refresh_token", "5Aep8bogus"),
        ],
    )
    .await;
    assert_eq!(body["error_description"], "expired access/refresh token");
    let (status, _) = sf
        .call(
            sf.raw(Method::POST, "/services/oauth2/revoke")
                .form(&[("token", refresh.as_str())]),
        )
        .await;
    assert_eq!(status, 200);
    let (_, body) = token(
        &sf,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "twinsync"),
            ("refresh_token", &refresh),
        ],
    )
    .await;
    assert_eq!(body["error"], "invalid_grant");
    // Revoking the access token ends the session.
    sf.call(
        sf.raw(Method::POST, "/services/oauth2/revoke")
            .form(&[("token", access.as_str())]),
    )
    .await;
    let r = sf
        .client
        .get(format!("{}/services/data/v59.0/limits", sf.url))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn assertion(key_pem: &str, claims: Value) -> String {
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(key_pem.as_bytes()).unwrap();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &claims,
        &key,
    )
    .unwrap()
}

#[tokio::test]
async fn jwt_bearer_checks_signature_audience_expiry_and_user() {
    let mut config = SalesforceConfig::default();
    config.apps.push(ConnectedApp {
        consumer_key: "jwt-app".into(),
        consumer_secret: "unused".into(),
        run_as: None,
        certificate: Some(fixture("jwt_cert.pem")),
    });
    let sf = start_with(config).await;
    let good_key = fixture("jwt_private.pem");
    let exp = chrono::Utc::now().timestamp() + 180;
    let claims = |iss: &str, sub: &str, aud: &str, exp: i64| json!({"iss": iss, "sub": sub, "aud": aud, "exp": exp});
    async fn jwt(sf: &Sf, a: String) -> (u16, Value) {
        token(
            sf,
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", a.as_str()),
            ],
        )
        .await
    }
    let grant = |a: String| jwt(&sf, a);

    let (status, body) = grant(assertion(
        &good_key,
        claims(
            "jwt-app",
            "admin@example.com",
            "https://login.salesforce.com",
            exp,
        ),
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "api");
    assert!(body["access_token"].as_str().unwrap().starts_with("00D"));
    // The sandbox's own URL is an accepted audience too.
    let (status, _) = grant(assertion(
        &good_key,
        claims("jwt-app", "admin@example.com", &sf.url, exp),
    ))
    .await;
    assert_eq!(status, 200);

    let refusals = [
        (
            assertion(
                &fixture("other_private.pem"),
                claims(
                    "jwt-app",
                    "admin@example.com",
                    "https://login.salesforce.com",
                    exp,
                ),
            ),
            "invalid_grant",
            "invalid assertion",
        ),
        (
            assertion(
                &good_key,
                claims(
                    "jwt-app",
                    "admin@example.com",
                    "https://evil.example.com",
                    exp,
                ),
            ),
            "invalid_grant",
            "Audience validation failed",
        ),
        (
            assertion(
                &good_key,
                claims(
                    "jwt-app",
                    "admin@example.com",
                    "https://login.salesforce.com",
                    exp - 3600,
                ),
            ),
            "invalid_grant",
            "invalid assertion",
        ),
        (
            assertion(
                &good_key,
                claims(
                    "jwt-app",
                    "nobody@example.com",
                    "https://login.salesforce.com",
                    exp,
                ),
            ),
            "invalid_grant",
            "user hasn't approved this consumer",
        ),
        (
            assertion(
                &good_key,
                claims(
                    "unknown-app",
                    "admin@example.com",
                    "https://login.salesforce.com",
                    exp,
                ),
            ),
            "invalid_client_id",
            "client identifier invalid",
        ),
        // The default app has no certificate: JWT is not enabled for it.
        (
            assertion(
                &good_key,
                claims(
                    "twinsync",
                    "admin@example.com",
                    "https://login.salesforce.com",
                    exp,
                ),
            ),
            "invalid_client",
            "invalid client credentials",
        ),
        (
            "not.a.jwt".to_string(),
            "invalid_grant",
            "invalid assertion",
        ),
    ];
    for (a, error, description) in refusals {
        let (status, body) = grant(a).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], error, "{body}");
        assert_eq!(body["error_description"], description);
    }
}

#[tokio::test]
async fn soap_login_returns_a_session_and_faults_on_bad_credentials() {
    let sf = start(2).await;
    let envelope = |user: &str, pass: &str| {
        format!(
            r#"<se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/"><se:Header/><se:Body><login xmlns="urn:partner.soap.sforce.com"><username>{user}</username><password>{pass}</password></login></se:Body></se:Envelope>"#
        )
    };
    let r = sf
        .raw(Method::POST, "/services/Soap/u/59.0")
        .header("Content-Type", "text/xml")
        .header("SOAPAction", "login")
        .body(envelope("admin@example.com", "admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/xml"));
    let xml = r.text().await.unwrap();
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = xml.find(&open).unwrap() + open.len();
        xml[start..start + xml[start..].find('<').unwrap()].to_string()
    };
    assert_eq!(
        tag("serverUrl"),
        format!("{}/services/Soap/u/59.0/00D000000000001", sf.url)
    );
    assert!(tag("userId").starts_with("005"));
    assert!(tag("organizationId").starts_with("00D"));
    let sid = tag("sessionId");
    let r = sf
        .client
        .get(format!("{}/services/data/v59.0/limits", sf.url))
        .bearer_auth(&sid)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the SOAP session works for REST");

    let r = sf
        .raw(Method::POST, "/services/Soap/u/59.0")
        .header("Content-Type", "text/xml")
        .body(envelope("admin@example.com", "nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    let xml = r.text().await.unwrap();
    assert!(
        xml.contains("<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>"),
        "{xml}"
    );
    assert!(xml.contains("<faultstring>INVALID_LOGIN: Invalid username, password, security token; or user locked out.</faultstring>"));

    // Logout ends the session.
    let r = sf
        .raw(Method::POST, "/services/Soap/u/59.0")
        .header("Content-Type", "text/xml")
        .body(format!(r#"<se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/"><se:Header><SessionHeader xmlns="urn:partner.soap.sforce.com"><sessionId>{sid}</sessionId></SessionHeader></se:Header><se:Body><logout xmlns="urn:partner.soap.sforce.com"/></se:Body></se:Envelope>"#))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = sf
        .client
        .get(format!("{}/services/data/v59.0/limits", sf.url))
        .bearer_auth(&sid)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn expired_and_unknown_sessions_get_invalid_session_id() {
    let sf = start_with(SalesforceConfig {
        session_ttl: Duration::from_millis(300),
        ..Default::default()
    })
    .await;
    let (status, _) = sf.call(sf.api(Method::GET, "/limits")).await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, body) = sf.call(sf.api(Method::GET, "/limits")).await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
    );
    let r = sf
        .raw(Method::GET, "/services/data/v59.0/sobjects")
        .bearer_auth("00D000000000001!bogus")
        .send()
        .await
        .unwrap();
    let (status, body) = read(r).await;
    assert_eq!((status, code(&body)), (401, "INVALID_SESSION_ID"));
    let (status, _) = sf
        .call(sf.raw(Method::GET, "/services/data/v59.0/sobjects"))
        .await;
    assert_eq!(status, 401, "no session at all");
    // The versions list needs no session.
    let (status, versions) = sf.call(sf.raw(Method::GET, "/services/data/")).await;
    assert_eq!(status, 200);
    let last = versions.as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        last,
        json!({"label": "Winter '27", "url": "/services/data/v68.0", "version": "68.0"})
    );
}

#[tokio::test]
async fn identity_userinfo_and_odd_requests() {
    let sf = start(0).await;
    let (_, limits) = sf.call(sf.api(Method::GET, "/")).await;
    let identity = limits["identity"].as_str().unwrap().to_string();
    let (status, me) = sf
        .call(sf.client.get(&identity).bearer_auth(&sf.token))
        .await;
    assert_eq!(status, 200);
    // The 15-character form of the user's id names the same user; anybody else's does not.
    let user = me["user_id"].as_str().unwrap();
    let short = identity.replace(user, &user[..15]);
    let (status, _) = sf.call(sf.client.get(&short).bearer_auth(&sf.token)).await;
    assert_eq!(status, 200);
    let other = identity.replace(user, "0055g0000000zzzAAA");
    let (status, _) = sf.call(sf.client.get(&other).bearer_auth(&sf.token)).await;
    assert_eq!(status, 403);

    let (status, info) = sf
        .call(
            sf.raw(Method::GET, "/services/oauth2/userinfo")
                .bearer_auth(&sf.token),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(info["sub"], json!(identity));
    assert_eq!(info["email"], "admin@example.com");

    // A 401 still reports the usage; a token request that is not UTF-8 gets the platform's
    // JSON refusal.
    let r = sf
        .raw(Method::GET, "/services/data/v59.0/limits")
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("sforce-limit-info"));
    let (status, body) = sf
        .call(
            sf.raw(Method::POST, "/services/oauth2/token")
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(vec![0xff, 0xfe, b'=', 0x80]),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );

    // Over HTTP/2 (no Host header, only :authority) the instance URL keeps its port.
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let r = h2
        .post(format!("{}/services/oauth2/token", sf.url))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "twinsync"),
            ("client_secret", "twinsync-secret"),
            ("username", "admin@example.com"),
            ("password", "admin"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["instance_url"], json!(sf.url));
}
