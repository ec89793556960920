//! Reading JSON and YAML object files into a [`Bundle`].
//!
//! The format is detected from the content, never from the file name. Text whose first
//! non-blank character is `{` or `[` is JSON: one object, a stream of concatenated objects, or
//! an array. Anything else is YAML with any number of `---` documents. UTF-8 with or without
//! a byte-order mark is accepted, and so is UTF-16 with a byte-order mark, which Windows
//! PowerShell 5 writes for `kubectl get pods -o json > pods.json`. What `kubectl cluster-info
//! dump` writes to standard output (object lists, then log sections) is split at the first
//! `==== START logs for container` line, and the logs go to [`Bundle::logs`].
//!
//! Each document is parsed into a `serde_json::Value` first, then dispatched on `apiVersion` and
//! `kind` and deserialized item by item into the k8s-openapi type, so one bad item costs only
//! that item. A bad or unsupported item becomes a warning in [`Bundle::warnings`] and the other
//! items still load, because losing a whole list over one odd object would hide the exits that
//! the other objects record. A source from which nothing loads at all returns its first problem
//! as the error. Items of a `PodList`, `EventList` or `JobList` may omit `apiVersion` and `kind`,
//! as the API server does, and then take them from the list. Items of a plain `List` (what
//! `kubectl get pods,events -o json` writes) must carry their own.

use std::borrow::Cow;
use std::io::Read;
use std::marker::PhantomData;
use std::path::Path;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event as CoreEvent, Pod};
use k8s_openapi::api::events::v1::Event as EventsEvent;
use serde::Deserialize;
use serde::de::{DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::Bundle;
use super::dump;
use super::error::{Error, Format, Place};
use super::events::{event_from_core_v1, event_from_events_v1};

/// Maximum size of one source, in bytes (1 GiB). By estimate, a pod takes 5 to 20 KB of JSON
/// (more with `managedFields`), so `kubectl get pods -A -o json` of 10 000 pods stays well
/// below it. Reading keeps the text, its parsed values and the objects in memory at once,
/// which for a source near the limit is several GiB.
pub const MAX_INPUT_BYTES: u64 = 1 << 30;

/// Lists nested deeper than this inside a `List` are reported instead of read.
const MAX_LIST_DEPTH: usize = 4;

/// Maximum length of a parser message in an error, in bytes. serde quotes the offending value
/// in its messages, and that value is untrusted input of any size.
const MAX_DETAIL_BYTES: usize = 300;

/// Maximum length of a name, namespace, kind or `apiVersion` quoted in an error, in bytes.
/// Kubernetes names are at most 253 bytes.
const MAX_NAME_BYTES: usize = 253;

/// Number of item problems per source that get a line and column.
const MAX_LOCATED_PROBLEMS: usize = 16;

/// Number of problems per source listed one by one in [`Bundle::warnings`]; the rest are
/// counted in one last warning.
const MAX_WARNINGS: usize = 100;

/// Reads the objects in the file at `path`; `-` reads standard input.
pub fn read_objects_file(path: &Path) -> Result<Bundle, Error> {
    if path == Path::new("-") {
        let bytes = read_bounded(std::io::stdin().lock(), "standard input")?;
        return read_objects("-", &bytes);
    }

    if path.is_dir() {
        return Err(Error::Folder {
            path: path.to_owned(),
        });
    }
    let file = fs_err::File::open(path)?;
    let source = path.display().to_string();
    let size = file.metadata()?.len();
    if size > MAX_INPUT_BYTES {
        return Err(too_large(&source, size));
    }

    let bytes = read_bounded(file, &source)?;
    read_objects(&source, &bytes)
}

/// Reads the objects in `bytes`. `source_name` names them in errors and warnings; `-` is
/// shown as `standard input`.
pub fn read_objects(source_name: &str, bytes: &[u8]) -> Result<Bundle, Error> {
    let source = if source_name == "-" {
        "standard input"
    } else {
        source_name
    };
    let place = Place::source(source);
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(too_large(source, bytes.len() as u64));
    }

    let text = decode_text(&place, bytes)?;
    let (objects, logs_start) = split_dump_logs(&text);
    let format = detect_format(objects);
    let mut reader = Reader {
        place,
        text: objects,
        format,
        several: false,
        documents: 0,
        bundle: Bundle::default(),
        problems: Vec::new(),
    };

    if !objects.trim().is_empty() {
        reader.read_documents()?;
    }
    if let Some(start) = logs_start {
        reader.read_dump_logs(&text, start);
    }
    reader.finish()
}

