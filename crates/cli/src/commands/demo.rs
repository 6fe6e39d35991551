//! `twinsync demo`: until the node exists, seeded ServiceNow and Salesforce sandboxes with a
//! guided tour.

use crate::cli::DemoArgs;
use anyhow::Context;
use std::net::SocketAddr;
use twinsync_sandbox::salesforce::{SalesforceConfig, SalesforceSandbox};
use twinsync_sandbox::servicenow::{ServiceNowConfig, ServiceNowSandbox};

/// Starts the sandbox, shows what it holds and how to query it, and serves until stopped.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let config = ServiceNowConfig {
        bind: SocketAddr::from(([127, 0, 0, 1], args.port)),
        seed_incidents: args.seed,
        ..Default::default()
    };
    let sandbox = ServiceNowSandbox::start(config.clone())
        .await
        .context("starting the ServiceNow sandbox (is the port free? try --port 0)")?;
    let sf_config = SalesforceConfig {
        bind: SocketAddr::from(([127, 0, 0, 1], args.salesforce_port)),
        seed_cases: args.seed,
        ..Default::default()
    };
    let salesforce = SalesforceSandbox::start(sf_config.clone())
        .await
        .context("starting the Salesforce sandbox (is the port free? try --salesforce-port 0)")?;
    println!("twinsync demo");
    println!();
    super::sandbox::banner(&sandbox, &config, true);
    println!();
    super::sandbox_salesforce::banner(&salesforce, &sf_config, true);
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
        args.seed,
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
    println!("Create one (as the itil user) and comment on it:");
    println!("  curl -u itil:itil -H 'Content-Type: application/json' -d '{{\"short_description\":\"Demo\",\"urgency\":1,\"comments\":\"hello\"}}' {url}/api/now/table/incident");
    println!();
    println!("Serving until Ctrl-C.");
    super::stop_requested().await;
    sandbox.shutdown().await;
    salesforce.shutdown().await;
    Ok(())
}
