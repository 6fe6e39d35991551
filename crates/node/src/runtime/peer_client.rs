//! Requests to other nodes, each signed with the connection's secret.

use super::NodeError;
use crate::peer::{sign, AUTH_SCHEME};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use twinsync_model::{ConnectionRole, MessageKind};

/// What `GET /peer/v1/hello` answers: proof the URL is a twinsync node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hello {
    /// Always `twinsync`.
    pub product: String,
    /// Its version.
    pub version: String,
    /// Its instance name.
    pub instance: String,
}

/// A message as it travels.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireMessage {
    /// The sender's sequence number.
    pub seq: i64,
    /// The twin.
    pub correlation: String,
    /// What it carries.
    pub kind: MessageKind,
    /// JSON text.
    pub payload: String,
}

/// A batch of messages.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Batch {
    /// In order.
    pub messages: Vec<WireMessage>,
}

/// The receiver's answer to a batch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Held {
    /// Every message up to this one is stored.
    pub contiguous: i64,
}

/// The acceptor's handshake.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AcceptBody {
    /// Its instance name.
    pub acceptor_instance: String,
    /// Its URL.
    pub acceptor_url: String,
}

/// An HTTP client for peer requests.
pub struct PeerClient {
    http: reqwest::Client,
}

impl PeerClient {
    /// A client trusting the system's roots and, when given, the CA in `extra_ca_pem`.
    pub fn new(extra_ca_pem: Option<&[u8]>) -> Result<Self, NodeError> {
        twinsync_connectors::http::ensure_crypto_provider();
        let mut builder = reqwest::Client::builder();
        if let Some(pem) = extra_ca_pem {
            let ca = reqwest::Certificate::from_pem(pem).map_err(|e| {
                NodeError::Setup(format!("the peer CA certificate is not PEM: {e}"))
            })?;
            builder = builder.add_root_certificate(ca);
        }
        let http = builder
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("twinsync-node/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| NodeError::Setup(format!("cannot set up the peer client: {e}")))?;
        Ok(PeerClient { http })
    }

    /// Checks that `url` is a twinsync node.
    pub async fn hello(&self, url: &str) -> Result<Hello, NodeError> {
        let not_node = |why: String| {
            NodeError::Peer(format!(
                "{url} does not answer as a twinsync node ({why}); check the URL and that the node is running"
            ))
        };
        let r = self
            .http
            .get(format!("{url}/peer/v1/hello"))
            .send()
            .await
            .map_err(|e| not_node(e.to_string()))?;
        if !r.status().is_success() {
            return Err(not_node(format!("HTTP {}", r.status())));
        }
        let hello: Hello = r.json().await.map_err(|e| not_node(e.to_string()))?;
        if hello.product != "twinsync" {
            return Err(not_node(format!("it says it is {}", hello.product)));
        }
        Ok(hello)
    }

    #[allow(clippy::too_many_arguments)]
    async fn signed(
        &self,
        method: reqwest::Method,
        base: &str,
        path: &str,
        body: Vec<u8>,
        secret: &[u8],
        connection_id: &str,
        role: ConnectionRole,
    ) -> Result<reqwest::Response, NodeError> {
        let token = sign(
            secret,
            connection_id,
            role,
            method.as_str(),
            path,
            &body,
            chrono::Utc::now().timestamp(),
        );
        let r = self
            .http
            .request(method, format!("{base}{path}"))
            .header("Authorization", format!("{AUTH_SCHEME} {token}"))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| NodeError::Peer(format!("{base} cannot be reached: {e}")))?;
        if r.status().is_success() {
            return Ok(r);
        }
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        Err(NodeError::Peer(format!("{base} answered {status}: {text}")))
    }

    /// The acceptor's handshake with the initiator.
    pub async fn accept(
        &self,
        url: &str,
        connection_id: &str,
        secret: &[u8],
        instance: &str,
        my_url: &str,
    ) -> Result<(), NodeError> {
        let body = serde_json::to_vec(&AcceptBody {
            acceptor_instance: instance.to_string(),
            acceptor_url: my_url.to_string(),
        })
        .expect("plain data");
        self.signed(
            reqwest::Method::POST,
            url,
            &format!("/peer/v1/connections/{connection_id}/accept"),
            body,
            secret,
            connection_id,
            ConnectionRole::Acceptor,
        )
        .await?;
        Ok(())
    }

    /// Sends a batch; answers how far the peer holds everything.
    pub async fn send(
        &self,
        url: &str,
        connection_id: &str,
        secret: &[u8],
        role: ConnectionRole,
        batch: &Batch,
    ) -> Result<i64, NodeError> {
        let body = serde_json::to_vec(batch).expect("plain data");
        let r = self
            .signed(
                reqwest::Method::POST,
                url,
                &format!("/peer/v1/connections/{connection_id}/messages"),
                body,
                secret,
                connection_id,
                role,
            )
            .await?;
        let held: Held = r
            .json()
            .await
            .map_err(|e| NodeError::Peer(format!("{url} answered a batch oddly: {e}")))?;
        Ok(held.contiguous)
    }

    /// Asks the peer which of its `entity_type` records hold these `values` in `field`:
    /// `(value, key)` pairs.
    #[allow(clippy::too_many_arguments)]
    pub async fn find(
        &self,
        url: &str,
        connection_id: &str,
        secret: &[u8],
        role: ConnectionRole,
        entity_type: &str,
        field: &str,
        values: &[String],
    ) -> Result<Vec<(String, String)>, NodeError> {
        let body = serde_json::to_vec(&FindBody {
            entity_type: entity_type.to_string(),
            field: field.to_string(),
            values: values.to_vec(),
        })
        .expect("plain data");
        let r = self
            .signed(
                reqwest::Method::POST,
                url,
                &format!("/peer/v1/connections/{connection_id}/find"),
                body,
                secret,
                connection_id,
                role,
            )
            .await?;
        let found: Found = r
            .json()
            .await
            .map_err(|e| NodeError::Peer(format!("{url} answered a look-up oddly: {e}")))?;
        Ok(found.records)
    }

    /// The bytes of one of the peer's files.
    pub async fn fetch_file(
        &self,
        url: &str,
        connection_id: &str,
        secret: &[u8],
        role: ConnectionRole,
        file_id: &str,
    ) -> Result<Bytes, NodeError> {
        let file: String = url::form_urlencoded::byte_serialize(file_id.as_bytes()).collect();
        let r = self
            .signed(
                reqwest::Method::GET,
                url,
                &format!("/peer/v1/connections/{connection_id}/files/{file}"),
                Vec::new(),
                secret,
                connection_id,
                role,
            )
            .await?;
        r.bytes()
            .await
            .map_err(|e| NodeError::Peer(format!("{url} broke off a file: {e}")))
    }
}

/// A look-up of records by a field's values (bulk connect by field).
#[derive(Debug, Serialize, Deserialize)]
pub struct FindBody {
    /// The peer's entity type.
    pub entity_type: String,
    /// The field to match.
    pub field: String,
    /// The values wanted.
    pub values: Vec<String>,
}

/// The answer to a [`FindBody`]: `(value, key)` of each record found.
#[derive(Debug, Serialize, Deserialize)]
pub struct Found {
    /// The records.
    pub records: Vec<(String, String)>,
}
