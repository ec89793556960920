//! `podmortem analyze`: offline forensics over saved objects, cluster-info dumps and node
//! folders.
//!
//! Every input is read on its own, so one bad file is reported and the rest are still
//! analysed; the command then exits non-zero. All inputs are joined before diagnosis, so an
//! instance seen in a pod's status and in a node's log files becomes one record.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

use crate::assemble::{self, Options};
use crate::cli::common::DbArgs;
use crate::cli::output::{self, OutputFormat};
use crate::kubelet::{self, NodeScan, ScanOptions};
use crate::model::Termination;
use crate::objects::{self, Bundle};
use crate::store::Store;

/// Largest input read from standard input, in bytes.
const MAX_STDIN_BYTES: u64 = 1 << 30;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Each PATH may be:
  a JSON or YAML file with a Pod, PodList, List, EventList (core/v1 or events.k8s.io/v1),
    Job or JobList, as `kubectl get -o json|yaml` writes it; `-` reads standard input
  a folder written by `kubectl cluster-info dump --output-directory`
  a node folder: the root of a copied node file system (with var/log/pods and/or
    var/lib/kubelet/pods), or a /var/log/pods folder itself

Examples:
  kubectl get pods,events -n shop -o json | podmortem analyze -
  podmortem analyze pods.json events.json node-1/ -o wide
  podmortem analyze --node-root / --store")]
pub struct AnalyzeArgs {
    /// Object files, cluster-info dump folders or node folders to read.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Also read a live node's kubelet folders under this root (read-only), e.g. `/`.
    #[arg(long, value_name = "DIR")]
    pub node_root: Vec<PathBuf>,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,

    /// Show only exits in this namespace.
    #[arg(short, long)]
    pub namespace: Option<String>,

    /// Cluster name stamped on every record.
    #[arg(long)]
    pub cluster: Option<String>,

    /// Number of log lines kept per instance; the key line is searched for in these lines.
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub log_lines: usize,

    /// Also write the records to the database.
    #[arg(long)]
    pub store: bool,

    #[command(flatten)]
    pub db: DbArgs,
}

/// Inputs read so far and the problems met while reading them.
#[derive(Default)]
struct Inputs {
    bundle: Bundle,
    scans: Vec<NodeScan>,
    failures: usize,
}

impl Inputs {
    fn fail(&mut self, error: anyhow::Error) {
        eprintln!("error: {error:#}");
        self.failures += 1;
    }
}

pub fn run(args: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    if args.paths.is_empty() && args.node_root.is_empty() {
        anyhow::bail!(
            "no input given: pass object files, cluster-info dump folders or node folders, \
             `-` for standard input, or `--node-root /` on a node"
        );
    }
    let scan_options = ScanOptions {
        tail_lines: args.log_lines,
    };

    let mut inputs = Inputs::default();
    let mut read_stdin = false;
    for path in &args.paths {
        if path == Path::new("-") && std::mem::replace(&mut read_stdin, true) {
            inputs.fail(anyhow::anyhow!(
                "`-` is given more than once; standard input can be read only once"
            ));
            continue;
        }
        read_input(&mut inputs, path, &scan_options);
    }
    for root in &args.node_root {
        match kubelet::scan_node_root(root, &scan_options) {
            Ok(scan) => add_scan(&mut inputs, scan),
            Err(error) => inputs
                .fail(anyhow::Error::new(error).context(format!("node root `{}`", root.display()))),
        }
    }
    for warning in &inputs.bundle.warnings {
        eprintln!("warning: {warning}");
    }

    let options = Options {
        cluster: args.cluster.clone(),
        log_lines: args.log_lines,
        ..Options::default()
    };
    let mut records = assemble::assemble(&inputs.bundle, &inputs.scans, &options);
    for warning in assemble::unmatched_message_warnings(&inputs.scans, &records) {
        eprintln!("warning: {warning}");
    }
    if let Some(namespace) = &args.namespace {
        records.retain(|record| &record.namespace == namespace);
    }

    if args.store {
        store_records(&args.db, &records)?;
    }
    write_output(&records, args.output)?;
    print_summary(&inputs, &records);

    Ok(if inputs.failures > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Reads one PATH argument into the inputs, reporting a failure instead of stopping.
fn read_input(inputs: &mut Inputs, path: &Path, scan_options: &ScanOptions) {
    if path == Path::new("-") {
        match read_stdin().and_then(|bytes| Ok(objects::read_objects("-", &bytes)?)) {
            Ok(bundle) => inputs.bundle.extend(bundle),
            Err(error) => inputs.fail(error.context("standard input")),
        }
        return;
    }

    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let shown = path.display();
            inputs.fail(anyhow::anyhow!("`{shown}`: no such file or folder; check the path, or pass `-` to read standard input"));
            return;
        }
        Err(error) => {
            inputs.fail(
                anyhow::Error::new(error).context(format!("`{}`: cannot read", path.display())),
            );
            return;
        }
    };
    if !metadata.is_dir() {
        match objects::read_objects_file(path) {
            Ok(bundle) => inputs.bundle.extend(bundle),
            Err(error) => inputs.fail(error.into()),
        }
        return;
    }

    if kubelet::looks_like_node_root(path) || kubelet::looks_like_pod_logs_dir(path) {
        match kubelet::scan_node_root(path, scan_options) {
            Ok(scan) => add_scan(inputs, scan),
            Err(error) => inputs.fail(error.into()),
        }
    } else if objects::is_cluster_dump(path) {
        match objects::read_cluster_dump(path) {
            Ok(dump) => {
                inputs.bundle.extend(dump.bundle);
                for error in dump.errors {
                    inputs.fail(error.into());
                }
            }
            Err(error) => inputs.fail(error.into()),
        }
    } else {
        read_object_folder(inputs, path);
    }
}

