//! `twinsync sandbox servicenow`.

use crate::cli::{ServiceNowArgs, TlsArgs};
use anyhow::Context;
use std::net::SocketAddr;
use twinsync_sandbox::common::tls::TlsMaterial;
use twinsync_sandbox::servicenow::{ConfigFile, ServiceNowConfig, ServiceNowSandbox, UserSpec};

/// Builds the sandbox configuration from the command line (and its `--config` file).
pub fn servicenow_config(args: &ServiceNowArgs) -> anyhow::Result<ServiceNowConfig> {
    let mut config = ServiceNowConfig {
        bind: SocketAddr::new(args.bind, args.port),
        data: args.data.clone(),
        seed_incidents: args.seed,
        invalid_query_returns_no_rows: args.strict_queries,
        public_url: args.public_url.clone(),
        ..Default::default()
    };
    if let Some(path) = &args.config {
        ConfigFile::load(path)?.apply(&mut config);
    }
    if !args.users.is_empty() {
        config.users = args
            .users
            .iter()
            .map(|u| UserSpec::parse_flag(u).map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<_>>()
            .context("--user")?;
    }
    config.tls = tls_material(&args.tls, "servicenow")?;
    Ok(config)
}

/// The certificate to serve HTTPS with, when `--tls` is given: the `--cert`/`--key` files, or
/// a generated one whose CA goes to `--cert-out` (a temporary file by default).
pub fn tls_material(args: &TlsArgs, platform: &str) -> anyhow::Result<Option<TlsMaterial>> {
    if !args.tls {
        return Ok(None);
    }
    Ok(Some(match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => TlsMaterial::from_files(cert, key)?,
        _ => {
            let out = args.cert_out.clone().unwrap_or_else(|| {
                std::env::temp_dir().join(format!(
                    "twinsync-{platform}-sandbox-{}.crt",
                    std::process::id()
                ))
            });
            TlsMaterial::self_signed(&out)?
        }
    }))
}

/// Prints where a sandbox keeps its data and the certificate to trust; returns the `curl`
/// flag the examples need (`-k ` with TLS).
pub fn storage_lines(data: Option<&std::path::Path>, tls: Option<&TlsMaterial>) -> &'static str {
    match data {
        Some(path) => println!("  data:     {} (kept across restarts)", path.display()),
        None => println!("  data:     in memory (pass --data FILE to keep it)"),
    }
    match tls {
        Some(tls) => {
            println!(
                "  TLS cert: {} (trust it in your client)",
                tls.cert_path.display()
            );
            "-k "
        }
        None => "",
    }
}

/// Prints what is running and how to reach it.
pub fn banner(sandbox: &ServiceNowSandbox, config: &ServiceNowConfig, default_users: bool) {
    let url = sandbox.base_url();
    println!("ServiceNow sandbox listening on {url}");
    let users: Vec<String> = config
        .users
        .iter()
        .map(|u| {
            if default_users {
                format!("{}/{} ({})", u.user_name, u.password, u.roles.join(","))
            } else {
                format!("{} ({})", u.user_name, u.roles.join(","))
            }
        })
        .collect();
    println!("  users:    {}", users.join(", "));
    if let Some(client) = config.oauth_clients.first() {
        println!(
            "  OAuth:    client {} / {} at {url}/oauth_token.do",
            client.client_id, client.client_secret
        );
    }
    let insecure = storage_lines(config.data.as_deref(), config.tls.as_ref());
    println!("  try:      curl {insecure}-u admin:admin '{url}/api/now/table/incident?sysparm_limit=1&sysparm_query=active=true^ORDERBYDESCsys_updated_on'");
    println!("  admin:    {url}/sandbox (faults, stats, reset, webhooks)");
}

/// Runs the ServiceNow sandbox until Ctrl-C or SIGTERM.
pub async fn run_servicenow(args: ServiceNowArgs) -> anyhow::Result<()> {
    let config = servicenow_config(&args)?;
    let default_users = args.users.is_empty() && args.config.is_none();
    let sandbox = ServiceNowSandbox::start(config.clone())
        .await
        .context("starting the ServiceNow sandbox")?;
    banner(&sandbox, &config, default_users);
    println!("Press Ctrl-C to stop.");
    super::stop_requested().await;
    sandbox.shutdown().await;
    Ok(())
}
