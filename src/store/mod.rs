//! The store of records: one interface, an embedded SQLite engine.

use jiff::Timestamp;

use crate::model::CauseKind;

/// Which records a query returns. Every `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub namespace: Option<String>,
    pub pod: Option<String>,
    pub container: Option<String>,
    pub cause: Option<CauseKind>,
    /// Only records that finished (or were observed, when the finish time is unknown) at or
    /// after this time.
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// Include exits whose cause is `expected`.
    pub include_expected: bool,
    pub limit: Option<usize>,
}
