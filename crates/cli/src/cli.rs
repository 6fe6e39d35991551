//! The command line, as clap reads it.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Two-way sync for ticketing and CRM platforms, self-hosted and decentralized.
#[derive(Debug, Parser)]
#[command(name = "twinsync", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Log filter (error, warn, info, debug, trace, or a tracing directive); RUST_LOG wins.
    #[arg(long, global = true, default_value = "info", value_name = "FILTER")]
    pub log: String,

    #[command(subcommand)]
    pub command: Command,
}

/// What to run.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the demo: sandboxes for ServiceNow and Salesforce, a node for each, a connection
    /// between them, and live syncs both ways.
    Demo(DemoArgs),
    /// Run a local emulator of a platform's REST API.
    #[command(subcommand)]
    Sandbox(SandboxCommand),
    /// Measure components under load.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Work with sync rules: dry-run offline, or show and publish a node's rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Run a node attached to one platform instance.
    Node(NodeArgs),
    /// Seal a secret (read from standard input) under a node's key, for `node.toml`.
    Seal(SealArgs),
    /// Hash a console user's password (read from standard input) for `[[users]]` in `node.toml`.
    HashPassword,
    /// A node's connections.
    #[command(subcommand)]
    Connection(ConnectionCommand),
    /// A connection's triggers.
    #[command(subcommand)]
    Trigger(TriggerCommand),
    /// Sync one local record now, by its key.
    Exalate(ExalateArgs),
    /// Stop syncing one local record (the other side drops its twin too).
    Unexalate(ExalateArgs),
    /// A local record's link to the other side and its sync log.
    Entity(ExalateArgs),
    /// Link records that already exist on both sides, from a CSV of pairs.
    BulkConnect(BulkConnectArgs),
    /// Sync errors: list, retry, resolve.
    #[command(subcommand)]
    Errors(ErrorsCommand),
    /// A connection's statistics.
    Stats(StatsArgs),
}

/// Options of `twinsync seal`.
#[derive(Debug, Args)]
pub struct SealArgs {
    /// The node's configuration file (its data directory holds the key).
    #[arg(long, value_name = "node.toml")]
    pub config: PathBuf,
}

/// Options of `twinsync node`.
#[derive(Debug, Args)]
pub struct NodeArgs {
    /// The node's configuration file.
    #[arg(long, value_name = "node.toml")]
    pub config: PathBuf,
}

/// How to reach a node's admin API.
#[derive(Debug, Clone, Args)]
pub struct Remote {
    /// The node's URL.
    #[arg(
        long,
        env = "TWINSYNC_NODE",
        default_value = "http://127.0.0.1:8091",
        global = true
    )]
    pub node: String,
    /// An admin API token.
    #[arg(long, env = "TWINSYNC_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
}

/// `twinsync connection …`.
#[derive(Debug, Subcommand)]
pub enum ConnectionCommand {
    /// List connections.
    List(RemoteOnly),
    /// Initiate a connection to another node; prints the invitation code to hand over.
    Initiate(InitiateArgs),
    /// Accept an invitation code.
    Accept(AcceptArgs),
    /// Let queued changes flow again.
    Activate(ConnectionRef),
    /// Pause: changes keep queueing.
    Deactivate(ConnectionRef),
    /// Delete with its twins and queues (asks for the name as confirmation).
    Delete(DeleteArgs),
}

/// Only the node to talk to.
#[derive(Debug, Args)]
pub struct RemoteOnly {
    /// The node.
    #[command(flatten)]
    pub remote: Remote,
}

/// A connection by id.
#[derive(Debug, Args)]
pub struct ConnectionRef {
    /// The connection id.
    pub id: String,
    /// The node.
    #[command(flatten)]
    pub remote: Remote,
}

/// Options of `twinsync connection initiate`.
#[derive(Debug, Args)]
pub struct InitiateArgs {
    /// The other node's URL.
    #[arg(long)]
    pub remote_url: String,
    /// `basic` (default rules) or `script` (editable rules).
    #[arg(long, default_value = "script")]
    pub mode: String,
    /// A name (default `<local>_to_<remote>`).
    #[arg(long)]
    pub name: Option<String>,
    /// What it is for.
    #[arg(long, default_value = "")]
    pub description: String,
    /// The node.
    #[command(flatten)]
    pub remote: Remote,
}

