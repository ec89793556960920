//! The result of one rule, before the evidence every diagnosis shares is added.

use crate::model::CauseKind;

/// What a rule concluded about an exit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: CauseKind,
    /// One sentence for a person.
    pub summary: String,
    /// The facts the rule used, in words.
    pub evidence: Vec<String>,
    pub expected: bool,
    /// True when the exit code is a placeholder kubelet wrote, so it must not be decoded as
    /// a signal in the shared evidence.
    pub placeholder_exit_code: bool,
}

impl Finding {
    /// Creates an unexpected finding with no evidence yet.
    pub fn new(kind: CauseKind, summary: impl Into<String>) -> Self {
        Finding {
            kind,
            summary: summary.into(),
            evidence: Vec::new(),
            expected: false,
            placeholder_exit_code: false,
        }
    }

    pub fn expected(mut self) -> Self {
        self.expected = true;
        self
    }

    pub fn with(mut self, item: impl Into<String>) -> Self {
        self.evidence.push(item.into());
        self
    }

    pub fn with_all(mut self, items: impl IntoIterator<Item = String>) -> Self {
        self.evidence.extend(items);
        self
    }
}
