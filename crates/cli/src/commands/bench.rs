pub async fn run_sandbox(_a: crate::cli::BenchSandboxArgs) -> anyhow::Result<()> {
    anyhow::bail!("todo")
}
