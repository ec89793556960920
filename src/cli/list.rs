//! `podmortem list`: the recorded exits that match a filter, newest first.

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use anyhow::Context;
use jiff::Timestamp;

use super::common::{DbArgs, TimeBound, parse_time_bound, parse_workload};
use super::output::{OutputFormat, write_records};
use crate::model::{CauseKind, Owner};
use crate::store::{Filter, Store};

/// Lists recorded exits. Expected exits (a finished Job, a rollout) are hidden unless `--all`
/// is given.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only exits in this namespace. Without it every namespace is listed, because a store
    /// has no current namespace
    #[arg(
        short = 'n',
        long,
        value_name = "NAMESPACE",
        conflicts_with = "all_namespaces"
    )]
    pub namespace: Option<String>,

    /// List exits in every namespace, the default when `--namespace` is not given
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,

    /// Only exits of this pod
    #[arg(long, value_name = "POD")]
    pub pod: Option<String>,

    /// Only exits of containers with this name
    #[arg(long, value_name = "CONTAINER")]
    pub container: Option<String>,

    /// Only exits diagnosed as this cause kind, such as `oom_killed`
    #[arg(long, value_name = "KIND", value_parser = parse_cause_kind)]
    pub cause: Option<CauseKind>,

    /// Only exits of this workload, written `KIND/NAME`: the Deployment, StatefulSet,
    /// DaemonSet, CronJob or Job above the pod (`Deployment/api`), or `Pod/NAME` for a pod
    /// without an owner
    #[arg(long, value_name = "KIND/NAME", value_parser = parse_workload)]
    pub workload: Option<Owner>,

    /// Only exits that finished at or after this time: a duration before now (`24h`, `30m`,
    /// `7d`) or an RFC 3339 time. Exits with no finish time count by their last log line or
    /// latest event, else by when they were observed
    #[arg(long, value_name = "TIME", value_parser = parse_time_bound)]
    pub since: Option<TimeBound>,

    /// Only exits that finished at or before this time, in the forms of `--since`
    #[arg(long, value_name = "TIME", value_parser = parse_time_bound)]
    pub until: Option<TimeBound>,

    /// Include expected exits: completed Jobs and init containers, containers stopped on
    /// request
    #[arg(long)]
    pub all: bool,

    /// Maximum number of exits to print, newest first; 0 prints every match
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub limit: usize,

    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,

    #[command(flatten)]
    pub db: DbArgs,
}

/// Runs `podmortem list`.
pub fn run(args: ListArgs) -> anyhow::Result<ExitCode> {
    let filter = build_filter(&args, Timestamp::now())?;
    let store = args.db.open_existing_store()?;

    let mut records = store.query(&filter)?;
    let more = args.limit > 0 && records.len() > args.limit;
    records.truncate(if args.limit > 0 {
        args.limit
    } else {
        records.len()
    });

    let mut out = BufWriter::new(std::io::stdout().lock());
    write_records(&mut out, &records, args.output).context("failed to write the list")?;
    out.flush().context("failed to write the list")?;

    if more {
        eprintln!(
            "Showing the newest {} exits; more match. Raise `--limit` or narrow the filter.",
            args.limit
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Builds the store filter. It requests one record more than `--limit`, so `run` can tell
/// whether more exist.
fn build_filter(args: &ListArgs, now: Timestamp) -> anyhow::Result<Filter> {
    let since = args
        .since
        .map(|bound| bound.resolve(now))
        .transpose()
        .context("invalid `--since`")?;
    let until = args
        .until
        .map(|bound| bound.resolve(now))
        .transpose()
        .context("invalid `--until`")?;

    Ok(Filter {
        namespace: args.namespace.clone(),
        pod: args.pod.clone(),
        container: args.container.clone(),
        cause: args.cause,
        workload: args.workload.clone(),
        since,
        until,
        include_expected: args.all,
        limit: (args.limit > 0).then(|| args.limit.saturating_add(1)),
    })
}

/// Parses `--cause`, listing the valid kinds when the name is not one.
fn parse_cause_kind(value: &str) -> Result<CauseKind, String> {
    CauseKind::parse(value).ok_or_else(|| {
        let names: Vec<&str> = CauseKind::ALL.iter().map(|kind| kind.as_str()).collect();
        format!("unknown cause kind, expected one of: {}", names.join(", "))
    })
}
