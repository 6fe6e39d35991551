//! Nodes serving HTTPS themselves: two nodes with certificates from a private CA, each
//! trusting that CA for its peer, connect by invitation over `https://` and sync an urgent
//! incident to a case; a client that does not trust the CA is refused.

use serde_json::json;
use std::sync::Arc;
mod support;

use support::{eventually, sandboxes, SETTLE};
use twinsync_connectors::{Platform, Watermark};
use twinsync_model::ConnectionMode;
use twinsync_node::{Node, NodeOptions, NodeTls};
use twinsync_sandbox::common::tls::TlsMaterial;

async fn tls_node(
    instance: &str,
    platform: Arc<dyn Platform>,
    dir: &tempfile::TempDir,
    tls: &TlsMaterial,
) -> Node {
    Node::start(NodeOptions {
        push_token: None,
        tls: Some(NodeTls {
            cert_pem: tls.cert_pem.clone(),
            key_pem: tls.key_pem.clone(),
        }),
        peer_ca_pem: Some(std::fs::read(&tls.cert_path).unwrap()),
        ..support::options(instance, platform, dir)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_serving_https_connect_and_sync() {
    let dir = tempfile::tempdir().unwrap();
    let tls = TlsMaterial::self_signed(&dir.path().join("ca.pem")).unwrap();
    let (snb, sfb) = sandboxes(0, 0).await;
    let sn_node = tls_node(
        "sn",
        Arc::new(support::sn_integration(snb.base_url())),
        &dir,
        &tls,
    )
    .await;
    let sf_node = tls_node(
        "sf",
        Arc::new(support::sf_integration(sfb.base_url())),
        &dir,
        &tls,
    )
    .await;
    assert!(
        sn_node.url().starts_with("https://127.0.0.1:"),
        "{}",
        sn_node.url()
    );

    // A client that trusts the CA is served; one that does not is refused.
    let trusting = reqwest::Client::builder()
        .tls_certs_only([
            reqwest::Certificate::from_pem(&std::fs::read(&tls.cert_path).unwrap()).unwrap(),
        ])
        .build()
        .unwrap();
    let ok = trusting
        .get(format!("{}/healthz", sn_node.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let plain = reqwest::Client::new()
        .get(format!("{}/healthz", sn_node.url()).replace("https://", "http://"))
        .send()
        .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());

    let id = support::connect(&sn_node, &sf_node, ConnectionMode::Basic).await;
    support::trigger(&sn_node, &id, "incident", "urgency=1").await;
    let sn_person = support::sn_connector(snb.base_url(), "admin", SETTLE);
    sn_person
        .create(
            "incident",
            "tls-1",
            json!({"short_description": "Over TLS", "urgency": "1"})
                .as_object()
                .unwrap(),
        )
        .await
        .unwrap();
    let sf_person = support::sf_connector(sfb.base_url(), "admin@example.com", "admin", None);
    eventually("the case synced between HTTPS nodes", || async {
        sf_person
            .changes("Case", None, &Watermark::start(), 100)
            .await
            .ok()?
            .entities
            .into_iter()
            .find(|e| e.fields["Subject"] == "Over TLS")
    })
    .await;
}
