//! `podmortem log`: prints the decoded lines of CRI or Docker json-file container log files.
//!
//! The files of one instance (`N.log`, `N.log.<time>`, `N.log.<time>.gz`) are read as one
//! stream in rotation order, so a line split across a rotation is printed whole. A folder
//! argument stands for all instances of one container, in restart order. Log text is untrusted:
//! text output escapes control characters so a line cannot drive the terminal.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use crate::kubelet::{
    InstanceLog, TailOptions, order_log_files, parse_legacy_log_file_name, parse_log_file_name,
    tail,
};
use crate::model::{LogLine, Stream};

#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// Log files (`N.log`, rotated `N.log.<time>`, gzipped `N.log.<time>.gz`) or container log
    /// folders (`/var/log/pods/<namespace>_<pod>_<uid>/<container>`).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Print only the last N lines of each instance.
    #[arg(long, value_name = "N")]
    pub tail: Option<usize>,

    /// Prefix each line with the time the runtime recorded (RFC 3339, UTC).
    #[arg(long)]
    pub timestamps: bool,

    /// Print only the lines of this stream.
    #[arg(long, value_enum)]
    pub stream: Option<StreamArg>,

    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StreamArg {
    Stdout,
    Stderr,
}

impl From<StreamArg> for Stream {
    fn from(stream: StreamArg) -> Self {
        match stream {
            StreamArg::Stdout => Stream::Stdout,
            StreamArg::Stderr => Stream::Stderr,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// One line per log line.
    Text,
    /// A JSON array of `{"time","stream","text"}` objects (`"partial": true` on cut lines).
    Json,
}

/// Runs `podmortem log`. A path that cannot be read is reported on stderr and the other paths
/// are still printed; the exit status is then non-zero.
pub fn run(args: LogArgs) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    let instances = collect_instances(&args.paths, &mut failed);

    let stdout = std::io::stdout();
    let mut printer = Printer::new(std::io::BufWriter::new(stdout.lock()), &args);
    printer.begin()?;
    let headers = instances.len() > 1 && args.output == OutputFormat::Text;
    for files in &instances {
        if headers {
            printer.header(files)?;
        }
        failed |= print_instance(files, &args, &mut printer)?;
    }
    printer.end()?;

    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Groups the arguments into instances, each a list of files in rotation order. Problems are
/// printed and set `failed`.
fn collect_instances(paths: &[PathBuf], failed: &mut bool) -> Vec<Vec<PathBuf>> {
    let mut instances: Vec<(InstanceKey, Vec<PathBuf>)> = Vec::new();
    for path in paths {
        let files = match expand_path(path) {
            Ok(files) => files,
            Err(error) => {
                eprintln!("error: {error:#}");
                *failed = true;
                continue;
            }
        };
        for (key, file) in files {
            match instances.iter_mut().find(|(known, _)| *known == key) {
                Some((_, group)) => group.push(file),
                None => instances.push((key, vec![file])),
            }
        }
    }

    instances
        .into_iter()
        .map(|(_, mut files)| {
            order_log_files(&mut files);
            files.dedup();
            files
        })
        .collect()
}

/// The files of one instance share their folder, container and restart number. A file whose
/// name is not a kubelet log name is an instance of its own.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum InstanceKey {
    Named {
        dir: PathBuf,
        container: Option<String>,
        restart_count: u32,
    },
    Single(PathBuf),
}

fn instance_key(path: &Path) -> InstanceKey {
    let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
    let name = path
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("");
    if let Some(parsed) = parse_log_file_name(name) {
        return InstanceKey::Named {
            dir,
            container: None,
            restart_count: parsed.restart_count,
        };
    }
    if let Some((container, parsed)) = parse_legacy_log_file_name(name) {
        return InstanceKey::Named {
            dir,
            container: Some(container),
            restart_count: parsed.restart_count,
        };
    }
    InstanceKey::Single(path.to_path_buf())
}

/// Returns a file argument as is, and a folder argument as its log files, by instance.
fn expand_path(path: &Path) -> anyhow::Result<Vec<(InstanceKey, PathBuf)>> {
    let metadata =
        std::fs::metadata(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    if !metadata.is_dir() {
        return Ok(vec![(instance_key(path), path.to_path_buf())]);
    }

    let mut by_instance: BTreeMap<(Option<String>, u32), Vec<PathBuf>> = BTreeMap::new();
    for entry in fs_err::read_dir(path)? {
        let file = entry?.path();
        let name = file
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or("");
        let key = match parse_log_file_name(name) {
            Some(parsed) => (None, parsed.restart_count),
            None => match parse_legacy_log_file_name(name) {
                Some((container, parsed)) => (Some(container), parsed.restart_count),
                None => continue,
            },
        };
        by_instance.entry(key).or_default().push(file);
    }
    if by_instance.is_empty() {
        anyhow::bail!(
            "`{}` contains no container log files: expected `<N>.log` files, as in \
             `/var/log/pods/<namespace>_<pod>_<pod-uid>/<container>/`",
            path.display()
        );
    }

    let files = by_instance.into_values().flatten();
    Ok(files.map(|file| (instance_key(&file), file)).collect())
}

/// Prints one instance. Returns true when a file could not be read.
fn print_instance<W: Write>(
    files: &[PathBuf],
    args: &LogArgs,
    printer: &mut Printer<W>,
) -> anyhow::Result<bool> {
    let opened = InstanceLog::open(files);
    for problem in &opened.problems {
        eprintln!("error: {problem}");
    }
    let mut failed = !opened.problems.is_empty();
    let stream = args.stream.map(Stream::from);

    if let Some(lines) = args.tail {
        let options = TailOptions {
            stream,
            ..TailOptions::new(lines)
        };
        match tail(&opened.log, &options) {
            Ok(read) => {
                for problem in &read.unreadable {
                    eprintln!("error: {problem}");
                }
                failed |= !read.unreadable.is_empty();
                for line in &read.lines {
                    printer.line(line)?;
                }
            }
            Err(error) => {
                eprintln!("error: {error}");
                failed = true;
            }
        }
        return Ok(failed);
    }

    let mut write_error = None;
    let decoded = opened.log.decode(&mut |line| {
        if stream.is_some_and(|stream| stream != line.stream) {
            return Ok(());
        }
        printer.line(&line).map_err(|error| {
            let kind = error.kind();
            write_error = Some(error);
            std::io::Error::from(kind)
        })
    });
    if let Some(error) = write_error {
        return Err(anyhow::Error::from(error).context("write to standard output"));
    }
    match decoded {
        Ok(report) => {
            for problem in &report.unreadable {
                eprintln!("error: {problem}");
            }
            failed |= !report.unreadable.is_empty();
            warn_invalid_lines(&report.files);
        }
        Err(error) => {
            eprintln!("error: {error}");
            failed = true;
        }
    }
    Ok(failed)
}

fn warn_invalid_lines(stats: &[(PathBuf, crate::kubelet::FileStats)]) {
    for (path, stats) in stats {
        let Some((line, reason)) = stats.first_invalid else {
            continue;
        };
        let noun = if stats.invalid_lines == 1 {
            "line"
        } else {
            "lines"
        };
        eprintln!(
            "warning: `{}`: skipped {} {noun} that did not parse as log records (first: line {line}, {reason})",
            path.display(),
            stats.invalid_lines
        );
    }
}

/// Writes lines in the requested format.
struct Printer<W: Write> {
    out: W,
    format: OutputFormat,
    timestamps: bool,
    written: usize,
}

impl<W: Write> Printer<W> {
    fn new(out: W, args: &LogArgs) -> Self {
        Printer {
            out,
            format: args.output,
            timestamps: args.timestamps,
            written: 0,
        }
    }

    fn begin(&mut self) -> std::io::Result<()> {
        match self.format {
            OutputFormat::Json => self.out.write_all(b"["),
            OutputFormat::Text => Ok(()),
        }
    }

    fn header(&mut self, files: &[PathBuf]) -> std::io::Result<()> {
        let name = files
            .last()
            .map(|file| file.display().to_string())
            .unwrap_or_default();
        let separator = if self.written > 0 { "\n" } else { "" };
        writeln!(self.out, "{separator}==> {} <==", escape_controls(&name))?;
        self.written += 1;
        Ok(())
    }

    fn line(&mut self, line: &LogLine) -> std::io::Result<()> {
        match self.format {
            OutputFormat::Json => {
                let separator: &[u8] = if self.written > 0 { b",\n" } else { b"\n" };
                self.out.write_all(separator)?;
                serde_json::to_writer(&mut self.out, line)?;
            }
            OutputFormat::Text => {
                if self.timestamps {
                    match line.time {
                        Some(time) => write!(self.out, "{time:.9} ")?,
                        None => write!(self.out, "- ")?,
                    }
                }
                writeln!(self.out, "{}", escape_controls(&line.text))?;
            }
        }
        self.written += 1;
        Ok(())
    }

    fn end(&mut self) -> std::io::Result<()> {
        if self.format == OutputFormat::Json {
            let closing: &[u8] = if self.written > 0 { b"\n]\n" } else { b"]\n" };
            self.out.write_all(closing)?;
        }
        self.out.flush()
    }
}

/// Replaces control characters other than tab with escapes (`\x1b`, `\u{9b}`), so untrusted
/// text cannot move the cursor, change colors or set the terminal title.
fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for character in text.chars() {
        if !needs_escape(character) {
            escaped.push(character);
        } else if u32::from(character) < 0x80 {
            escaped.push_str(&format!("\\x{:02x}", u32::from(character)));
        } else {
            escaped.push_str(&format!("\\u{{{:x}}}", u32::from(character)));
        }
    }
    std::borrow::Cow::Owned(escaped)
}

fn needs_escape(character: char) -> bool {
    character.is_control() && character != '\t'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_controls() {
        assert_eq!(escape_controls("red \x1b[31m"), "red \\x1b[31m");
        assert_eq!(escape_controls("csi \u{9b}2J"), "csi \\u{9b}2J");
        assert_eq!(escape_controls("nul \0 cr \r"), "nul \\x00 cr \\x0d");
    }

    #[test]
    fn keeps_tabs_and_text() {
        assert_eq!(escape_controls("\tcafé \u{fffd}"), "\tcafé \u{fffd}");
    }
}
