//! `twinsync demo`: a ServiceNow and a Salesforce sandbox, a node attached to each, a
//! Script-mode connection made through the real invitation handshake, triggers on urgent
//! incidents and high-priority cases, and a scenario of edits on both sides whose syncs are
//! printed as they happen. `--once` ends after the scenario with a summary.

use crate::cli::DemoArgs;
use anyhow::{bail, Context};
use serde_json::{json, Map, Value};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use twinsync_connectors::salesforce::{Salesforce, SalesforceAuth, SalesforceConfig};
use twinsync_connectors::servicenow::{ServiceNow, ServiceNowAuth, ServiceNowConfig};
use twinsync_connectors::{Entity, NewComment, Platform, Secret};
use twinsync_model::ConnectionMode;
use twinsync_node::{AdminToken, Initiate, Node, NodeOptions, Role};
use twinsync_rules::StaticUsers;
use twinsync_sandbox::salesforce::{self as sfbox, CustomFieldSpec, SalesforceSandbox};
use twinsync_sandbox::servicenow::{self as snbox, ServiceNowSandbox};
use twinsync_store::{NewTrigger, Store};

/// How long one expected sync may take before the demo calls it missing.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// The field on Case that carries twinsync's correlation key (idempotent creation).
const KEY_FIELD: &str = "TwinSync_Key__c";

