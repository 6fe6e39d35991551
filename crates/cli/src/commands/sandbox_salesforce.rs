//! `twinsync sandbox salesforce`.

use crate::cli::SalesforceArgs;
use anyhow::Context;
use std::net::SocketAddr;
use twinsync_sandbox::salesforce::{
    versions, CustomFieldSpec, SalesforceConfig, SalesforceSandbox, SfConfigFile, SfUserSpec,
};

/// Builds the sandbox configuration from the command line (and its `--config` file).
pub fn config(args: &SalesforceArgs) -> anyhow::Result<SalesforceConfig> {
    let mut config = SalesforceConfig {
        bind: SocketAddr::new(args.bind, args.port),
        data: args.data.clone(),
        seed_cases: args.seed,
        public_url: args.public_url.clone(),
        ..Default::default()
    };
    if let Some(path) = &args.config {
        SfConfigFile::load(path)
            .map_err(anyhow::Error::msg)?
            .apply(&mut config);
    }
    if !args.users.is_empty() {
        config.users = args
            .users
            .iter()
            .map(|u| SfUserSpec::parse_flag(u).map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<_>>()
            .context("--user")?;
    }
    for f in &args.custom_fields {
        config.custom_fields.push(
            CustomFieldSpec::parse_flag(f)
                .map_err(anyhow::Error::msg)
                .context("--custom-field")?,
        );
    }
    if let Some(n) = args.daily_limit {
        config.daily_api_requests = n;
    }
    if let Some(path) = &args.jwt_cert {
        let pem = std::fs::read_to_string(path)
            .with_context(|| format!("--jwt-cert: cannot read {}", path.display()))?;
        if let Some(app) = config.apps.first_mut() {
            app.certificate = Some(pem);
        }
    }
    config.tls = super::sandbox::tls_material(&args.tls, "salesforce")?;
    Ok(config)
}

/// Prints what is running and how to reach it.
pub fn banner(sandbox: &SalesforceSandbox, config: &SalesforceConfig, show_passwords: bool) {
    let url = sandbox.base_url();
    println!("Salesforce sandbox listening on {url}");
    let users: Vec<String> = config
        .users
        .iter()
        .map(|u| {
            if show_passwords {
                format!("{}/{}", u.username, u.password)
            } else {
                u.username.clone()
            }
        })
        .collect();
    println!("  users:    {}", users.join(", "));
    if let Some(app) = config.apps.first() {
        if show_passwords {
            println!(
                "  OAuth:    connected app {} / {} at {url}/services/oauth2/token",
                app.consumer_key, app.consumer_secret
            );
        } else {
            println!(
                "  OAuth:    connected app {} at {url}/services/oauth2/token",
                app.consumer_key
            );
        }
    }
    println!("  REST:     {url}/services/data/v{}/", versions::LATEST);
    let insecure = super::sandbox::storage_lines(config.data.as_deref(), config.tls.as_ref());
    let (user, password) = match config.users.first() {
        Some(u) if show_passwords => (u.username.as_str(), u.password.as_str()),
        Some(u) => (u.username.as_str(), "PASSWORD"),
        None => ("USERNAME", "PASSWORD"),
    };
    let (key, secret) = match config.apps.first() {
        Some(a) if show_passwords => (a.consumer_key.as_str(), a.consumer_secret.as_str()),
        Some(a) => (a.consumer_key.as_str(), "SECRET"),
        None => ("KEY", "SECRET"),
    };
    println!(
        r#"  try:      TOKEN=$(curl -s {insecure}-d grant_type=password -d client_id={key} -d client_secret={secret} -d username={user} -d password={password} {url}/services/oauth2/token | sed -E 's/.*"access_token":"([^"]+)".*/\1/')"#
    );
    println!("            curl {insecure}-H \"Authorization: Bearer $TOKEN\" '{url}/services/data/v{}/query?q=SELECT+CaseNumber,Subject,Status+FROM+Case+LIMIT+5'", versions::LATEST);
    println!("  admin:    {url}/sandbox (faults, stats, reset, limits, outbound messages)");
}

/// Runs the Salesforce sandbox until Ctrl-C or SIGTERM.
pub async fn run(args: SalesforceArgs) -> anyhow::Result<()> {
    let config = config(&args)?;
    let show = args.users.is_empty() && args.config.is_none();
    let sandbox = SalesforceSandbox::start(config.clone())
        .await
        .context("starting the Salesforce sandbox")?;
    banner(&sandbox, &config, show);
    println!("Press Ctrl-C to stop.");
    super::stop_requested().await;
    sandbox.shutdown().await;
    Ok(())
}