/// Options of `twinsync connection accept`.
#[derive(Debug, Args)]
pub struct AcceptArgs {
    /// The invitation code.
    pub code: String,
    /// The node.
    #[command(flatten)]
    pub remote: Remote,
}

/// Options of `twinsync connection delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The connection id.
    pub id: String,
    /// The connection's name, confirming the deletion.
    #[arg(long)]
    pub confirm: String,
    /// The node.
    #[command(flatten)]
    pub remote: Remote,
}

/// `twinsync trigger …`.
#[derive(Debug, Subcommand)]
pub enum TriggerCommand {
    /// Add a trigger (the platform checks the query first).
    Add(TriggerAddArgs),
    /// List a connection's triggers.
    List(ConnectionRef),
    /// Sync every record the trigger matches now, whatever its age.
    BulkExalate(TriggerRef),
}

/// Options of `twinsync trigger add`.
#[derive(Debug, Args)]
pub struct TriggerAddArgs {
    /// The connection id.
    pub connection: String,
    /// Entity type (`incident`, `Case`).
    #[arg(long)]
    pub entity_type: String,
    /// Query in the platform's language (`urgency=1`, `SELECT Id FROM Case WHERE …`).
    #[arg(long)]
    pub query: String,
    /// Why it exists.
    #[arg(long, default_value = "")]
    pub notes: String,
    /// The node.
    #[command(flatten)]
    pub remote: Remote,
}

/// A trigger by id.
#[derive(Debug, Args)]
pub struct TriggerRef {
    /// The trigger id.
    pub id: i64,
    /// The node.
    #[command(flatten)]
    pub remote: Remote,
}

/// Options of `twinsync exalate`.
#[derive(Debug, Args)]
pub struct ExalateArgs {
    /// The connection id.
    pub connection: String,
    /// Entity type.
    #[arg(long)]
    pub entity_type: String,
    /// The record's key (sys_id, Id).
    pub key: String,
    /// The node.
    #[command(flatten)]
    pub remote: Remote,
}

/// Options of `twinsync bulk-connect`.
#[derive(Debug, Args)]
pub struct BulkConnectArgs {
    /// The connection id.
    pub connection: String,
    /// CSV with the header `local_type,local_key,remote_type,remote_key`.
    #[arg(
        long,
        value_name = "PAIRS.csv",
        required_unless_present = "by",
        conflicts_with = "by"
    )]
    pub csv: Option<PathBuf>,
    /// Pair records whose fields hold the same value: `local_type.field=remote_type.field`
    /// (e.g. `incident.correlation_display=Case.ServiceNow_Number__c`).
    #[arg(long, value_name = "TYPE.FIELD=TYPE.FIELD")]
    pub by: Option<String>,
    /// The node.
    #[command(flatten)]
    pub remote: Remote,
}

/// `twinsync errors …`.
#[derive(Debug, Subcommand)]
pub enum ErrorsCommand {
    /// Open error entries.
    List(RemoteOnly),
    /// Apply the failed sync again.
    Retry(ErrorRef),
    /// Skip the failed sync; later ones flow.
    Resolve(ErrorRef),
}

/// An error entry by id.
#[derive(Debug, Args)]
pub struct ErrorRef {
    /// The error id.
    pub id: i64,
    /// The node.
    #[command(flatten)]
    pub remote: Remote,
}

/// Options of `twinsync stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// The connection id.
    pub connection: String,
    /// The node.
    #[command(flatten)]
    pub remote: Remote,
}

/// Options of `twinsync rules show|publish`.
#[derive(Debug, Args)]
pub struct RuleRef {
    /// The connection id.
    pub connection: String,
    /// `outgoing` or `incoming`.
    pub direction: String,
    /// The node.
    #[command(flatten)]
    pub remote: Remote,
}

/// Options of `twinsync rules publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Which rule.
    #[command(flatten)]
    pub rule: RuleRef,
    /// The script file.
    #[arg(long, value_name = "RULES")]
    pub file: PathBuf,
}