/// Splits what `kubectl cluster-info dump` writes to standard output: the objects, then the
/// container logs from the first line that starts a log section.
fn split_dump_logs(text: &str) -> (&str, Option<usize>) {
    let marker = dump::START_PREFIX;
    let start = if text.starts_with(marker) {
        Some(0)
    } else {
        text.find(&format!("\n{marker}")).map(|newline| newline + 1)
    };
    match start {
        Some(start) => (text.get(..start).unwrap_or(text), Some(start)),
        None => (text, None),
    }
}

fn read_bounded(reader: impl Read, source: &str) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    reader.take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(too_large(source, bytes.len() as u64));
    }
    Ok(bytes)
}

fn too_large(source: &str, size: u64) -> Error {
    Error::TooLarge {
        place: Box::new(Place::source(source)),
        size,
        limit: MAX_INPUT_BYTES,
    }
}

/// Decodes UTF-8 (an optional byte-order mark removed) or UTF-16 with a byte-order mark.
/// NUL bytes and invalid UTF-8 mean the input is not text.
fn decode_text<'b>(place: &Place, bytes: &'b [u8]) -> Result<Cow<'b, str>, Error> {
    if let Some(text) = decode_utf16(bytes) {
        return text.map(Cow::Owned).ok_or_else(|| binary(place, bytes, 0));
    }

    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Some(offset) = memchr::memchr(0, bytes) {
        return Err(binary(place, bytes, offset));
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(Cow::Borrowed(text)),
        Err(error) => {
            let (place, byte) = place_of_byte(place, bytes, error.valid_up_to());
            Err(Error::NotUtf8 { place, byte })
        }
    }
}

/// Returns `None` when `bytes` has no UTF-16 byte-order mark, `Some(None)` when it has one
/// but does not decode.
fn decode_utf16(bytes: &[u8]) -> Option<Option<String>> {
    let (body, little_endian) = if let Some(body) = bytes.strip_prefix(b"\xFF\xFE") {
        (body, true)
    } else {
        (bytes.strip_prefix(b"\xFE\xFF")?, false)
    };

    let units = body.chunks(2).map(|pair| match (pair, little_endian) {
        ([low, high], true) => u16::from_le_bytes([*low, *high]),
        ([high, low], false) => u16::from_be_bytes([*high, *low]),
        _ => 0xD800, // a lone surrogate: the odd trailing byte fails the decoding below
    });
    let text: Result<String, _> = char::decode_utf16(units).collect();
    Some(text.ok().filter(|text| !text.contains('\0')))
}

fn binary(place: &Place, bytes: &[u8], offset: usize) -> Error {
    let (place, byte) = place_of_byte(place, bytes, offset);
    Error::Binary { place, byte }
}

/// Returns the place of the byte at `offset` with its line and column, and the byte.
fn place_of_byte(place: &Place, bytes: &[u8], offset: usize) -> (Box<Place>, u8) {
    let mut place = place.clone();
    let before = bytes.get(..offset).unwrap_or(bytes);
    let line_start = memchr::memrchr(b'\n', before).map_or(0, |newline| newline + 1);
    place.line = Some(memchr::memchr_iter(b'\n', before).count() + 1);
    place.column = Some(offset - line_start + 1);
    (Box::new(place), bytes.get(offset).copied().unwrap_or(0))
}

fn detect_format(text: &str) -> Format {
    match text.trim_start().chars().next() {
        Some('{' | '[') => Format::Json,
        _ => Format::Yaml,
    }
}