fn fields(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn servicenow(url: &str, user: &str) -> anyhow::Result<ServiceNow> {
    let mut c = ServiceNowConfig::new(
        url,
        ServiceNowAuth::Basic {
            user: user.into(),
            password: Secret::new(user),
        },
    );
    c.settle = Some(Duration::from_secs(1));
    Ok(ServiceNow::new(c)?)
}

fn salesforce(url: &str, user: &str, password: &str) -> anyhow::Result<Salesforce> {
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
    c.settle = Some(Duration::from_secs(1));
    c.external_id_field = KEY_FIELD.into();
    Ok(Salesforce::new(c)?)
}

/// Waits for `check` to give a value; how long it took.
async fn expect<T, F, Fut>(what: &str, mut check: F) -> anyhow::Result<(T, Duration)>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(v) = check().await {
            return Ok((v, started.elapsed()));
        }
        if started.elapsed() > STEP_TIMEOUT {
            bail!("{what} did not happen within {} s", STEP_TIMEOUT.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn one(p: &dyn Platform, entity_type: &str, key: &str) -> Option<Entity> {
    p.get(entity_type, &[key.to_string()]).await.ok()?.pop()
}

/// The twin's record on the other side, once the ack has told the node.
async fn remote_key(node: &Node, connection: &str, local_key: &str) -> Option<String> {
    node.store()
        .twins(connection, 1000)
        .await
        .ok()?
        .into_iter()
        .find(|t| t.local.as_ref().is_some_and(|l| l.key == local_key))
        .and_then(|t| t.remote.map(|r| r.key))
}

/// Starts everything, runs the scenario, then serves until stopped (or ends, `--once`).
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    // Listen for Ctrl-C and SIGTERM from the start: a stop during start-up or the scenario
    // ends the demo cleanly too.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stop = super::stop_requested();
    tokio::spawn(async move {
        stop.await;
        let _ = stop_tx.send(true);
    });
    let stopped = || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let sn_config = snbox::ServiceNowConfig {
        bind: SocketAddr::from(([127, 0, 0, 1], args.port)),
        seed_incidents: args.seed,
        ..Default::default()
    };
    let sn_box = ServiceNowSandbox::start(sn_config.clone())
        .await
        .context("starting the ServiceNow sandbox (is the port free? try --port 0)")?;
    let sf_config = sfbox::SalesforceConfig {
        bind: SocketAddr::from(([127, 0, 0, 1], args.salesforce_port)),
        seed_cases: args.seed,
        custom_fields: vec![CustomFieldSpec {
            object: "Case".into(),
            name: KEY_FIELD.into(),
            ty: "string".into(),
            label: Some("TwinSync Key".into()),
            length: Some(80),
            external_id: true,
            unique: true,
            values: vec![],
            restricted: false,
        }],
        ..Default::default()
    };
    let sf_box = SalesforceSandbox::start(sf_config.clone())
        .await
        .context("starting the Salesforce sandbox (is the port free? try --salesforce-port 0)")?;
    println!("twinsync demo");
    println!();
    super::sandbox::banner(&sn_box, &sn_config, true);
    println!();
    super::sandbox_salesforce::banner(&sf_box, &sf_config, true);
    tour(&sn_box, args.seed);

    let temp;
    let data = match &args.data {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::tempdir().context("creating a temporary data directory")?;
            temp.path().to_path_buf()
        }
    };
    // One admin token for both nodes' admin API, shown below.
    let token = twinsync_node::sealing::random_bytes::<16>()
        .map(|b| b.iter().map(|x| format!("{x:02x}")).collect::<String>())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let start_node = |instance: &str, port: u16, platform: Arc<dyn Platform>| {
        Node::start(NodeOptions {
            instance: instance.into(),
            bind: SocketAddr::from(([127, 0, 0, 1], port)),
            public_url: None,
            data_dir: data.join(instance),
            platform,
            poll_interval: Duration::from_millis(250),
            lookup: Arc::new(StaticUsers::default()),
            admin_tokens: vec![AdminToken::new("demo", &token, Role::Admin)],
            console_users: Vec::new(),
            push_token: None,
            tls: None,
            peer_ca_pem: None,
        })
    };
    let sn_node = start_node(
        "acme-servicenow",
        args.node_port,
        Arc::new(servicenow(sn_box.base_url(), "itil")?),
    )
    .await
    .context("starting the ServiceNow node (is the port free? try --node-port 0)")?;
    let sf_node = start_node(
        "acme-salesforce",
        args.salesforce_node_port,
        Arc::new(salesforce(
            sf_box.base_url(),
            "integration@example.com",
            "integration",
        )?),
    )
    .await
    .context("starting the Salesforce node (is the port free? try --salesforce-node-port 0)")?;
    println!();
    println!("Nodes");
    println!(
        "  ServiceNow node  {}  (integration user itil)",
        sn_node.url()
    );
    println!(
        "  Salesforce node  {}  (integration user integration@example.com)",
        sf_node.url()
    );
    println!(
        "  web console: {}/console/ and {}/console/ (log in with the token below)",
        sn_node.url(),
        sf_node.url()
    );
    println!("  admin API token for both: {token}");
    println!(
        "  curl -H 'Authorization: Bearer {token}' {}/api/v1/connections",
        sn_node.url()
    );

    // Ctrl-C or SIGTERM during the scenario stops everything cleanly too.
    let outcome = tokio::select! {
        r = scenario(&sn_box, &sf_box, &sn_node, &sf_node) => r,
        _ = stopped() => {
            println!("Stopped.");
            sn_node.shutdown().await;
            sf_node.shutdown().await;
            sn_box.shutdown().await;
            sf_box.shutdown().await;
            return Ok(());
        }
    };
    match (&outcome, args.once) {
        (Ok(n), true) => {
            println!();
            println!("All {n} expected syncs happened.");
        }
        (Ok(n), false) => {
            println!();
            println!("All {n} expected syncs happened. The nodes keep syncing: edit records in");
            println!(
                "either sandbox (urgency=1 incidents, High-priority cases) and watch them move."
            );
            println!("Serving until Ctrl-C.");
            stopped().await;
        }
        (Err(_), _) => {}
    }
    sn_node.shutdown().await;
    sf_node.shutdown().await;
    sn_box.shutdown().await;
    sf_box.shutdown().await;
    outcome.map(|_| ())
}

/// What the seeded data holds, and how to query it as a trigger does.
fn tour(sandbox: &ServiceNowSandbox, seed: usize) {
    let url = sandbox.base_url();
    let urgent = {
        let db = sandbox.state().db.read();
        let table = db.table("incident");
        let (urgency, number) = match table {
            Some(t) => (t.column("urgency"), t.column("number")),
            None => (None, None),
        };
        match (table, urgency, number) {
            (Some(t), Some(u), Some(n)) => t
                .records()
                .filter(|r| r.get(u) == "1")
                .map(|r| r.get(n).to_string())
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        }
    };
    println!();
    println!(
        "{} incidents seeded; {} match the trigger query `urgency=1`: {}",
        seed,
        urgent.len(),
        urgent
            .iter()
            .take(8)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("Query them as a twinsync trigger would:");
    println!("  curl -u admin:admin '{url}/api/now/table/incident?sysparm_query=urgency=1^ORDERBYsys_updated_on&sysparm_fields=number,short_description,priority,state'");
}

/// The connection, the triggers, and edits on both sides; each expected sync printed with
/// the time it took. Answers how many syncs were checked.
async fn scenario(
    sn_box: &ServiceNowSandbox,
    sf_box: &SalesforceSandbox,
    sn_node: &Node,
    sf_node: &Node,
) -> anyhow::Result<usize> {
    // People working on each platform (not the integration users).
    let sn_person = servicenow(sn_box.base_url(), "admin")?;
    let sf_person = salesforce(sf_box.base_url(), "admin@example.com", "admin")?;

    println!();
    println!("Connection");
    let (pending, code) = sn_node
        .initiate(Initiate {
            remote_url: sf_node.url().to_string(),
            mode: ConnectionMode::Script,
            name: None,
            remote_instance: None,
            description: "Urgent incidents and high-priority cases, both ways".into(),
        })
        .await?;
    println!(
        "  initiated on the ServiceNow node: {} ({}, {})",
        pending.spec.name, pending.spec.mode, pending.spec.status
    );
    println!("  invitation code: {}…", &code[..code.len().min(24)]);
    let accepted = sf_node.accept(&code).await?;
    println!(
        "  accepted on the Salesforce node: {}",
        accepted.spec.status
    );
    let id = accepted.spec.id.clone();
    sn_node
        .add_trigger(NewTrigger {
            connection_id: id.clone(),
            entity_type: "incident".into(),
            query: "urgency=1".into(),
            notes: "urgent incidents go to sales".into(),
            active: true,
        })
        .await?;
    sf_node
        .add_trigger(NewTrigger {
            connection_id: id.clone(),
            entity_type: "Case".into(),
            query: "SELECT Id FROM Case WHERE Priority = 'High'".into(),
            notes: "high-priority cases go to support".into(),
            active: true,
        })
        .await?;
    println!(
        "  triggers: incident `urgency=1` (ServiceNow), Case `Priority = 'High'` (Salesforce)"
    );
    println!();
    println!("Syncs (rules: the defaults; each time counts from the edit)");
    let mut checked = 0;

    // 1. An urgent incident with a comment → a case.
    let inc = sn_person
        .create(
            "incident",
            "demo-person-1",
            &fields(json!({"short_description": "Demo: checkout page answers 500", "description": "Since the 14:00 deploy", "urgency": "1", "impact": "2"})),
        )
        .await?;
    sn_person
        .add_comment(
            "incident",
            &inc.key,
            &NewComment {
                body: "Customers cannot pay".into(),
                internal: false,
            },
        )
        .await?;
    let number = inc.number.clone().unwrap_or_default();
    let (case_key, took) = expect("the urgent incident reaching Salesforce", || async {
        remote_key(sn_node, &id, &inc.key).await
    })
    .await?;
    let case = one(&sf_person, "Case", &case_key).await;
    println!(
        "  ServiceNow {number} → Salesforce Case {} (Priority {}, {} comment) in {:.1} s",
        case.as_ref()
            .and_then(|c| c.number.clone())
            .unwrap_or_default(),
        case.as_ref()
            .map_or(Value::Null, |c| c.fields["Priority"].clone()),
        case.as_ref().map_or(0, |c| c.comments.len()),
        took.as_secs_f64()
    );
    checked += 1;

    // 2. A high-priority case → an incident.
    let vip = sf_person
        .create(
            "Case",
            "demo-person-2",
            &fields(json!({"Subject": "Demo: VIP customer cannot log in", "Description": "Reported by phone", "Priority": "High", "Origin": "Phone"})),
        )
        .await?;
    let (inc2_key, took) = expect("the high-priority case reaching ServiceNow", || async {
        remote_key(sf_node, &id, &vip.key).await
    })
    .await?;
    let inc2 = one(&sn_person, "incident", &inc2_key).await;
    println!(
        "  Salesforce Case {} → ServiceNow {} (urgency {}) in {:.1} s",
        vip.number.clone().unwrap_or_default(),
        inc2.as_ref()
            .and_then(|i| i.number.clone())
            .unwrap_or_default(),
        inc2.as_ref()
            .map_or(Value::Null, |i| i.fields["urgency"].clone()),
        took.as_secs_f64()
    );
    checked += 1;

    // 3. A comment on the first case → the incident.
    sf_person
        .add_comment(
            "Case",
            &case_key,
            &NewComment {
                body: "Sales: the customer confirms, card payments fail".into(),
                internal: false,
            },
        )
        .await?;
    let (_, took) = expect("the case comment reaching the incident", || async {
        one(&sn_person, "incident", &inc.key)
            .await
            .filter(|e| e.comments.iter().any(|c| c.body.starts_with("Sales:")))
    })
    .await?;
    println!(
        "  Salesforce comment → ServiceNow {number} in {:.1} s",
        took.as_secs_f64()
    );
    checked += 1;

    // 4. Work starts on the second incident → the case follows.
    sn_person
        .update("incident", &inc2_key, &fields(json!({"state": "2"})))
        .await?;
    let (_, took) = expect("the incident's new state reaching the case", || async {
        one(&sf_person, "Case", &vip.key)
            .await
            .filter(|c| c.fields["Status"] == "Working")
    })
    .await?;
    println!(
        "  ServiceNow state In Progress → Salesforce Case {} Status Working in {:.1} s",
        vip.number.clone().unwrap_or_default(),
        took.as_secs_f64()
    );
    checked += 1;

    // 5. The first case is closed → the incident is closed.
    sf_person
        .update("Case", &case_key, &fields(json!({"Status": "Closed"})))
        .await?;
    let (_, took) = expect("closing the case closing the incident", || async {
        one(&sn_person, "incident", &inc.key)
            .await
            .filter(|e| e.fields["state"] == "7")
    })
    .await?;
    println!(
        "  Salesforce Case closed → ServiceNow {number} Closed in {:.1} s",
        took.as_secs_f64()
    );
    checked += 1;

    // Nothing echoes: the comment exists once on each side.
    let first = one(&sn_person, "incident", &inc.key).await;
    let copies = first.map_or(0, |e| {
        e.comments
            .iter()
            .filter(|c| c.body.starts_with("Sales:"))
            .count()
    });
    if copies != 1 {
        bail!("the case comment arrived {copies} times on the incident");
    }
    let errors = sn_node.store().open_errors(None).await?.len()
        + sf_node.store().open_errors(None).await?.len();
    if errors > 0 {
        bail!("{errors} sync error(s) are open on the nodes");
    }
    println!(
        "  twins: {} on the ServiceNow node, {} on the Salesforce node; no errors",
        sn_node.store().twins(&id, 1000).await?.len(),
        sf_node.store().twins(&id, 1000).await?.len()
    );
    Ok(checked)
}
