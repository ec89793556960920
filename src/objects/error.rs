//! Errors of the object readers. Each message names the source first (a path, or
//! `standard input`), then the place inside it, then what is wrong and what to do.

use std::fmt;
use std::path::PathBuf;

/// The kinds podmortem reads, as every "unsupported kind" message lists them.
pub(crate) const EXPECTED_KINDS: &str = "a Pod, PodList, List, EventList, Event, Job or JobList";

/// A problem reading objects. Item-level problems also become warnings in
/// [`Bundle::warnings`](super::Bundle::warnings) when the rest of the source still loads.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading a file or standard input failed. `fs_err` puts the path in the message.
    #[error(transparent)]
    Io(#[from] std::io::Error),

    #[error(
        "{place}: input of {size} bytes exceeds the limit of {limit} bytes; split it, for \
         example with `kubectl get pods -n NAMESPACE -o json` per namespace"
    )]
    TooLarge {
        place: Box<Place>,
        size: u64,
        limit: u64,
    },

    #[error("{place}: empty input; expected {EXPECTED_KINDS} as JSON or YAML")]
    Empty { place: Box<Place> },

    #[error(
        "{place}: binary data (byte `0x{byte:02x}`), not JSON or YAML text; expected the \
         output of `kubectl get -o json` or `-o yaml`"
    )]
    Binary { place: Box<Place>, byte: u8 },

    #[error("{place}: invalid UTF-8 (byte `0x{byte:02x}`); save the file as UTF-8 and retry")]
    NotUtf8 { place: Box<Place>, byte: u8 },

    #[error("{place}: invalid {format}: {message}; {hint}")]
    Syntax {
        place: Box<Place>,
        format: Format,
        message: String,
        /// Next step for the user: copy the file again when it ends early, else fix the text.
        hint: String,
    },

    #[error(
        "{place}: not a Kubernetes object, because it has no `{missing}`; expected \
         {EXPECTED_KINDS} with `apiVersion` and `kind`"
    )]
    NotAnObject {
        place: Box<Place>,
        missing: &'static str,
    },

    #[error("{place}: unsupported kind; expected {EXPECTED_KINDS}, got `{api_version}` {kind}")]
    UnsupportedKind {
        place: Box<Place>,
        api_version: String,
        kind: String,
    },

    #[error("{place}: invalid {kind}: {message}")]
    InvalidObject {
        place: Box<Place>,
        kind: String,
        message: String,
    },

    #[error(
        "`{}`: a folder, not a file; expected a JSON or YAML file, or a folder written by \
         `kubectl cluster-info dump --output-directory`",
        .path.display()
    )]
    Folder { path: PathBuf },

    #[error(
        "`{}`: not a `kubectl cluster-info dump` folder (no `nodes.json` and no namespace \
         folder with `pods.json`); pass the folder given to `--output-directory`",
        .path.display()
    )]
    NotClusterDump { path: PathBuf },

    #[error(
        "`{}` line {line}: the logs of container `{container}` have no END marker; the file \
         may be truncated, so the text up to its end was kept",
        .path.display()
    )]
    UnterminatedLog {
        path: PathBuf,
        line: usize,
        container: String,
    },

    #[error(
        "`{}` line {line}: invalid marker line `{text}`; expected `==== START logs for \
         container <container> of pod <namespace>/<pod> ====`",
        .path.display()
    )]
    InvalidLogMarker {
        path: PathBuf,
        line: usize,
        text: String,
    },
}

/// The text format of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
}

impl Format {
    /// Returns the hint for a syntax error. An input that ends in the middle of a value was
    /// most likely cut off while copying, and anything else needs fixing at the place named.
    pub(crate) fn syntax_hint(self, ends_early: bool) -> String {
        let flag = match self {
            Format::Json => "json",
            Format::Yaml => "yaml",
        };
        if ends_early {
            format!("the input ends early, so copy it again with `kubectl get ... -o {flag}`")
        } else {
            format!("fix the text there, or write it again with `kubectl get ... -o {flag}`")
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Format::Json => f.write_str("JSON"),
            Format::Yaml => f.write_str("YAML"),
        }
    }
}

/// Location of a problem in a source, from the coarsest part to the finest. Printed as
/// ``"`pods.yaml` document 2 item 3 (`v1` Pod `shop/web-1`) line 40 column 7"``.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Place {
    /// The path, or `standard input`.
    pub source: String,
    /// 1-based number of the document in a multi-document YAML file or JSON stream, set
    /// when the source contains more than one.
    pub document: Option<usize>,
    /// 0-based index into `items` of a list.
    pub item: Option<usize>,
    /// `apiVersion`, `kind` and `namespace/name` of the object, when known.
    pub object: Option<String>,
    /// 1-based line and column where the parser stopped.
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl Place {
    pub(crate) fn source(source: &str) -> Place {
        Place {
            source: source.to_owned(),
            ..Place::default()
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.source)?;
        if let Some(document) = self.document {
            write!(f, " document {document}")?;
        }
        if let Some(item) = self.item {
            write!(f, " item {item}")?;
        }
        if let Some(object) = &self.object {
            write!(f, " ({object})")?;
        }
        if let Some(line) = self.line {
            write!(f, " line {line}")?;
        }
        if let Some(column) = self.column {
            write!(f, " column {column}")?;
        }
        Ok(())
    }
}
