//! `podmortem list`.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct ListArgs {}

pub fn run(_args: ListArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`podmortem list` is not built yet")
}
