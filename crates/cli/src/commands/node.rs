//! `twinsync node --config node.toml`: runs a node until stopped.

use crate::cli::NodeArgs;
use std::sync::Arc;
use twinsync_node::config::NodeConfig;
use twinsync_node::{Node, NodeOptions};
use twinsync_rules::StaticUsers;

/// Loads the configuration, starts the node, serves until Ctrl-C or SIGTERM.
pub async fn run(args: NodeArgs) -> anyhow::Result<()> {
    let c = NodeConfig::load(&args.config)?;
    if c.tokens.is_empty() && c.users.is_empty() {
        tracing::warn!(
            "no [[tokens]] or [[users]] in the configuration: the admin API refuses every call"
        );
    }
    let instance = c.instance.clone();
    let node = Node::start(NodeOptions {
        instance: c.instance,
        bind: c.bind,
        public_url: c.public_url,
        data_dir: c.data_dir.clone(),
        platform: c.platform,
        poll_interval: c.poll_interval,
        lookup: Arc::new(StaticUsers::default()),
        admin_tokens: c.tokens,
        console_users: c.users,
        push_token: c.push_token,
        tls: c.tls,
        peer_ca_pem: c.peer_ca_pem,
    })
    .await?;
    println!("twinsync node {instance} listening on {}", node.url());
    println!("  data: {}", c.data_dir.display());
    println!(
        "  admin API: {}/api/v1 (see docs/admin-api.yaml)",
        node.url()
    );
    super::stop_requested().await;
    node.shutdown().await;
    Ok(())
}

/// Reads one secret from standard input and prints it sealed under the node's key, to paste
/// into `node.toml` (`password = "sealed:…"`).
pub fn seal(args: crate::cli::SealArgs) -> anyhow::Result<()> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let plain = line.trim_end_matches(['\r', '\n']);
    if plain.is_empty() {
        anyhow::bail!("nothing to seal: give the secret on standard input");
    }
    println!("{}", NodeConfig::seal(&args.config, plain)?);
    Ok(())
}

/// Reads a password from standard input and prints its argon2id hash, for a `[[users]]`
/// entry's `password_hash` in `node.toml`.
pub fn hash_password() -> anyhow::Result<()> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        anyhow::bail!("no password: give it on standard input");
    }
    println!("{}", twinsync_node::hash_password(password)?);
    Ok(())
}
