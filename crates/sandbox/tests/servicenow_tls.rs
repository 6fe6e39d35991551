//! `--tls`: HTTPS with a generated self-signed certificate that clients can trust.

mod common;

use common::start_with;
use serde_json::Value;
use twinsync_sandbox::common::tls::TlsMaterial;
use twinsync_sandbox::servicenow::ServiceNowConfig;

#[tokio::test]
async fn serves_https_with_a_certificate_clients_can_trust() {
    let cert = std::env::temp_dir().join(format!("twinsync-tls-test-{}.crt", std::process::id()));
    let tls = TlsMaterial::self_signed(&cert).unwrap();
    let sn = start_with(ServiceNowConfig {
        tls: Some(tls),
        seed_incidents: 2,
        ..Default::default()
    })
    .await;
    assert!(sn.url.starts_with("https://127.0.0.1:"), "{}", sn.url);

    let pem = std::fs::read(&cert).unwrap();
    assert!(String::from_utf8_lossy(&pem).contains("BEGIN CERTIFICATE"));
    let trusting = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .build()
        .unwrap();
    let r = trusting
        .get(format!("{}/api/now/table/incident", sn.url))
        .basic_auth("admin", Some("admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["result"].as_array().unwrap().len(), 2);
    let link = v["result"][0]["caller_id"]["link"].as_str().unwrap();
    assert!(
        link.starts_with("https://"),
        "links use the scheme clients see: {link}"
    );

    // A client that does not trust the certificate is refused, and plain HTTP is not served.
    assert!(common::client()
        .get(format!("{}/sandbox", sn.url))
        .send()
        .await
        .is_err());
    let plain = sn.url.replace("https://", "http://");
    let r = common::client()
        .get(format!("{plain}/sandbox"))
        .send()
        .await;
    assert!(r.is_err() || !r.unwrap().status().is_success());
}
