//! `podmortem show`.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct ShowArgs {}

pub fn run(_args: ShowArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`podmortem show` is not built yet")
}
