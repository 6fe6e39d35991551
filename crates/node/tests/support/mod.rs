//! Sandboxes, connectors and nodes on loopback for the node's tests.
#![allow(dead_code)]

pub mod recording;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use twinsync_connectors::salesforce::{Salesforce, SalesforceAuth, SalesforceConfig};
use twinsync_connectors::servicenow::{ServiceNow, ServiceNowAuth, ServiceNowConfig};
use twinsync_connectors::{Platform, Secret};
use twinsync_model::ConnectionMode;
use twinsync_node::{AdminToken, ConsoleUser, Initiate, Node, NodeOptions};
use twinsync_rules::StaticUsers;
use twinsync_sandbox::salesforce::{self as sfbox, CustomFieldSpec, SalesforceSandbox};
use twinsync_sandbox::servicenow::{self as snbox, ServiceNowSandbox};

/// A ServiceNow sandbox with `incidents` seeded incidents and a Salesforce sandbox with
/// `cases` seeded cases and the connector's external-id field on Case.
pub async fn sandboxes(incidents: usize, cases: usize) -> (ServiceNowSandbox, SalesforceSandbox) {
    twinsync_connectors::http::ensure_crypto_provider();
    let sn = ServiceNowSandbox::start(snbox::ServiceNowConfig {
        seed_incidents: incidents,
        ..Default::default()
    })
    .await
    .unwrap();
    let sf = SalesforceSandbox::start(sfbox::SalesforceConfig {
        seed_cases: cases,
        custom_fields: ["Case", "Task"]
            .into_iter()
            .map(|object| CustomFieldSpec {
                object: object.into(),
                name: "TwinSync_Key__c".into(),
                ty: "string".into(),
                label: None,
                length: Some(80),
                external_id: true,
                unique: true,
                values: vec![],
                restricted: false,
            })
            .collect(),
        ..Default::default()
    })
    .await
    .unwrap();
    (sn, sf)
}

/// A ServiceNow connector as `user` (whose password is its name in the sandbox).
pub fn sn_connector(url: &str, user: &str, settle: Option<Duration>) -> ServiceNow {
    let mut c = ServiceNowConfig::new(
        url,
        ServiceNowAuth::Basic {
            user: user.into(),
            password: Secret::new(user),
        },
    );
    c.settle = settle;
    ServiceNow::new(c).unwrap()
}

/// The ServiceNow connector a node uses in these tests: the sandbox's `itil` user.
pub fn sn_integration(url: &str) -> ServiceNow {
    sn_connector(url, "itil", SETTLE)
}

/// The Salesforce connector a node uses in these tests: the org's integration user.
pub fn sf_integration(url: &str) -> Salesforce {
    sf_connector(url, "integration@example.com", "integration", SETTLE)
}

/// A Salesforce connector with the password flow of the default connected app.
pub fn sf_connector(url: &str, user: &str, password: &str, settle: Option<Duration>) -> Salesforce {
    let mut c = SalesforceConfig::new(
        url,
        SalesforceAuth::Password {
            client_id: "twinsync".into(),
            client_secret: Secret::new("twinsync-secret"),
            username: user.into(),
            password: Secret::new(password),
            security_token: None,
        },
    );
    c.settle = settle;
    Salesforce::new(c).unwrap()
}

/// Timestamps have whole seconds: a change is read once its second is over.
pub const SETTLE: Option<Duration> = Some(Duration::from_secs(1));

/// The push token of test nodes (`POST /hooks/test-push-token-0001`).
pub const PUSH_TOKEN: &str = "test-push-token-0001";

/// A node on an ephemeral port, polling every 150 ms.
pub async fn node(
    instance: &str,
    platform: Arc<dyn Platform>,
    dir: &tempfile::TempDir,
    admin_tokens: Vec<AdminToken>,
) -> Node {
    node_polling(
        instance,
        platform,
        dir,
        admin_tokens,
        Duration::from_millis(150),
    )
    .await
}

/// A node listening at `bind` (a restarted node must be found where its peer knows it),
/// polling every 150 ms.
pub async fn node_at(
    instance: &str,
    platform: Arc<dyn Platform>,
    dir: &tempfile::TempDir,
    bind: std::net::SocketAddr,
) -> Node {
    Node::start(NodeOptions {
        bind,
        push_token: None,
        ..options(instance, platform, dir)
    })
    .await
    .unwrap()
}

