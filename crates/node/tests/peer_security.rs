//! The peer endpoints refuse what they must: a replayed, tampered, stale, unsigned or
//! foreign request, and an invitation code used a second time (by another node) or
//! expired.

mod support;

use std::sync::Arc;
use support::sandboxes;
use twinsync_model::{ConnectionMode, ConnectionRole};
use twinsync_node::peer::{sign, InvitationCode, AUTH_SCHEME};
use twinsync_node::sealing::NodeKey;
use twinsync_node::Initiate;
use twinsync_store::Store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_tampered_stale_and_foreign_requests_and_reused_codes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (snb, sfb) = sandboxes(0, 0).await;
    let sn = Arc::new(support::sn_integration(snb.base_url()));
    let sf = || Arc::new(support::sf_integration(sfb.base_url()));
    let a = support::node("a", sn, &dir, Vec::new()).await;
    let b = support::node("b", sf(), &dir, Vec::new()).await;
    let c = support::node("c", sf(), &dir, Vec::new()).await;
    let (_, code) = a
        .initiate(Initiate {
            remote_url: b.url().to_string(),
            mode: ConnectionMode::Script,
            name: None,
            remote_instance: None,
            description: String::new(),
        })
        .await
        .unwrap();
    let id = b.accept(&code).await.unwrap().spec.id;
    // Another node pasting the same code: the initiator refuses it.
    let reused = c.accept(&code).await.unwrap_err();
    assert!(reused.to_string().contains("used already"), "{reused}");
    assert!(
        c.store().connections().await.unwrap().is_empty(),
        "nothing half-made stays"
    );
    // An expired code is refused before anything is sent.
    let mut old = InvitationCode::decode(&code, 0).unwrap();
    old.expires_at = 1;
    let expired = c.accept(&old.encode()).await.unwrap_err();
    assert!(expired.to_string().contains("expired"), "{expired}");

    // The secret, as node a holds it (sealed under its key).
    let key = NodeKey::load_or_create(&dir.path().join("a").join("node.key")).unwrap();
    let conn = a.store().connection(&id).await.unwrap();
    let secret = key
        .open(&format!("connection-secret:{id}"), &conn.spec.sealed_secret)
        .unwrap();
    let path = format!("/peer/v1/connections/{id}/messages");
    let body = br#"{"messages":[]}"#.to_vec();
    let http = reqwest::Client::new();
    let post = |token: String, body: Vec<u8>| {
        let http = http.clone();
        let url = format!("{}{path}", b.url());
        async move {
            let r = http
                .post(url)
                .header("Authorization", format!("{AUTH_SCHEME} {token}"))
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.text().await.unwrap())
        }
    };
    let now = chrono::Utc::now().timestamp();
    let good = sign(
        &secret,
        &id,
        ConnectionRole::Initiator,
        "POST",
        &path,
        &body,
        now,
    );
    let (s, text) = post(good.clone(), body.clone()).await;
    assert_eq!(s, 200, "{text}");
    let (s, text) = post(good.clone(), body.clone()).await;
    assert_eq!(s, 401);
    assert!(text.contains("replay"), "{text}");
    let fresh = sign(
        &secret,
        &id,
        ConnectionRole::Initiator,
        "POST",
        &path,
        &body,
        now,
    );
    let (s, text) = post(fresh, br#"{"messages":[{"seq":1}]}"#.to_vec()).await;
    assert_eq!(s, 401);
    assert!(text.contains("differs from what was signed"), "{text}");
    let stale = sign(
        &secret,
        &id,
        ConnectionRole::Initiator,
        "POST",
        &path,
        &body,
        now - 3600,
    );
    let (s, text) = post(stale, body.clone()).await;
    assert_eq!(s, 401);
    assert!(text.contains("stale"), "{text}");
    let as_acceptor = sign(
        &secret,
        &id,
        ConnectionRole::Acceptor,
        "POST",
        &path,
        &body,
        now,
    );
    let (s, _) = post(as_acceptor, body.clone()).await;
    assert_eq!(
        s, 401,
        "b is the acceptor: requests to it come from the initiator"
    );
    let forged = sign(
        &[7u8; 32],
        &id,
        ConnectionRole::Initiator,
        "POST",
        &path,
        &body,
        now,
    );
    let (s, text) = post(forged, body.clone()).await;
    assert_eq!(s, 401);
    assert!(text.contains("signature"), "{text}");
    let (s, text) = post(String::new(), body).await;
    assert_eq!(s, 401);
    assert!(text.contains("not signed"), "{text}");
    for n in [a, b, c] {
        n.shutdown().await;
    }
}