/// One top-level document: its number, its value and the byte range of its text.
struct Document {
    number: usize,
    value: Value,
    start: usize,
    end: usize,
    /// False for an element of a top-level JSON array, whose own text the locator of
    /// [`Reader::locate`] cannot address.
    addressable: bool,
}

/// Parses a JSON stream into documents, up to the first syntax error if there is one.
fn json_documents(place: &Place, text: &str) -> (Vec<Document>, Option<Error>) {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let mut documents = Vec::new();
    loop {
        let start = stream.byte_offset();
        let value = match stream.next() {
            None => return (documents, None),
            Some(Ok(value)) => value,
            Some(Err(error)) => return (documents, Some(json_syntax(place, &error))),
        };
        let end = stream.byte_offset();
        push_documents(&mut documents, value, start, end);
    }
}

/// Adds one parsed JSON value; the elements of a top-level array are documents of their own.
fn push_documents(documents: &mut Vec<Document>, value: Value, start: usize, end: usize) {
    let (values, addressable) = match value {
        Value::Array(values) => (values, false),
        value => (vec![value], true),
    };
    for value in values {
        documents.push(Document {
            number: documents.len() + 1,
            value,
            start,
            end,
            addressable,
        });
    }
}

/// Parses a YAML stream into documents, up to the first syntax error if there is one.
///
/// NOTE: YAML cut at a line boundary is usually still valid YAML, so a truncated file can load
/// as objects with their last fields missing and no error. Only JSON detects every cut.
fn yaml_documents(place: &Place, text: &str) -> (Vec<Document>, Option<Error>) {
    let mut documents = Vec::new();
    for (index, document) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let value = match Value::deserialize(document) {
            Ok(value) => value,
            Err(error) => return (documents, Some(yaml_syntax(place, &error))),
        };
        // Empty documents (a leading `---`, comments only) contain nothing to read.
        if value.is_null() {
            continue;
        }
        documents.push(Document {
            number: index + 1,
            value,
            start: 0,
            end: text.len(),
            addressable: true,
        });
    }
    (documents, None)
}

fn json_syntax(place: &Place, error: &serde_json::Error) -> Error {
    let mut place = place.clone();
    place.line = Some(error.line());
    place.column = Some(error.column());
    Error::Syntax {
        place: Box::new(place),
        format: Format::Json,
        message: parser_message(&error.to_string()),
        hint: Format::Json.syntax_hint(error.is_eof()),
    }
}

fn yaml_syntax(place: &Place, error: &serde_yaml_ng::Error) -> Error {
    let mut place = place.clone();
    if let Some(location) = error.location() {
        place.line = Some(location.line());
        place.column = Some(location.column());
    }
    let message = parser_message(&error.to_string());
    // libyaml reports a document cut inside a block or a quoted scalar this way.
    let ends_early = message.contains("end of stream") || message.contains("unexpected end");
    Error::Syntax {
        place: Box::new(place),
        format: Format::Yaml,
        hint: Format::Yaml.syntax_hint(ends_early),
        message,
    }
}

/// Returns a parser's message without its position and bounded to [`MAX_DETAIL_BYTES`].
fn parser_message(message: &str) -> String {
    bounded(&without_position(message), MAX_DETAIL_BYTES)
}

/// Removes each ` at line N column M` that serde_json and serde_yaml_ng put in messages,
/// because the place already carries the position.
fn without_position(message: &str) -> String {
    let mut cleaned = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(found) = rest.find(" at line ") {
        let (before, from) = rest.split_at(found);
        cleaned.push_str(before);
        match position_length(from) {
            Some(length) => rest = from.get(length..).unwrap_or_default(),
            None => {
                cleaned.push_str(" at line ");
                rest = from.get(" at line ".len()..).unwrap_or_default();
            }
        }
    }
    cleaned.push_str(rest);
    cleaned
}

