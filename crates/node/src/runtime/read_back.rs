//! Reads of records the node has just written, in batches. After each apply the node reads
//! the record back (to see whether someone wrote after it and what it would send now);
//! one read per apply doubled the API calls per synced change. Applies run side by side,
//! so their read-backs are gathered: one task reads whatever is waiting, by entity type, in
//! one platform call, while the next reads queue behind it.

use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use twinsync_connectors::{Entity, Platform};

/// Records read in one call at most.
const BATCH_MAX: usize = 100;

/// A read waiting for its batch.
struct Ask {
    entity_type: String,
    key: String,
    answer: oneshot::Sender<Option<Entity>>,
}

/// The handle applies read through; its task ends with the last handle.
pub(crate) struct ReadBack {
    asks: mpsc::UnboundedSender<Ask>,
}

impl ReadBack {
    /// Starts the reading task on the current runtime.
    pub(crate) fn start(platform: Arc<dyn Platform>) -> Self {
        let (asks, waiting) = mpsc::unbounded_channel();
        tokio::spawn(serve(platform, waiting));
        ReadBack { asks }
    }

    /// The record as the platform has it now; `None` when it is gone or cannot be read
    /// (the caller then remembers less, as after any failed read).
    pub(crate) async fn read(&self, entity_type: &str, key: &str) -> Option<Entity> {
        let (answer, answered) = oneshot::channel();
        self.asks
            .send(Ask {
                entity_type: entity_type.to_string(),
                key: key.to_string(),
                answer,
            })
            .ok()?;
        answered.await.ok().flatten()
    }
}

async fn serve(platform: Arc<dyn Platform>, mut waiting: mpsc::UnboundedReceiver<Ask>) {
    while let Some(first) = waiting.recv().await {
        let mut by_type: HashMap<String, Vec<Ask>> = HashMap::new();
        by_type
            .entry(first.entity_type.clone())
            .or_default()
            .push(first);
        let mut taken = 1;
        while taken < BATCH_MAX {
            match waiting.try_recv() {
                Ok(ask) => {
                    by_type
                        .entry(ask.entity_type.clone())
                        .or_default()
                        .push(ask);
                    taken += 1;
                }
                Err(_) => break,
            }
        }
        for (entity_type, asks) in by_type {
            let mut keys: Vec<String> = asks.iter().map(|a| a.key.clone()).collect();
            keys.sort();
            keys.dedup();
            let found = match platform.get(&entity_type, &keys).await {
                Ok(found) => found,
                // One record that cannot be read must not blank its neighbours: read each
                // on its own; what still fails reads as None.
                Err(e) if keys.len() > 1 => {
                    tracing::warn!(entity_type, records = keys.len(), error = %e, "a batched read-back failed; reading the records one by one");
                    let mut found = Vec::new();
                    for key in &keys {
                        if let Ok(mut one) =
                            platform.get(&entity_type, std::slice::from_ref(key)).await
                        {
                            found.append(&mut one);
                        }
                    }
                    found
                }
                Err(e) => {
                    tracing::warn!(entity_type, error = %e, "read-back failed");
                    Vec::new()
                }
            };
            for ask in asks {
                let entity = found.iter().find(|e| e.key == ask.key).cloned();
                let _ = ask.answer.send(entity);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use twinsync_connectors::servicenow::{ServiceNow, ServiceNowAuth, ServiceNowConfig};
    use twinsync_connectors::Secret;
    use twinsync_sandbox::servicenow::{ServiceNowConfig as SandboxConfig, ServiceNowSandbox};

    async fn servicenow() -> (ServiceNowSandbox, Arc<ServiceNow>) {
        twinsync_connectors::http::ensure_crypto_provider();
        let sandbox = ServiceNowSandbox::start(SandboxConfig {
            seed_incidents: 4,
            ..Default::default()
        })
        .await
        .unwrap();
        let mut c = ServiceNowConfig::new(
            sandbox.base_url(),
            ServiceNowAuth::Basic {
                user: "admin".into(),
                password: Secret::new("admin"),
            },
        );
        // A failed request stays failed (the test injects one).
        c.http.retry.max_attempts = 1;
        (sandbox, Arc::new(ServiceNow::new(c).unwrap()))
    }

    // One runtime thread: the reads below are all queued before the reading task runs, so
    // they make one batch whatever the machine's speed.
    #[tokio::test(flavor = "current_thread")]
    async fn reads_waiting_together_take_one_read_and_each_gets_its_record() {
        let (sandbox, sn) = servicenow().await;
        let page = sn
            .changes(
                "incident",
                None,
                &sn.watermark_at(chrono::DateTime::UNIX_EPOCH),
                10,
            )
            .await
            .unwrap();
        let keys: Vec<String> = page.entities.iter().map(|e| e.key.clone()).collect();
        assert_eq!(keys.len(), 4);
        let reads = ReadBack::start(sn.clone());

        let before = sn.api_calls().requests;
        let one = reads.read("incident", &keys[0]).await.unwrap();
        let per_read = sn.api_calls().requests - before;
        assert_eq!(one.key, keys[0]);

        let before = sn.api_calls().requests;
        let (a, b, c, d, gone) = tokio::join!(
            reads.read("incident", &keys[0]),
            reads.read("incident", &keys[1]),
            reads.read("incident", &keys[2]),
            reads.read("incident", &keys[3]),
            reads.read("incident", "0123456789abcdef0123456789abcdef"),
        );
        assert_eq!(
            sn.api_calls().requests - before,
            per_read,
            "five reads cost what one does"
        );
        for (got, key) in [a, b, c, d].into_iter().zip(&keys) {
            assert_eq!(&got.unwrap().key, key);
        }
        assert!(gone.is_none(), "a record that is not there reads as None");

        // The batched read fails (the platform fails that one request): each record is
        // then read on its own, so none of them is lost to its neighbours' failure.
        let r = reqwest::Client::new()
            .put(format!("{}/sandbox/faults", sandbox.base_url()))
            .json(&serde_json::json!({"fail_next": 1, "error_status": 503}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{:?}", r.text().await);
        let (a, b, c) = tokio::join!(
            reads.read("incident", &keys[0]),
            reads.read("incident", &keys[1]),
            reads.read("incident", &keys[2]),
        );
        for (got, key) in [a, b, c].into_iter().zip(&keys) {
            assert_eq!(
                &got.expect("read one by one after the batch failed").key,
                key
            );
        }
    }
}
