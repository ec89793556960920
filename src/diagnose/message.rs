//! Origins of a record's termination message: the program's own words, the tail of its log,
//! kubelet's note that it could not read the log, or a note from kubelet or the runtime.
//!
//! kubelet (`kuberuntime_container.go`, `getTerminationMessage` and
//! `readLastStringFromContainerLogs`) copies at most 4096 bytes of the file at
//! `terminationMessagePath`. With `terminationMessagePolicy: FallbackToLogsOnError` and an
//! empty file after a failed exit, it uses the last 80 log lines and then only the last 2048
//! bytes of them, so such a message often starts in the middle of a line. When reading the
//! log fails, the message is `Error on reading termination message from logs: <error>`.

use super::evidence::quote;
use super::facts::Facts;

/// Bytes kubelet keeps of a log used as termination message.
pub const FALLBACK_MESSAGE_BYTES: usize = 2048;

/// Prefix kubelet writes when it could not read the log for a fallback message.
pub const LOG_READ_ERROR_PREFIX: &str = "Error on reading termination message from logs:";

/// The origin of a termination message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageOrigin {
    /// Written by the program to its termination-message file.
    Program,
    /// The tail of the log, under `FallbackToLogsOnError`. `cut` is true when the message
    /// has the full 2048 bytes, so its first line is most likely a fragment.
    Log { cut: bool },
    /// kubelet could not read the log.
    KubeletReadError,
    /// kubelet's own note on a placeholder status (`ContainerStatusUnknown`).
    Kubelet,
    /// The runtime's error for a process it could not start (`StartError`,
    /// `ContainerCannotRun`), which the start-failure rule decodes.
    Runtime,
}

/// A record's termination message with its origin.
#[derive(Debug, Clone, Copy)]
pub struct TerminationMessage<'a> {
    pub text: &'a str,
    pub origin: MessageOrigin,
}

impl<'a> TerminationMessage<'a> {
    /// Reads the record's message, or `None` when it has none.
    pub fn of(facts: &Facts<'a>) -> Option<Self> {
        let text = facts.record.message.as_deref()?;
        if text.trim().is_empty() {
            return None;
        }

        let failed = facts.record.exit_code.is_some_and(|code| code != 0);
        let fallback = facts.termination_message_policy() == Some("FallbackToLogsOnError");
        let reason = facts.record.reason.as_deref();
        let origin = if text.starts_with(LOG_READ_ERROR_PREFIX) {
            MessageOrigin::KubeletReadError
        } else if reason == Some("ContainerStatusUnknown") {
            MessageOrigin::Kubelet
        } else if matches!(reason, Some("StartError" | "ContainerCannotRun")) {
            MessageOrigin::Runtime
        } else if fallback && failed {
            // NOTE: a program under FallbackToLogsOnError that wrote its own message is read as
            // a log tail too, because the status does not record which one kubelet used.
            MessageOrigin::Log {
                cut: text.len() >= FALLBACK_MESSAGE_BYTES,
            }
        } else {
            MessageOrigin::Program
        };
        Some(TerminationMessage { text, origin })
    }

    /// Returns the part of the message that can be read as whole lines of the program's
    /// output: without its first, cut line when it is a cut log tail, and nothing when kubelet
    /// or the runtime wrote it.
    pub fn whole_lines(&self) -> &'a str {
        match self.origin {
            MessageOrigin::Program | MessageOrigin::Log { cut: false } => self.text,
            MessageOrigin::Log { cut: true } => {
                self.text.split_once('\n').map_or("", |(_, rest)| rest)
            }
            MessageOrigin::KubeletReadError | MessageOrigin::Kubelet | MessageOrigin::Runtime => "",
        }
    }

    /// Returns the evidence items that describe the message.
    pub fn evidence(&self) -> Vec<String> {
        match self.origin {
            MessageOrigin::Program => vec![format!("termination message: {}", quote(self.text))],
            MessageOrigin::Log { cut } => {
                let mut items = vec![
                    "termination message taken from the log (FallbackToLogsOnError)".to_owned(),
                ];
                if cut {
                    items.push(format!(
                        "the message is the last {FALLBACK_MESSAGE_BYTES} bytes of the log, so \
                         its first line is cut"
                    ));
                }
                items
            }
            MessageOrigin::KubeletReadError => {
                let error = self
                    .text
                    .get(LOG_READ_ERROR_PREFIX.len()..)
                    .unwrap_or_default();
                vec![format!(
                    "kubelet could not read the log for the termination message: {}",
                    quote(error)
                )]
            }
            MessageOrigin::Kubelet => vec![format!("kubelet message: {}", quote(self.text))],
            MessageOrigin::Runtime => Vec::new(),
        }
    }
}