/// Returns the length of the ` at line N column M` that starts `text`, if one does.
fn position_length(text: &str) -> Option<usize> {
    let digits = |text: &str| text.bytes().take_while(u8::is_ascii_digit).count();
    let rest = text.strip_prefix(" at line ")?;
    let line_digits = digits(rest);
    let rest = rest.get(line_digits..)?.strip_prefix(" column ")?;
    let column_digits = digits(rest);
    let complete = line_digits > 0 && column_digits > 0;
    complete.then(|| " at line ".len() + line_digits + " column ".len() + column_digits)
}

/// The kinds that [`Reader`] dispatches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pod,
    CoreEvent,
    EventsEvent,
    Job,
    /// A list whose items default to the given kind, or carry their own (`List`).
    List(Option<ItemKind>),
}

/// The kind that items of a typed list have when they omit `apiVersion` and `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ItemKind {
    Pod,
    CoreEvent,
    EventsEvent,
    Job,
}

fn kind_of(api_version: &str, kind: &str) -> Option<Kind> {
    let kind = match (api_version, kind) {
        ("v1", "Pod") => Kind::Pod,
        ("v1", "Event") => Kind::CoreEvent,
        // v1beta1 has the same fields as v1. Kubernetes 1.25 removed it, but files saved
        // from older clusters still carry it.
        ("events.k8s.io/v1" | "events.k8s.io/v1beta1", "Event") => Kind::EventsEvent,
        ("batch/v1", "Job") => Kind::Job,
        ("v1", "PodList") => Kind::List(Some(ItemKind::Pod)),
        ("v1", "EventList") => Kind::List(Some(ItemKind::CoreEvent)),
        ("events.k8s.io/v1" | "events.k8s.io/v1beta1", "EventList") => {
            Kind::List(Some(ItemKind::EventsEvent))
        }
        ("batch/v1", "JobList") => Kind::List(Some(ItemKind::Job)),
        ("v1", "List") => Kind::List(None),
        _ => return None,
    };
    Some(kind)
}

impl From<ItemKind> for Kind {
    fn from(kind: ItemKind) -> Kind {
        match kind {
            ItemKind::Pod => Kind::Pod,
            ItemKind::CoreEvent => Kind::CoreEvent,
            ItemKind::EventsEvent => Kind::EventsEvent,
            ItemKind::Job => Kind::Job,
        }
    }
}

/// Relabels an events.k8s.io/v1beta1 event as v1, because k8s-openapi's v1 type rejects any
/// other `apiVersion`.
fn as_events_v1(mut value: Value) -> Value {
    let beta = value.get("apiVersion").and_then(Value::as_str) == Some("events.k8s.io/v1beta1");
    if let (true, Some(object)) = (beta, value.as_object_mut()) {
        object.insert("apiVersion".to_owned(), Value::from("events.k8s.io/v1"));
    }
    value
}

/// `apiVersion` and `kind` of a value, each `None` when absent or not a non-empty string.
fn type_meta(value: &Value) -> (Option<&str>, Option<&str>) {
    let field = |name| {
        value
            .get(name)
            .and_then(Value::as_str)
            .filter(|text| !text.is_empty())
    };
    (field("apiVersion"), field("kind"))
}

/// ``"`v1` Pod `shop/web-1`"`` for messages, from whatever parts the value has, each part
/// bounded because it comes from the input.
fn describe(api_version: &str, kind: &str, value: &Value) -> String {
    let metadata = value.get("metadata");
    let text = |name| {
        let text = metadata.and_then(|m| m.get(name)).and_then(Value::as_str)?;
        Some(bounded(text, MAX_NAME_BYTES))
    };
    let api_version = bounded(api_version, MAX_NAME_BYTES);
    let kind = bounded(kind, MAX_NAME_BYTES);
    let name = match (text("namespace"), text("name")) {
        (Some(namespace), Some(name)) => format!(" `{namespace}/{name}`"),
        (None, Some(name)) => format!(" `{name}`"),
        _ => String::new(),
    };
    format!("`{api_version}` {kind}{name}")
}

/// Reads the documents of one source into a bundle, collecting problems on the way.
struct Reader<'a> {
    place: Place,
    /// The part of the source that contains the objects, from its first byte.
    text: &'a str,
    format: Format,
    /// True when the source contains more than one document, so places name the document.
    several: bool,
    /// Number of documents found, empty ones not counted.
    documents: usize,
    bundle: Bundle,
    problems: Vec<Error>,
}