/// What test nodes start with: an ephemeral port, a data directory under `dir`, polling
/// every 150 ms, push on with [`PUSH_TOKEN`], no tokens or users, plain HTTP.
pub fn options(
    instance: &str,
    platform: Arc<dyn Platform>,
    dir: &tempfile::TempDir,
) -> NodeOptions {
    NodeOptions {
        instance: instance.into(),
        bind: "127.0.0.1:0".parse().unwrap(),
        public_url: None,
        data_dir: dir.path().join(instance),
        platform,
        poll_interval: Duration::from_millis(150),
        lookup: Arc::new(StaticUsers::default()),
        admin_tokens: Vec::new(),
        console_users: Vec::new(),
        push_token: Some(PUSH_TOKEN.into()),
        tls: None,
        peer_ca_pem: None,
    }
}

/// A node on an ephemeral port, polling every `poll` (push tests poll hourly, so what
/// syncs quickly came by push).
pub async fn node_polling(
    instance: &str,
    platform: Arc<dyn Platform>,
    dir: &tempfile::TempDir,
    admin_tokens: Vec<AdminToken>,
    poll: Duration,
) -> Node {
    node_with_users(instance, platform, dir, admin_tokens, Vec::new(), poll).await
}

/// A node on an ephemeral port with API tokens and console users.
pub async fn node_with_users(
    instance: &str,
    platform: Arc<dyn Platform>,
    dir: &tempfile::TempDir,
    admin_tokens: Vec<AdminToken>,
    console_users: Vec<ConsoleUser>,
    poll: Duration,
) -> Node {
    Node::start(NodeOptions {
        poll_interval: poll,
        admin_tokens,
        console_users,
        ..options(instance, platform, dir)
    })
    .await
    .unwrap()
}

/// Initiates a connection on `initiator` to `acceptor` and accepts it there; answers its id.
pub async fn connect(initiator: &Node, acceptor: &Node, mode: ConnectionMode) -> String {
    let (_, code) = initiator
        .initiate(Initiate {
            remote_url: acceptor.url().to_string(),
            mode,
            name: None,
            remote_instance: None,
            description: String::new(),
        })
        .await
        .unwrap();
    acceptor.accept(&code).await.unwrap().spec.id
}

/// Both sandboxes, a node for each (`sn`, `sf`, polling every 150 ms), a person on each
/// side, and a connection between the nodes.
pub struct Pair {
    pub sn_node: Node,
    pub sf_node: Node,
    pub sn_person: ServiceNow,
    pub sf_person: Salesforce,
    pub id: String,
    /// What must live as long as the nodes: the sandboxes and the data directory.
    pub keep: (ServiceNowSandbox, SalesforceSandbox, tempfile::TempDir),
}

/// Starts a [`Pair`] connected in `mode`.
pub async fn pair(mode: ConnectionMode) -> Pair {
    let dir = tempfile::tempdir().unwrap();
    let (snb, sfb) = sandboxes(0, 0).await;
    let sn_node = node(
        "sn",
        Arc::new(sn_integration(snb.base_url())),
        &dir,
        Vec::new(),
    )
    .await;
    let sf_node = node(
        "sf",
        Arc::new(sf_integration(sfb.base_url())),
        &dir,
        Vec::new(),
    )
    .await;
    let id = connect(&sn_node, &sf_node, mode).await;
    Pair {
        sn_person: sn_connector(snb.base_url(), "admin", SETTLE),
        sf_person: sf_connector(sfb.base_url(), "admin@example.com", "admin", SETTLE),
        sn_node,
        sf_node,
        id,
        keep: (snb, sfb, dir),
    }
}

/// Adds an active trigger on `node` for the connection `id`.
pub async fn trigger(
    node: &Node,
    id: &str,
    entity_type: &str,
    query: &str,
) -> twinsync_store::Trigger {
    node.add_trigger(twinsync_store::NewTrigger {
        connection_id: id.to_string(),
        entity_type: entity_type.into(),
        query: query.into(),
        notes: String::new(),
        active: true,
    })
    .await
    .unwrap()
}

/// Waits (up to 30 s) until `check` gives a value.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