/// Reads every `.json`, `.yaml` and `.yml` file directly inside a folder that is neither a
/// node folder nor a cluster-info dump.
fn read_object_folder(inputs: &mut Inputs, path: &Path) {
    let mut files = match object_files_in(path) {
        Ok(files) => files,
        Err(error) => return inputs.fail(error.into()),
    };
    if files.is_empty() {
        return inputs.fail(anyhow::anyhow!(
            "`{}`: folder is not a cluster-info dump (no `nodes.json` or `<namespace>/pods.json`), \
             not a node folder (no `var/log/pods`, `var/lib/kubelet/pods` or pod log folders) \
             and holds no `.json` or `.yaml` files",
            path.display()
        ));
    }
    files.sort();
    for file in files {
        match objects::read_objects_file(&file) {
            Ok(bundle) => inputs.bundle.extend(bundle),
            Err(error) => inputs.fail(error.into()),
        }
    }
}

fn object_files_in(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs_err::read_dir(path)? {
        let file = entry?.path();
        let extension = file.extension().and_then(|extension| extension.to_str());
        if file.is_file() && matches!(extension, Some("json" | "yaml" | "yml")) {
            files.push(file);
        }
    }
    Ok(files)
}

fn add_scan(inputs: &mut Inputs, scan: NodeScan) {
    for warning in &scan.warnings {
        eprintln!("warning: {warning}");
    }
    inputs.scans.push(scan);
}

fn read_stdin() -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(MAX_STDIN_BYTES + 1)
        .read_to_end(&mut bytes)
        .context("read standard input")?;
    if bytes.len() as u64 > MAX_STDIN_BYTES {
        anyhow::bail!(
            "input is larger than {MAX_STDIN_BYTES} bytes; save it to a file and pass the file"
        );
    }
    Ok(bytes)
}

fn store_records(db: &DbArgs, records: &[Termination]) -> anyhow::Result<()> {
    let mut store = db.open_store()?;
    let summary = store
        .upsert(records)
        .context("write records to the database")?;
    eprintln!(
        "stored {} records: {} new, {} updated, {} unchanged",
        records.len(),
        summary.inserted,
        summary.updated,
        summary.unchanged
    );
    Ok(())
}

fn write_output(records: &[Termination], format: OutputFormat) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    output::write_records(&mut out, records, format).context("write output")?;
    out.flush().context("write output")?;
    Ok(())
}

fn print_summary(inputs: &Inputs, records: &[Termination]) {
    let bundle = &inputs.bundle;
    eprintln!(
        "read {}, {}, {}, {}; found {}",
        counted(bundle.pods.len(), "pod"),
        counted(bundle.events.len(), "event"),
        counted(bundle.jobs.len(), "job"),
        counted(inputs.scans.len(), "node folder"),
        counted(records.len(), "exit")
    );
}

fn counted(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}
