//! `podmortem show`: every recorded instance of one pod, newest first, with diagnosis,
//! evidence, events and log tail.

use std::io::{BufWriter, Write};
use std::process::ExitCode;
use std::str::FromStr;

use anyhow::Context;

use super::common::DbArgs;
use super::output::{OutputFormat, write_details, write_records};
use crate::store::Store;

/// Shows every recorded exit of one pod, expected ones included.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The pod, as `NAMESPACE/POD`
    #[arg(value_name = "NAMESPACE/POD")]
    pub pod: PodName,

    /// Only instances of this container
    #[arg(short = 'c', long, value_name = "CONTAINER")]
    pub container: Option<String>,

    /// Print records as JSON or YAML in place of the details
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<ShowFormat>,

    #[command(flatten)]
    pub db: DbArgs,
}

/// Machine-readable formats of `show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShowFormat {
    Json,
    Yaml,
}

/// A pod named as `NAMESPACE/POD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodName {
    pub namespace: String,
    pub pod: String,
}

impl FromStr for PodName {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let parts = value.split_once('/');
        let Some((namespace, pod)) = parts.filter(|(namespace, pod)| {
            !namespace.is_empty() && !pod.is_empty() && !pod.contains('/')
        }) else {
            return Err(
                "expected NAMESPACE/POD, such as `shop/api-7d9f8c6b5d-x2k4q`; `podmortem list` \
                 prints the recorded pods"
                    .to_owned(),
            );
        };
        Ok(PodName {
            namespace: namespace.to_owned(),
            pod: pod.to_owned(),
        })
    }
}

/// Runs `podmortem show`.
pub fn run(args: ShowArgs) -> anyhow::Result<ExitCode> {
    let store = args.db.open_existing_store()?;
    let PodName { namespace, pod } = &args.pod;

    let history = store.pod_history(namespace, pod, None)?;
    if history.is_empty() {
        anyhow::bail!(
            "no exits recorded for pod `{namespace}/{pod}`: run `podmortem list -n {namespace}` \
             to see the recorded pods of that namespace"
        );
    }
    let records = match &args.container {
        Some(container) => select_container(history, namespace, pod, container)?,
        None => history,
    };

    let mut out = BufWriter::new(std::io::stdout().lock());
    match args.output {
        None => write_details(&mut out, &records),
        Some(ShowFormat::Json) => write_records(&mut out, &records, OutputFormat::Json),
        Some(ShowFormat::Yaml) => write_records(&mut out, &records, OutputFormat::Yaml),
    }
    .and_then(|()| out.flush())
    .context("failed to write the details")?;
    Ok(ExitCode::SUCCESS)
}

/// Keeps the records of one container, or fails with the names of the recorded ones.
fn select_container(
    history: Vec<crate::model::Termination>,
    namespace: &str,
    pod: &str,
    container: &str,
) -> anyhow::Result<Vec<crate::model::Termination>> {
    let mut names: Vec<String> = history
        .iter()
        .map(|record| record.container.clone())
        .collect();
    names.sort();
    names.dedup();

    let records: Vec<_> = history
        .into_iter()
        .filter(|record| record.container == container)
        .collect();
    if records.is_empty() {
        anyhow::bail!(
            "no exits recorded for container `{container}` of pod `{namespace}/{pod}`: the \
             recorded containers are {}",
            names
                .iter()
                .map(|name| format!("`{}`", super::output::escape(name)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(records)
}