/// Sync-rule tools.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Dry-run a rule script on JSON files and print what it produces, without any node.
    Test(RulesTestArgs),
    /// Show a connection's live rule (or the default one).
    Show(RuleRef),
    /// Publish a new version of a rule (it must compile).
    Publish(PublishArgs),
}

/// Options of `twinsync rules test`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("script").required(true).args(["outgoing", "incoming"]))]
pub struct RulesTestArgs {
    /// An outgoing script: maps --entity to a replica, printed as JSON.
    #[arg(long, value_name = "RULES")]
    pub outgoing: Option<PathBuf>,
    /// An incoming script: applies --replica to --entity and prints the changes it makes.
    #[arg(long, value_name = "RULES", requires = "replica")]
    pub incoming: Option<PathBuf>,
    /// The local record as the platform's API returns it, plus `entityType` (and optionally
    /// `comments`, `attachments`). Required for --outgoing; an empty record by default for
    /// --incoming.
    #[arg(long, value_name = "ENTITY.json")]
    pub entity: Option<PathBuf>,
    /// The received replica (for --incoming).
    #[arg(long, value_name = "REPLICA.json")]
    pub replica: Option<PathBuf>,
    /// The replica received the time before (for --incoming).
    #[arg(long, value_name = "PREVIOUS.json")]
    pub previous: Option<PathBuf>,
    /// Run as the first sync (no local twin yet), for --incoming.
    #[arg(long)]
    pub first_sync: bool,
    /// Users `nodeHelper` can find: a JSON list of {"id", "email", "name"}.
    #[arg(long, value_name = "USERS.json")]
    pub users: Option<PathBuf>,
    /// Stop the script after this many steps.
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub max_steps: u64,
}

/// Platforms with a sandbox.
#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// ServiceNow: Table, Attachment and Batch APIs, basic auth and OAuth, encoded queries.
    Servicenow(Box<ServiceNowArgs>),
    /// Salesforce: REST API, SOQL, OAuth 2.0 and SOAP login, composite calls, outbound messages.
    Salesforce(Box<SalesforceArgs>),
}

/// Options of `twinsync sandbox salesforce`.
#[derive(Debug, Args)]
pub struct SalesforceArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8082)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// Keep the org's data in this file across restarts (in memory otherwise).
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Cases (with comments) to generate, besides users, accounts and contacts.
    #[arg(long, value_name = "N", default_value_t = 25)]
    pub seed: usize,
    /// HTTPS settings.
    #[command(flatten)]
    pub tls: TlsArgs,
    /// TOML file with users, connected apps, custom fields and limits (see docs/SANDBOX_SALESFORCE.md).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A user USERNAME:PASSWORD[:SECURITY_TOKEN]; repeat for more. Replaces the default users.
    #[arg(long = "user", value_name = "USERNAME:PASSWORD[:TOKEN]")]
    pub users: Vec<String>,
    /// A custom field Object.Name__c[:type][:external]; repeat for more.
    #[arg(long = "custom-field", value_name = "OBJECT.NAME__c[:TYPE][:external]")]
    pub custom_fields: Vec<String>,
    /// API requests allowed per 24 hours before 403 REQUEST_LIMIT_EXCEEDED.
    #[arg(long, value_name = "N")]
    pub daily_limit: Option<u64>,
    /// PEM certificate of the default connected app, enabling the JWT bearer flow.
    #[arg(long, value_name = "FILE")]
    pub jwt_cert: Option<PathBuf>,
    /// The URL clients use, when it differs from the listening address (behind a proxy).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
}

/// The `--tls` flags every sandbox takes.
#[derive(Debug, Args)]
pub struct TlsArgs {
    /// Serve HTTPS with a self-signed certificate (or the one given by --cert/--key).
    #[arg(long)]
    pub tls: bool,
    /// PEM certificate chain for --tls.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// PEM private key for --tls.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Where to write the generated certificate, for clients to trust.
    #[arg(long, value_name = "FILE")]
    pub cert_out: Option<PathBuf>,
}

