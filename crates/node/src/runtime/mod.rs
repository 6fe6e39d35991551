//! A running node: its store, its platform, the peer HTTP endpoints, and one worker per
//! connection that detects changes, sends the outbox and applies the inbox, in that order,
//! every poll interval (or sooner when woken).

mod admin_http;
mod console_http;
mod error;
mod login;
mod matching;
pub mod metrics;
mod peer_client;
mod peer_http;
mod push;
mod push_http;
mod read_back;
mod worker;

pub use admin_http::{AdminToken, Role};
pub use error::NodeError;
pub use login::{check_hash, hash_password, ConsoleUser, PasswordError, SESSION_LIFETIME};
pub use matching::{MatchBy, Matched};

use crate::peer::{InvitationCode, Verifier};
use crate::sealing::{random_bytes, NodeKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use peer_client::PeerClient;
use sha2::Digest;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use twinsync_connectors::{Identity, Platform};
use twinsync_model::{ConnectionMode, ConnectionRole, ConnectionStatus, RuleDirection};
use twinsync_rules::{NodeLookup, Script};
use twinsync_store::{
    Connection, Invitation, NewConnection, NewTrigger, RuleVersion, SqliteStore, Store, Trigger,
};

/// How long an invitation code stays valid.
const INVITATION_TTL: Duration = Duration::from_secs(24 * 3600);

/// Everything a node needs to start.
pub struct NodeOptions {
    /// This side's instance name (`acme-servicenow`).
    pub instance: String,
    /// Where to listen (port 0 for a free one).
    pub bind: SocketAddr,
    /// The URL other nodes reach this one at, when it differs from the listening address.
    pub public_url: Option<String>,
    /// Where the database and the node key live.
    pub data_dir: PathBuf,
    /// The platform instance this node is attached to.
    pub platform: Arc<dyn Platform>,
    /// How often triggers are polled and queues worked when nothing wakes the worker.
    pub poll_interval: Duration,
    /// User look-ups for rules.
    pub lookup: Arc<dyn NodeLookup + Send + Sync>,
    /// API tokens of the admin API.
    pub admin_tokens: Vec<AdminToken>,
    /// People who log in with a password (console and admin API).
    pub console_users: Vec<ConsoleUser>,
    /// The secret in the push URL (`POST /hooks/{token}`) the platform notifies; no push
    /// endpoint without one.
    pub push_token: Option<String>,
    /// Serve HTTPS with this certificate chain and key (PEM) instead of plain HTTP.
    pub tls: Option<NodeTls>,
    /// A certificate authority (PEM) to trust for peer nodes besides the system's roots
    /// (a private CA, a self-signed peer).
    pub peer_ca_pem: Option<Vec<u8>>,
}

/// The node's TLS certificate chain and private key, PEM.
#[derive(Clone)]
pub struct NodeTls {
    /// Certificate chain, leaf first.
    pub cert_pem: Vec<u8>,
    /// Private key.
    pub key_pem: Vec<u8>,
}

impl std::fmt::Debug for NodeTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NodeTls(***)")
    }
}

/// The shared state of a running node.
pub(crate) struct Inner {
    pub instance: String,
    pub url: String,
    pub store: SqliteStore,
    pub platform: Arc<dyn Platform>,
    pub key: NodeKey,
    pub verifier: Verifier,
    pub peers: PeerClient,
    pub me: Identity,
    pub lookup: Arc<dyn NodeLookup + Send + Sync>,
    pub admin_tokens: Vec<AdminToken>,
    /// Console users and their sessions.
    pub logins: login::Logins,
    /// SHA-256 of the push token, if push is on.
    pub push_token: Option<[u8; 32]>,
    /// Read-backs of records just written, batched across applies.
    pub read_back: read_back::ReadBack,
    /// Records named by push notifications, waiting for the push worker.
    pub pushed: push::Pushed,
    /// What each feed handed out before it settled.
    pub unsettled: worker::Unsettled,
    pub poll_interval: Duration,
    /// Wakes the worker before its interval (a message arrived, something was queued).
    pub wake: Notify,
    /// Held by a round, so rounds never overlap.
    pub round_lock: tokio::sync::Mutex<()>,
    /// Counters for `/metrics`.
    pub metrics: metrics::Metrics,
}