/// Position of one object: its document and its index path through nested lists.
#[derive(Clone)]
struct Position<'d> {
    document: &'d Document,
    /// Index into `items` of each enclosing list, outermost first.
    items: Vec<usize>,
}

impl Reader<'_> {
    /// Parses the text into documents and reads each one. A syntax error ends the parsing,
    /// because no later document boundary can be trusted. It fails the source when it comes
    /// before the first document, and is a problem like any other after it, so the documents
    /// before a cut keep their objects.
    fn read_documents(&mut self) -> Result<(), Error> {
        let (documents, syntax_error) = match self.format {
            Format::Json => json_documents(&self.place, self.text),
            Format::Yaml => yaml_documents(&self.place, self.text),
        };
        match syntax_error {
            Some(error) if documents.is_empty() => return Err(error),
            Some(error) => self.problems.push(error),
            None => {}
        }

        self.several = documents.len() > 1;
        self.documents = documents.len();
        for document in documents {
            self.read_document(document);
        }
        Ok(())
    }

    /// Reads the log sections that follow the objects in `kubectl cluster-info dump` output.
    fn read_dump_logs(&mut self, text: &str, start: usize) {
        let path = Path::new(&self.place.source);
        let (logs, errors) = dump::parse_logs(path, text, start);
        self.bundle.logs.extend(logs);
        self.problems.extend(errors);
    }

    fn read_document(&mut self, mut document: Document) {
        let value = document.value.take();
        let position = Position {
            document: &document,
            items: Vec::new(),
        };
        self.read_value(&position, value, None);
    }

    /// Reads one object; `inherited` is the kind of items of the enclosing typed list.
    fn read_value(&mut self, position: &Position, value: Value, inherited: Option<ItemKind>) {
        let (api_version, kind_name) = type_meta(&value);
        let kind = match (api_version, kind_name, inherited) {
            (Some(api_version), Some(kind_name), _) => kind_of(api_version, kind_name),
            (_, _, Some(inherited)) => Some(Kind::from(inherited)),
            (None, _, None) => return self.not_an_object(position, "apiVersion"),
            (_, None, None) => return self.not_an_object(position, "kind"),
        };
        let api_version = api_version.unwrap_or_default().to_owned();
        let kind_name = kind_name.unwrap_or_default().to_owned();

        let Some(kind) = kind else {
            let mut place = self.place_of(position);
            place.object = Some(describe(&api_version, &kind_name, &value));
            self.problems.push(Error::UnsupportedKind {
                place: Box::new(place),
                api_version: bounded(&api_version, MAX_NAME_BYTES),
                kind: bounded(&kind_name, MAX_NAME_BYTES),
            });
            return;
        };
        match kind {
            Kind::List(item_kind) => self.read_list(position, value, item_kind),
            Kind::Pod => {
                let mut value = value;
                wrap_unsigned_exit_codes(&mut value);
                if let Some(pod) = self.deserialize::<Pod>(position, value, "Pod") {
                    self.bundle.pods.push(pod);
                }
            }
            Kind::Job => {
                if let Some(job) = self.deserialize::<Job>(position, value, "Job") {
                    self.bundle.jobs.push(job);
                }
            }
            Kind::CoreEvent => {
                if let Some(event) = self.deserialize::<CoreEvent>(position, value, "Event") {
                    let record = event_from_core_v1(&event);
                    self.bundle.push_event(record, event.metadata.uid);
                }
            }
            Kind::EventsEvent => {
                let value = as_events_v1(value);
                if let Some(event) = self.deserialize::<EventsEvent>(position, value, "Event") {
                    let record = event_from_events_v1(&event);
                    self.bundle.push_event(record, event.metadata.uid);
                }
            }
        }
    }

    fn read_list(&mut self, position: &Position, mut value: Value, item_kind: Option<ItemKind>) {
        if position.items.len() >= MAX_LIST_DEPTH {
            let (api_version, kind) = type_meta(&value);
            let mut place = self.place_of(position);
            place.object = Some(describe(
                api_version.unwrap_or_default(),
                kind.unwrap_or_default(),
                &value,
            ));
            self.problems.push(Error::InvalidObject {
                place: Box::new(place),
                kind: "List".to_owned(),
                message: format!("lists nested more than {MAX_LIST_DEPTH} deep"),
            });
            return;
        }

        let items = match value.get_mut("items").map(Value::take) {
            Some(Value::Array(items)) => items,
            // `kubectl` writes `items: []` for an empty list, but some tools drop the field.
            None | Some(Value::Null) => Vec::new(),
            Some(_) => {
                let mut place = self.place_of(position);
                let (api_version, kind) = type_meta(&value);
                let kind = kind.unwrap_or_default().to_owned();
                place.object = Some(describe(api_version.unwrap_or_default(), &kind, &value));
                self.problems.push(Error::InvalidObject {
                    place: Box::new(place),
                    kind,
                    message: "`items` is not an array".to_owned(),
                });
                return;
            }
        };

        for (index, item) in items.into_iter().enumerate() {
            let mut inner = position.clone();
            inner.items.push(index);
            self.read_value(&inner, item, item_kind);
        }
    }

    /// Deserializes one object into its k8s-openapi type, or records why it failed with the
    /// line and column that a second, typed pass over the document's text finds.
    fn deserialize<T: DeserializeOwned>(
        &mut self,
        position: &Position,
        value: Value,
        kind: &str,
    ) -> Option<T> {
        let (api_version, _) = type_meta(&value);
        let object = describe(api_version.unwrap_or_default(), kind, &value);
        match serde_json::from_value::<T>(value) {
            Ok(object) => Some(object),
            Err(error) => {
                let mut place = self.place_of(position);
                place.object = Some(object);
                // Locating parses the document again, so only the first few problems get a
                // line and a list of bad items costs at most that many extra passes.
                let found = if self.problems.len() < MAX_LOCATED_PROBLEMS {
                    self.locate::<T>(position)
                } else {
                    None
                };
                if let Some((line, column)) = found {
                    place.line = Some(line);
                    place.column = Some(column);
                }
                self.problems.push(Error::InvalidObject {
                    place: Box::new(place),
                    kind: kind.to_owned(),
                    message: parser_message(&error.to_string()),
                });
                None
            }
        }
    }

    /// Finds the line and column of the failure in the object at `position` by parsing the
    /// document's text again, this time straight into `T` for that one item.
    fn locate<T: DeserializeOwned>(&self, position: &Position) -> Option<(usize, usize)> {
        if !position.document.addressable {
            return None;
        }
        let seed = Locate::<T> {
            items: &position.items,
            target: PhantomData,
        };
        match self.format {
            Format::Json => {
                let document = position.document;
                let text = self.text.get(document.start..document.end)?;
                let error = seed
                    .deserialize(&mut serde_json::Deserializer::from_str(text))
                    .err()?;
                Some(absolute_position(
                    self.text,
                    document.start,
                    error.line(),
                    error.column(),
                ))
            }
            Format::Yaml => {
                let number = position.document.number;
                let document = serde_yaml_ng::Deserializer::from_str(self.text).nth(number - 1)?;
                let location = seed.deserialize(document).err()?.location()?;
                Some((location.line(), location.column()))
            }
        }
    }

    fn not_an_object(&mut self, position: &Position, missing: &'static str) {
        let place = self.place_of(position);
        self.problems.push(Error::NotAnObject {
            place: Box::new(place),
            missing,
        });
    }

    fn place_of(&self, position: &Position) -> Place {
        let mut place = self.place.clone();
        if self.several {
            place.document = Some(position.document.number);
        }
        place.item = position.items.last().copied();
        place
    }

    /// Returns the bundle with the problems as warnings, or the first problem when nothing
    /// was read.
    fn finish(mut self) -> Result<Bundle, Error> {
        let read_nothing = self.bundle.is_empty();
        if read_nothing && !self.problems.is_empty() {
            return Err(self.problems.swap_remove(0));
        }
        if read_nothing && self.documents == 0 {
            return Err(Error::Empty {
                place: Box::new(self.place),
            });
        }

        let listed = self.problems.iter().take(MAX_WARNINGS);
        self.bundle.warnings.extend(listed.map(ToString::to_string));
        let unlisted = self.problems.len().saturating_sub(MAX_WARNINGS);
        if unlisted > 0 {
            let source = &self.place.source;
            let summary = format!("`{source}`: {unlisted} more problems not listed");
            self.bundle.warnings.push(summary);
        }
        Ok(self.bundle)
    }
}

