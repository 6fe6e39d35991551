//! One module per command.

mod admin;
mod bench;
mod bench_nodes;
mod bench_salesforce;
mod bench_sync;
mod demo;
mod node;
mod rules;
mod sandbox;
mod sandbox_salesforce;

use crate::cli::{BenchCommand, Command, RulesCommand, SandboxCommand};

/// Runs a parsed command to completion.
pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Demo(args) => demo::run(args).await,
        Command::Sandbox(SandboxCommand::Servicenow(args)) => sandbox::run_servicenow(*args).await,
        Command::Sandbox(SandboxCommand::Salesforce(args)) => sandbox_salesforce::run(*args).await,
        Command::Bench(BenchCommand::Sandbox(args)) => bench::run_sandbox(args).await,
        Command::Bench(BenchCommand::Sync(args)) => bench_sync::run(args).await,
        Command::Bench(BenchCommand::Nodes(args)) => bench_nodes::run(args).await,
        Command::Rules(RulesCommand::Test(args)) => rules::test(&args),
        Command::Rules(RulesCommand::Show(args)) => admin::show_rule(args).await,
        Command::Rules(RulesCommand::Publish(args)) => admin::publish_rule(args).await,
        Command::Node(args) => node::run(args).await,
        Command::Seal(args) => node::seal(args),
        Command::HashPassword => node::hash_password(),
        Command::Connection(c) => admin::connection(c).await,
        Command::Trigger(t) => admin::trigger(t).await,
        Command::Exalate(a) => admin::exalate(a).await,
        Command::Unexalate(a) => admin::unexalate(a).await,
        Command::Entity(a) => admin::entity(a).await,
        Command::BulkConnect(a) => admin::bulk_connect(a).await,
        Command::Errors(e) => admin::errors(e).await,
        Command::Stats(a) => admin::stats(a).await,
    }
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM). SIGTERM is caught from
/// the moment this is called, not from the first poll, so a stop during start-up is not
/// lost.
pub fn stop_requested() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let term = async move {
            match term {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {},
            _ = term => {},
        }
    }
}