/// A running node.
pub struct Node {
    inner: Arc<Inner>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Serves `app` on `listener`, over TLS when `tls` is given, until `stopped` turns true.
async fn serve(
    listener: std::net::TcpListener,
    app: axum::Router,
    tls: Option<NodeTls>,
    mut stopped: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, NodeError> {
    let handle = axum_server::Handle::new();
    let service = app.into_make_service();
    let server = match tls {
        Some(t) => {
            twinsync_connectors::http::ensure_crypto_provider();
            let config = axum_server::tls_rustls::RustlsConfig::from_pem(t.cert_pem, t.key_pem)
                .await
                .map_err(|e| {
                    NodeError::Setup(format!("the TLS certificate or key is not usable: {e}"))
                })?;
            let server = axum_server::tls_rustls::from_tcp_rustls(listener, config)
                .map_err(|e| NodeError::Setup(e.to_string()))?
                .handle(handle.clone());
            tokio::spawn(async move {
                if let Err(e) = server.serve(service).await {
                    tracing::error!(error = %e, "the node's server stopped");
                }
            })
        }
        None => {
            let server = axum_server::from_tcp(listener)
                .map_err(|e| NodeError::Setup(e.to_string()))?
                .handle(handle.clone());
            tokio::spawn(async move {
                if let Err(e) = server.serve(service).await {
                    tracing::error!(error = %e, "the node's server stopped");
                }
            })
        }
    };
    Ok(tokio::spawn(async move {
        let _ = stopped.wait_for(|s| *s).await;
        handle.graceful_shutdown(Some(std::time::Duration::from_secs(5)));
        let _ = server.await;
    }))
}

impl Node {
    /// Opens the store, asks the platform who the integration user is, starts serving and
    /// starts the worker.
    pub async fn start(options: NodeOptions) -> Result<Node, NodeError> {
        std::fs::create_dir_all(&options.data_dir).map_err(|e| {
            NodeError::Setup(format!(
                "cannot create the data directory {}: {e}",
                options.data_dir.display()
            ))
        })?;
        let store = SqliteStore::open(&options.data_dir.join("node.db"))?;
        let key = NodeKey::load_or_create(&options.data_dir.join("node.key"))
            .map_err(|e| NodeError::Setup(e.to_string()))?;
        let me = options.platform.whoami().await?;
        let listener = std::net::TcpListener::bind(options.bind)
            .and_then(|l| l.set_nonblocking(true).map(|_| l))
            .map_err(|e| NodeError::Setup(format!("cannot listen on {}: {e}", options.bind)))?;
        let addr = listener
            .local_addr()
            .map_err(|e| NodeError::Setup(e.to_string()))?;
        let scheme = if options.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let url = options
            .public_url
            .clone()
            .unwrap_or_else(|| format!("{scheme}://{addr}"))
            .trim_end_matches('/')
            .to_string();
        let inner = Arc::new(Inner {
            instance: options.instance,
            url,
            store,
            read_back: read_back::ReadBack::start(options.platform.clone()),
            platform: options.platform,
            key,
            verifier: Verifier::new(),
            peers: PeerClient::new(options.peer_ca_pem.as_deref())?,
            me,
            lookup: options.lookup,
            admin_tokens: options.admin_tokens,
            logins: login::Logins::new(options.console_users, SESSION_LIFETIME),
            push_token: options
                .push_token
                .as_deref()
                .map(|t| sha2::Sha256::digest(t.as_bytes()).into()),
            pushed: push::Pushed::default(),
            unsettled: worker::Unsettled::default(),
            poll_interval: options.poll_interval,
            wake: Notify::new(),
            round_lock: tokio::sync::Mutex::new(()),
            metrics: metrics::Metrics::default(),
        });
        let (stop, stopped) = watch::channel(false);
        let app = peer_http::router(inner.clone())
            .merge(admin_http::router(inner.clone()))
            .merge(push_http::router(inner.clone()))
            .merge(console_http::router());
        let server = serve(listener, app, options.tls, stopped.clone()).await?;
        let pusher = tokio::spawn(push::run(inner.clone(), stopped.clone()));
        let worker = tokio::spawn(worker::run(inner.clone(), stopped));
        Ok(Node {
            inner,
            stop,
            tasks: vec![server, worker, pusher],
        })
    }

    /// The URL other nodes reach this one at.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The node's store (for the admin API and tests).
    pub fn store(&self) -> &SqliteStore {
        &self.inner.store
    }

    /// The node's counters (for benchmarks and tests).
    pub fn metrics(&self) -> &metrics::Metrics {
        &self.inner.metrics
    }

    /// The platform connector's request counts.
    pub fn api_calls(&self) -> twinsync_connectors::ApiCalls {
        self.inner.platform.api_calls()
    }

    /// Stops serving and working; what is queued stays in the store.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        self.inner.wake.notify_one();
        for t in self.tasks {
            let _ = t.await;
        }
    }

    /// Runs one round of every connection's work now (detect, send, apply).
    pub async fn tick(&self) {
        worker::round(&self.inner).await;
    }

    /// Starts a connection to the node at `remote_url` (which must answer as a twinsync
    /// node); answers the connection, pending, and the invitation code to hand over.
    pub async fn initiate(&self, request: Initiate) -> Result<(Connection, String), NodeError> {
        self.inner.initiate(request).await
    }

    /// Accepts an invitation code: records the connection and completes the signed
    /// handshake with the initiator; both sides are then active.
    pub async fn accept(&self, code: &str) -> Result<Connection, NodeError> {
        self.inner.accept(code).await
    }

    /// Adds a trigger after the platform has checked its query; it syncs what changes from
    /// now on.
    pub async fn add_trigger(&self, trigger: NewTrigger) -> Result<Trigger, NodeError> {
        self.inner.add_trigger(trigger).await
    }

    /// Publishes a rule: it must compile, and the connection must be in Script mode.
    pub async fn publish_rule(
        &self,
        connection_id: &str,
        direction: RuleDirection,
        source: &str,
        by: &str,
    ) -> Result<RuleVersion, NodeError> {
        self.inner
            .publish_rule(connection_id, direction, source, by)
            .await
    }

    /// Syncs one local record now, whether or not a trigger matches it.
    pub async fn exalate(
        &self,
        connection_id: &str,
        entity_type: &str,
        key: &str,
    ) -> Result<(), NodeError> {
        worker::exalate(&self.inner, connection_id, entity_type, key).await
    }

    /// Queues every record that matches a trigger now, whatever its age; answers how many
    /// matched and how many were queued (unchanged twins are not sent again). `progress` is
    /// called after each page with the running counts.
    pub async fn bulk_exalate(
        &self,
        trigger_id: i64,
        progress: impl FnMut(BulkProgress) + Send,
    ) -> Result<BulkProgress, NodeError> {
        worker::bulk_exalate(&self.inner, trigger_id, progress).await
    }

    /// Links existing records on both sides as twins, writing neither (bulk connect);
    /// answers how many new links were sent.
    pub async fn bulk_connect(
        &self,
        connection_id: &str,
        pairs: &[Pair],
    ) -> Result<usize, NodeError> {
        worker::bulk_connect(&self.inner, connection_id, pairs).await
    }

    /// Links the records of both sides whose fields hold the same value (each value found
    /// once on each side), without overwriting either.
    pub async fn bulk_connect_by(
        &self,
        connection_id: &str,
        by: &MatchBy,
    ) -> Result<Matched, NodeError> {
        matching::bulk_connect_by(&self.inner, connection_id, by).await
    }

    /// Stops syncing a local record (and tells the other side).
    pub async fn unexalate(
        &self,
        connection_id: &str,
        entity_type: &str,
        key: &str,
    ) -> Result<(), NodeError> {
        worker::unexalate(&self.inner, connection_id, entity_type, key).await
    }

    /// Changes a connection's status (activate, deactivate).
    pub async fn set_status(
        &self,
        connection_id: &str,
        status: ConnectionStatus,
    ) -> Result<(), NodeError> {
        self.inner.set_status(connection_id, status).await
    }
}

impl Inner {
    /// Starts a connection to the node at `remote_url` (which must answer as a twinsync
    /// node); answers the connection, pending, and the invitation code to hand over.
    pub(crate) async fn initiate(
        &self,
        request: Initiate,
    ) -> Result<(Connection, String), NodeError> {
        let remote_url = request.remote_url.trim_end_matches('/').to_string();
        let hello = self.peers.hello(&remote_url).await?;
        let id = hex::encode(random_bytes::<16>().map_err(|e| NodeError::Setup(e.to_string()))?);
        let secret = random_bytes::<32>().map_err(|e| NodeError::Setup(e.to_string()))?;
        let remote_instance = request.remote_instance.unwrap_or(hello.instance);
        let name = request
            .name
            .unwrap_or_else(|| format!("{}_to_{}", self.instance, remote_instance));
        let sealed = self
            .key
            .seal(&format!("connection-secret:{id}"), &secret)
            .map_err(|e| NodeError::Setup(e.to_string()))?;
        let connection = self
            .store
            .insert_connection(NewConnection {
                id: id.clone(),
                name: name.clone(),
                description: request.description,
                local_instance: self.instance.clone(),
                remote_instance: remote_instance.clone(),
                remote_url,
                mode: request.mode,
                role: ConnectionRole::Initiator,
                status: ConnectionStatus::Pending,
                sealed_secret: sealed,
            })
            .await?;
        let expires =
            chrono::Utc::now() + chrono::Duration::from_std(INVITATION_TTL).unwrap_or_default();
        self.store
            .put_invitation(Invitation {
                connection_id: id.clone(),
                code_hash: InvitationCode::secret_hash(&secret),
                expires_at: expires,
            })
            .await?;
        let code = InvitationCode {
            version: crate::peer::invitation::VERSION,
            url: self.url.clone(),
            connection_id: id,
            name,
            initiator_instance: self.instance.clone(),
            acceptor_instance: remote_instance,
            mode: request.mode,
            secret: URL_SAFE_NO_PAD.encode(secret),
            expires_at: expires.timestamp(),
        };
        Ok((connection, code.encode()))
    }