/// Cuts untrusted `text` to `max` bytes at a character boundary, ending it in `…` when cut.
fn bounded(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let end = text.floor_char_boundary(max.saturating_sub('…'.len_utf8()));
    let mut cut = text.get(..end).unwrap_or_default().to_owned();
    cut.push('…');
    cut
}

/// Converts a position in the text that starts at byte `start` into one in the whole text.
fn absolute_position(text: &str, start: usize, line: usize, column: usize) -> (usize, usize) {
    let before = text.as_bytes().get(..start).unwrap_or_default();
    let lines_before = memchr::memchr_iter(b'\n', before).count();
    if line > 1 {
        return (lines_before + line, column);
    }
    let line_start = memchr::memrchr(b'\n', before).map_or(0, |newline| newline + 1);
    (lines_before + 1, start - line_start + column)
}

/// A typed pass over a document that deserializes only the object at `items` (an index path
/// through nested `items` arrays) as `T` and skips everything else, so that the parser's
/// error carries the position of the failure.
struct Locate<'i, T> {
    items: &'i [usize],
    target: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for Locate<'_, T> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        match self.items.split_first() {
            None => T::deserialize(deserializer).map(drop),
            Some(_) => deserializer.deserialize_map(self),
        }
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for Locate<'_, T> {
    type Value = ();

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a list with `items`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "items" {
                map.next_value_seed(LocateItem::<T> {
                    items: self.items,
                    target: PhantomData,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// The `items` array of a list inside [`Locate`]: skips to the first index of `items`.
struct LocateItem<'i, T> {
    items: &'i [usize],
    target: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for LocateItem<'_, T> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for LocateItem<'_, T> {
    type Value = ();

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("an array of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((&index, rest)) = self.items.split_first() else {
            return Ok(());
        };
        for _ in 0..index {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
        }
        seq.next_element_seed(Locate::<T> {
            items: rest,
            target: PhantomData,
        })?;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
}

/// Rewrites `exitCode` values of a pod's container states that exceed `i32` but fit in `u32` to
/// their two's-complement `i32`. `exitCode` is an int32 in the API, but tools that print
/// Windows NTSTATUS codes unsigned write 0xC0000005 as 3221225477, which the API serves as
/// -1073741819; without this the whole pod would fail to load over one field.
fn wrap_unsigned_exit_codes(pod: &mut Value) {
    let Some(status) = pod.get_mut("status").and_then(Value::as_object_mut) else {
        return;
    };
    for group in [
        "initContainerStatuses",
        "containerStatuses",
        "ephemeralContainerStatuses",
    ] {
        let Some(statuses) = status.get_mut(group).and_then(Value::as_array_mut) else {
            continue;
        };
        for container in statuses {
            for state in ["state", "lastState"] {
                let terminated = container
                    .get_mut(state)
                    .and_then(|state| state.get_mut("terminated"));
                let Some(exit_code) =
                    terminated.and_then(|terminated| terminated.get_mut("exitCode"))
                else {
                    continue;
                };
                let wrapped = exit_code
                    .as_u64()
                    .filter(|code| *code > i32::MAX as u64)
                    .and_then(|code| u32::try_from(code).ok())
                    .map(|code| code as i32);
                if let Some(wrapped) = wrapped {
                    *exit_code = Value::from(wrapped);
                }
            }
        }
    }
}
