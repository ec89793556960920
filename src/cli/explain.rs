//! `podmortem explain`: what an exit code or a termination reason means, without a cluster.

use std::io::Write;
use std::process::ExitCode;

use clap::ValueEnum;
use serde::Serialize;

use crate::diagnose::{
    ExitCodeExplanation, ReasonExplanation, explain_exit_code, explain_reason, known_reasons,
    parse_exit_code,
};

/// Arguments of `podmortem explain`.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// Exit code to explain: decimal (137, -1073741819), hex NTSTATUS (0xC0000005) or a signal
    /// name (SIGKILL, which is read as 128 + 9).
    #[arg(
        value_name = "CODE",
        allow_hyphen_values = true,
        required_unless_present = "reason"
    )]
    pub code: Option<String>,

    /// Termination, pod, Job or DisruptionTarget reason to explain (OOMKilled, Evicted, ...).
    #[arg(long, value_name = "REASON")]
    pub reason: Option<String>,

    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
    pub output: Format,
}

/// Output formats of `podmortem explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Errors of `podmortem explain`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "invalid exit code `{value}`: expected a decimal number (137, -1073741819), a hex \
         NTSTATUS value (0xC0000005) or a signal name (SIGKILL)"
    )]
    InvalidCode { value: String },
    #[error("unknown reason `{reason}`: known reasons are {known}")]
    UnknownReason { reason: String, known: String },
}

/// The JSON form of one `explain` call.
#[derive(Debug, Serialize)]
struct Explanation {
    #[serde(skip_serializing_if = "Option::is_none")]
    exit_code: Option<ExitCodeExplanation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<ReasonExplanation>,
}

/// Explains the code and reason given and writes the result to stdout.
pub fn run(args: ExplainArgs) -> anyhow::Result<ExitCode> {
    let explanation = explain(&args)?;

    let mut stdout = std::io::stdout().lock();
    match args.output {
        Format::Text => write_text(&mut stdout, &explanation)?,
        Format::Json => {
            serde_json::to_writer_pretty(&mut stdout, &explanation)?;
            writeln!(stdout)?;
        }
    }
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn explain(args: &ExplainArgs) -> Result<Explanation, Error> {
    let exit_code = match &args.code {
        Some(text) => {
            let code = parse_exit_code(text).ok_or_else(|| Error::InvalidCode {
                value: text.clone(),
            })?;
            Some(explain_exit_code(code))
        }
        None => None,
    };
    let reason = match &args.reason {
        Some(reason) => Some(explain_reason(reason).ok_or_else(|| Error::UnknownReason {
            reason: reason.clone(),
            known: known_reasons().collect::<Vec<_>>().join(", "),
        })?),
        None => None,
    };
    Ok(Explanation { exit_code, reason })
}

fn write_text(out: &mut impl Write, explanation: &Explanation) -> std::io::Result<()> {
    if let Some(code) = &explanation.exit_code {
        write_exit_code(out, code)?;
    }
    if explanation.exit_code.is_some() && explanation.reason.is_some() {
        writeln!(out)?;
    }
    if let Some(reason) = &explanation.reason {
        write_reason(out, reason)?;
    }
    Ok(())
}

fn write_exit_code(out: &mut impl Write, explanation: &ExitCodeExplanation) -> std::io::Result<()> {
    match &explanation.ntstatus {
        Some(status) => writeln!(out, "exit code {} ({})", explanation.code, status.hex())?,
        None => writeln!(out, "exit code {}", explanation.code)?,
    }
    writeln!(out, "  meaning: {}", explanation.meaning)?;
    if let Some(signal) = &explanation.signal {
        writeln!(
            out,
            "  signal:  {} ({}) = {} - 128",
            signal.name, signal.number, explanation.code
        )?;
    }
    if let Some(name) = explanation.ntstatus.and_then(|status| status.name) {
        writeln!(out, "  status:  {name}")?;
    }
    writeln!(out, "  kind:    {}", explanation.kind)?;
    for note in &explanation.notes {
        writeln!(out, "  note:    {note}")?;
    }
    Ok(())
}

fn write_reason(out: &mut impl Write, explanation: &ReasonExplanation) -> std::io::Result<()> {
    writeln!(out, "reason {}", explanation.reason)?;
    writeln!(out, "  field:   {}", explanation.field)?;
    writeln!(out, "  set by:  {}", explanation.set_by)?;
    writeln!(out, "  meaning: {}", explanation.meaning)
}