/// Options of `twinsync sandbox servicenow`.
#[derive(Debug, Args)]
pub struct ServiceNowArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8081)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// Keep the instance's data in this file across restarts (in memory otherwise).
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Incidents (with comments) to generate, besides users and groups.
    #[arg(long, value_name = "N", default_value_t = 25)]
    pub seed: usize,
    /// HTTPS settings.
    #[command(flatten)]
    pub tls: TlsArgs,
    /// TOML file with users, OAuth clients, token lifetimes and limits (see docs/SANDBOX_SERVICENOW.md).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A user NAME:PASSWORD[:ROLE,ROLE]; repeat for more. Replaces the default admin and itil users.
    #[arg(long = "user", value_name = "NAME:PASSWORD[:ROLES]")]
    pub users: Vec<String>,
    /// Return no rows for a query with an invalid term, like glide.invalid_query.returns_no_rows=true.
    #[arg(long)]
    pub strict_queries: bool,
    /// The URL clients use, when it differs from the listening address (behind a proxy).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
}

/// Options of `twinsync demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Port of the ServiceNow sandbox (0 picks a free one).
    #[arg(long, default_value_t = 8081)]
    pub port: u16,
    /// Port of the Salesforce sandbox (0 picks a free one).
    #[arg(long, default_value_t = 8082)]
    pub salesforce_port: u16,
    /// Incidents to generate.
    #[arg(long, value_name = "N", default_value_t = 25)]
    pub seed: usize,
    /// Port of the node attached to ServiceNow (0 picks a free one).
    #[arg(long, default_value_t = 8091)]
    pub node_port: u16,
    /// Port of the node attached to Salesforce (0 picks a free one).
    #[arg(long, default_value_t = 8092)]
    pub salesforce_node_port: u16,
    /// Keep the nodes' databases in this directory (a temporary one by default).
    #[arg(long, value_name = "DIR")]
    pub data: Option<std::path::PathBuf>,
    /// End after the scenario with a summary; exit status 0 only if every expected sync
    /// happened.
    #[arg(long)]
    pub once: bool,
}

/// Benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Load-test a sandbox: GETs by id, PATCHes and indexed queries over loopback.
    Sandbox(BenchSandboxArgs),
    /// End-to-end sync: two nodes and both sandboxes in this process; N new incidents
    /// through a trigger to cases; throughput, latency, API calls, CPU and memory.
    Sync(BenchSyncArgs),
    /// Each node in its own process (`twinsync node`): N new incidents through a trigger to
    /// cases; per-node peak memory and CPU time.
    Nodes(BenchNodesArgs),
}

/// What both end-to-end benchmarks take: how much to sync, how often the nodes poll, how
/// long to wait.
#[derive(Debug, Args)]
pub struct BenchRunArgs {
    /// Changes (new incidents) to sync.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub changes: usize,
    /// The nodes' poll interval.
    #[arg(long, value_name = "MS", default_value_t = 250)]
    pub poll_ms: u64,
    /// Give up after this long.
    #[arg(long, value_name = "SECONDS", default_value_t = 900)]
    pub timeout: u64,
}

/// Options of `twinsync bench nodes`.
#[derive(Debug, Args)]
pub struct BenchNodesArgs {
    #[command(flatten)]
    pub run: BenchRunArgs,
}

/// Options of `twinsync bench sync`.
#[derive(Debug, Args)]
pub struct BenchSyncArgs {
    #[command(flatten)]
    pub run: BenchRunArgs,
    /// Single changes timed one at a time, in poll mode and then in push mode.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub latency_samples: usize,
    /// Push the backlog too: the ServiceNow sandbox notifies its node of every incident.
    #[arg(long)]
    pub push: bool,
}

/// Which sandbox a benchmark drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchPlatform {
    /// The ServiceNow sandbox (incidents).
    Servicenow,
    /// The Salesforce sandbox (cases).
    Salesforce,
}

/// Options of `twinsync bench sandbox`.
#[derive(Debug, Args)]
pub struct BenchSandboxArgs {
    /// The sandbox to load.
    #[arg(long, value_enum, default_value = "servicenow")]
    pub platform: BenchPlatform,
    /// Records (incidents or cases) in the sandbox under test.
    #[arg(long, default_value_t = 100_000)]
    pub records: usize,
    /// Seconds per phase.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Benchmark a sandbox that is already running at this URL (started with enough --seed)
    /// instead of starting one in this process.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
}