    /// Accepts an invitation code: records the connection and completes the signed
    /// handshake with the initiator; both sides are then active.
    pub(crate) async fn accept(&self, code: &str) -> Result<Connection, NodeError> {
        let code = InvitationCode::decode(code, chrono::Utc::now().timestamp())?;
        let secret = code.secret_bytes().ok_or(NodeError::Invitation(
            crate::peer::InvitationError::Malformed,
        ))?;
        let sealed = self
            .key
            .seal(
                &format!("connection-secret:{}", code.connection_id),
                &secret,
            )
            .map_err(|e| NodeError::Setup(e.to_string()))?;
        let connection = self
            .store
            .insert_connection(NewConnection {
                id: code.connection_id.clone(),
                name: code.name.clone(),
                description: String::new(),
                local_instance: self.instance.clone(),
                remote_instance: code.initiator_instance.clone(),
                remote_url: code.url.clone(),
                mode: code.mode,
                role: ConnectionRole::Acceptor,
                status: ConnectionStatus::Pending,
                sealed_secret: sealed,
            })
            .await?;
        let handshake = self
            .peers
            .accept(
                &code.url,
                &code.connection_id,
                &secret,
                &self.instance,
                &self.url,
            )
            .await;
        if let Err(e) = handshake {
            // Nothing half-made stays behind: the admin can paste the code again.
            let _ = self.store.delete_connection(&code.connection_id).await;
            return Err(e);
        }
        self.store
            .set_connection_status(&connection.spec.id, ConnectionStatus::Active)
            .await?;
        Ok(self.store.connection(&connection.spec.id).await?)
    }

    /// Adds a trigger after the platform has checked its query.
    pub(crate) async fn add_trigger(&self, trigger: NewTrigger) -> Result<Trigger, NodeError> {
        self.store.connection(&trigger.connection_id).await?;
        self.platform
            .validate_query(&trigger.entity_type, &trigger.query)
            .await?;
        let mut t = self.store.add_trigger(trigger).await?;
        // A trigger syncs what changes from now on; existing matches are bulk exalate's.
        let start = worker::now_watermark(self);
        self.store
            .enqueue(twinsync_store::Enqueue {
                connection_id: t.spec.connection_id.clone(),
                messages: Vec::new(),
                advance: Some(twinsync_store::Advance::Trigger(t.id, start.clone())),
            })
            .await?;
        t.watermark = start;
        self.wake.notify_one();
        Ok(t)
    }

    /// Publishes a rule: it must compile, and the connection must be in Script mode.
    pub(crate) async fn publish_rule(
        &self,
        connection_id: &str,
        direction: RuleDirection,
        source: &str,
        by: &str,
    ) -> Result<RuleVersion, NodeError> {
        let c = self.store.connection(connection_id).await?;
        if c.spec.mode == ConnectionMode::Basic {
            return Err(NodeError::Refused(
                "this connection is in Basic mode: its rules are the defaults and cannot be edited"
                    .into(),
            ));
        }
        if let Err(errors) = Script::compile(direction.as_str(), source) {
            return Err(NodeError::Rule(
                errors.iter().map(ToString::to_string).collect(),
            ));
        }
        Ok(self
            .store
            .publish_rule(connection_id, direction, source, by)
            .await?)
    }

    /// Changes a connection's status (activate, deactivate).
    pub(crate) async fn set_status(
        &self,
        connection_id: &str,
        status: ConnectionStatus,
    ) -> Result<(), NodeError> {
        self.store
            .set_connection_status(connection_id, status)
            .await?;
        self.wake.notify_one();
        Ok(())
    }
}

/// A pair of existing records to link (bulk connect).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct Pair {
    /// This side's entity type.
    pub local_type: String,
    /// This side's key.
    pub local_key: String,
    /// The other side's entity type.
    pub remote_type: String,
    /// The other side's key.
    pub remote_key: String,
}

/// How far a bulk exalate has got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BulkProgress {
    /// Records that matched so far.
    pub matched: usize,
    /// Of those, queued for sending.
    pub queued: usize,
}

/// What an admin gives to initiate a connection.
#[derive(Debug, Clone)]
pub struct Initiate {
    /// The other node's URL.
    pub remote_url: String,
    /// Basic or Script.
    pub mode: ConnectionMode,
    /// A name; `<local>_to_<remote>` when `None`.
    pub name: Option<String>,
    /// The other side's instance name; what its node says when `None`.
    pub remote_instance: Option<String>,
    /// What the connection is for.
    pub description: String,
}
