//! Label and field selectors as the `labelSelector` and `fieldSelector` query parameters give
//! them, parsed and matched by the rules of apimachinery's `labels` and `fields` packages.
//!
//! Label requirements are `key`, `!key`, `key=value`, `key==value`, `key!=value`,
//! `key in (a,b)`, `key notin (a,b)`, `key>n` and `key<n`, joined by commas. `!=` and `notin`
//! also match objects without the label. Field requirements are `field=value`,
//! `field==value` and `field!=value`, where a backslash escapes `,`, `=`, `!` and `\` in
//! values. Each resource supports a fixed set of fields (the field label conversion functions
//! of `pkg/apis/core/v1`), and a missing field reads as the empty string.

use serde_json::Value;

use crate::store::Resource;

/// Errors of selector parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A label requirement is malformed.
    #[error("unable to parse requirement: {0}")]
    Label(String),
    /// A field requirement is malformed.
    #[error("invalid selector: `{0}`: expected `field=value`, `field==value` or `field!=value`")]
    Field(String),
    /// The resource has no such field label.
    #[error("field label not supported: {0}")]
    UnsupportedField(String),
}

#[derive(Debug, Clone, PartialEq)]
enum LabelRequirement {
    Exists(String),
    NotExists(String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    GreaterThan(String, i64),
    LessThan(String, i64),
}

/// A parsed `labelSelector`; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector {
    requirements: Vec<LabelRequirement>,
}

impl LabelSelector {
    /// Parses a `labelSelector` value.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let requirements = split_top_level(text)
            .into_iter()
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(parse_label_requirement)
            .collect::<Result<_, _>>()?;
        Ok(LabelSelector { requirements })
    }

    /// Returns whether the selector has no requirements.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Returns whether the labels of `object` satisfy every requirement.
    pub fn matches(&self, object: &Value) -> bool {
        let labels = object.pointer("/metadata/labels");
        let label = |key: &str| {
            labels
                .and_then(|labels| labels.get(key))
                .and_then(Value::as_str)
        };
        self.requirements
            .iter()
            .all(|requirement| match requirement {
                LabelRequirement::Exists(key) => label(key).is_some(),
                LabelRequirement::NotExists(key) => label(key).is_none(),
                LabelRequirement::In(key, values) => {
                    label(key).is_some_and(|v| values.iter().any(|x| x == v))
                }
                LabelRequirement::NotIn(key, values) => {
                    !label(key).is_some_and(|v| values.iter().any(|x| x == v))
                }
                LabelRequirement::GreaterThan(key, bound) => label(key)
                    .and_then(|v| v.parse::<i64>().ok())
                    .is_some_and(|v| v > *bound),
                LabelRequirement::LessThan(key, bound) => label(key)
                    .and_then(|v| v.parse::<i64>().ok())
                    .is_some_and(|v| v < *bound),
            })
    }
}

/// Splits at commas outside parentheses, so `a in (x,y),b` gives two requirements.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (index, byte) in text.bytes().enumerate() {
        match byte {
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                parts.push(text.get(start..index).unwrap_or_default());
                start = index + 1;
            }
            _ => {}
        }
    }
    parts.push(text.get(start..).unwrap_or_default());
    parts
}

fn parse_label_requirement(part: &str) -> Result<LabelRequirement, Error> {
    if let Some(key) = part.strip_prefix('!') {
        return Ok(LabelRequirement::NotExists(label_key(key.trim(), part)?));
    }
    if let Some((key, values)) = split_set_operator(part, " notin ") {
        return Ok(LabelRequirement::NotIn(
            label_key(key, part)?,
            label_set(values, part)?,
        ));
    }
    if let Some((key, values)) = split_set_operator(part, " in ") {
        return Ok(LabelRequirement::In(
            label_key(key, part)?,
            label_set(values, part)?,
        ));
    }

    for (operator, build) in EQUALITY_OPERATORS {
        if let Some((key, value)) = part.split_once(operator) {
            let key = label_key(key.trim(), part)?;
            let value = label_value(value.trim(), part)?;
            return Ok(build(key, value));
        }
    }
    for (operator, greater) in [('>', true), ('<', false)] {
        if let Some((key, bound)) = part.split_once(operator) {
            let key = label_key(key.trim(), part)?;
            let bound = bound
                .trim()
                .parse::<i64>()
                .map_err(|_| Error::Label(format!("for `{part}`, the value must be an integer")))?;
            return Ok(if greater {
                LabelRequirement::GreaterThan(key, bound)
            } else {
                LabelRequirement::LessThan(key, bound)
            });
        }
    }
    Ok(LabelRequirement::Exists(label_key(part, part)?))
}

type BuildRequirement = fn(String, String) -> LabelRequirement;

/// Equality operators, longest first so `==` and `!=` are not read as `=`.
const EQUALITY_OPERATORS: [(&str, BuildRequirement); 3] = [
    ("!=", |key, value| LabelRequirement::NotIn(key, vec![value])),
    ("==", |key, value| LabelRequirement::In(key, vec![value])),
    ("=", |key, value| LabelRequirement::In(key, vec![value])),
];

fn split_set_operator<'a>(part: &'a str, operator: &str) -> Option<(&'a str, &'a str)> {
    let (key, values) = part.split_once(operator)?;
    Some((key.trim(), values.trim()))
}

fn label_set(values: &str, part: &str) -> Result<Vec<String>, Error> {
    let inner = values
        .strip_prefix('(')
        .and_then(|rest| rest.strip_suffix(')'))
        .ok_or_else(|| Error::Label(format!("for `{part}`, the values must be in parentheses")))?;
    inner
        .split(',')
        .map(|value| label_value(value.trim(), part))
        .collect()
}

fn label_key(key: &str, part: &str) -> Result<String, Error> {
    let valid = !key.is_empty()
        && key.len() <= 317
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'));
    if valid {
        Ok(key.to_owned())
    } else {
        Err(Error::Label(format!("`{part}`: invalid label key `{key}`")))
    }
}

fn label_value(value: &str, part: &str) -> Result<String, Error> {
    let valid = value.len() <= 63
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if valid {
        Ok(value.to_owned())
    } else {
        Err(Error::Label(format!(
            "`{part}`: invalid label value `{value}`"
        )))
    }
}

#[derive(Debug, Clone, PartialEq)]
struct FieldRequirement {
    field: String,
    value: String,
    equal: bool,
}

/// A parsed `fieldSelector`; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// Parses a `fieldSelector` value and checks that `resource` supports each field.
    pub fn parse(text: &str, resource: Resource) -> Result<Self, Error> {
        let mut requirements = Vec::new();
        for part in split_unescaped_commas(text) {
            if part.trim().is_empty() {
                continue;
            }
            let requirement = parse_field_requirement(&part)?;
            if field_path(resource, &requirement.field).is_none() {
                return Err(Error::UnsupportedField(requirement.field));
            }
            requirements.push(requirement);
        }
        Ok(FieldSelector { requirements })
    }

    /// Returns whether the selector has no requirements.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Returns whether the fields of `object` satisfy every requirement.
    pub fn matches(&self, resource: Resource, object: &Value) -> bool {
        self.requirements.iter().all(|requirement| {
            let actual = field_value(resource, object, &requirement.field);
            (actual == requirement.value) == requirement.equal
        })
    }
}

/// Splits at commas that no backslash escapes, keeping the escapes for the value parser.
fn split_unescaped_commas(text: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut escaped = false;
    for character in text.chars() {
        let current = parts.last_mut();
        match (character, escaped, current) {
            (',', false, _) => parts.push(String::new()),
            (_, _, Some(current)) => {
                current.push(character);
                escaped = character == '\\' && !escaped;
            }
            (_, _, None) => {}
        }
    }
    parts
}

fn parse_field_requirement(part: &str) -> Result<FieldRequirement, Error> {
    for (operator, equal) in [("!=", false), ("==", true), ("=", true)] {
        if let Some((field, value)) = split_unescaped(part, operator) {
            return Ok(FieldRequirement {
                field: field.trim().to_owned(),
                value: unescape(value),
                equal,
            });
        }
    }
    Err(Error::Field(part.to_owned()))
}

/// Splits at the first occurrence of `operator` that no backslash escapes.
fn split_unescaped<'a>(part: &'a str, operator: &str) -> Option<(&'a str, &'a str)> {
    let mut escaped = false;
    for (index, character) in part.char_indices() {
        if !escaped
            && part
                .get(index..)
                .is_some_and(|rest| rest.starts_with(operator))
        {
            let value = part.get(index + operator.len()..)?;
            return Some((part.get(..index)?, value));
        }
        escaped = character == '\\' && !escaped;
    }
    None
}

fn unescape(value: &str) -> String {
    let mut text = String::with_capacity(value.len());
    let mut escaped = false;
    for character in value.chars() {
        if character == '\\' && !escaped {
            escaped = true;
            continue;
        }
        text.push(character);
        escaped = false;
    }
    text
}

/// Returns the JSON pointer behind a field label that `resource` supports.
fn field_path(resource: Resource, field: &str) -> Option<&'static str> {
    let path = match (resource, field) {
        (_, "metadata.name") => "/metadata/name",
        (_, "metadata.namespace") => "/metadata/namespace",
        (Resource::Pods, "spec.nodeName") => "/spec/nodeName",
        (Resource::Pods, "spec.restartPolicy") => "/spec/restartPolicy",
        (Resource::Pods, "spec.schedulerName") => "/spec/schedulerName",
        (Resource::Pods, "spec.serviceAccountName") => "/spec/serviceAccountName",
        (Resource::Pods, "spec.hostNetwork") => "/spec/hostNetwork",
        (Resource::Pods, "status.phase") => "/status/phase",
        (Resource::Pods, "status.podIP") => "/status/podIP",
        (Resource::Pods, "status.nominatedNodeName") => "/status/nominatedNodeName",
        (Resource::Events, "involvedObject.kind") => "/involvedObject/kind",
        (Resource::Events, "involvedObject.namespace") => "/involvedObject/namespace",
        (Resource::Events, "involvedObject.name") => "/involvedObject/name",
        (Resource::Events, "involvedObject.uid") => "/involvedObject/uid",
        (Resource::Events, "involvedObject.apiVersion") => "/involvedObject/apiVersion",
        (Resource::Events, "involvedObject.resourceVersion") => "/involvedObject/resourceVersion",
        (Resource::Events, "involvedObject.fieldPath") => "/involvedObject/fieldPath",
        (Resource::Events, "reason") => "/reason",
        (Resource::Events, "reportingComponent") => "/reportingComponent",
        (Resource::Events, "source") => "/source/component",
        (Resource::Events, "type") => "/type",
        _ => return None,
    };
    Some(path)
}

/// Returns the value of a field label as the selector compares it: strings as they are,
/// booleans as `true`/`false`, and a missing field as the empty string.
fn field_value(resource: Resource, object: &Value, field: &str) -> String {
    let value = field_path(resource, field).and_then(|path| object.pointer(path));
    match value {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Bool(flag)) => flag.to_string(),
        Some(Value::Number(number)) => number.to_string(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labelled(labels: Value) -> Value {
        json!({"metadata": {"labels": labels}})
    }

    #[test]
    fn label_selector_table() {
        let object = labelled(json!({"app": "web", "tier": "front", "rank": "3"}));
        let cases = [
            ("", true),
            ("app=web", true),
            ("app==web", true),
            ("app=db", false),
            ("app!=db", true),
            ("missing!=x", true),
            ("app", true),
            ("!app", false),
            ("!missing", true),
            ("app in (db, web)", true),
            ("app notin (db,web)", false),
            ("missing notin (x)", true),
            ("app=web,tier in (front,back)", true),
            ("app=web,tier=back", false),
            ("rank>2", true),
            ("rank<3", false),
        ];

        for (selector, expected) in cases {
            let parsed = LabelSelector::parse(selector).unwrap();
            assert_eq!(parsed.matches(&object), expected, "selector `{selector}`");
        }
    }

    #[test]
    fn label_selector_rejects_malformed() {
        for selector in ["app in db", "a b=c", "rank>x", "app=(x"] {
            let parsed = LabelSelector::parse(selector);
            assert!(
                parsed.is_err(),
                "selector `{selector}` parsed as {parsed:?}"
            );
        }
    }

    #[test]
    fn field_selector_pod_fields() {
        let pod = json!({
            "metadata": {"name": "x", "namespace": "a"},
            "spec": {"nodeName": "node-1", "hostNetwork": true},
            "status": {"phase": "Running"}
        });
        let cases = [
            ("metadata.name=x", true),
            ("metadata.namespace!=a", false),
            ("spec.nodeName==node-1,status.phase=Running", true),
            ("status.phase!=Running", false),
            ("spec.hostNetwork=true", true),
            ("status.podIP=", true),
        ];

        for (selector, expected) in cases {
            let parsed = FieldSelector::parse(selector, Resource::Pods).unwrap();
            assert_eq!(
                parsed.matches(Resource::Pods, &pod),
                expected,
                "selector `{selector}`"
            );
        }
    }

    #[test]
    fn field_selector_event_fields() {
        let event = json!({
            "metadata": {"name": "x.1", "namespace": "a"},
            "involvedObject": {"kind": "Pod", "name": "x", "uid": "u-1"},
            "reason": "BackOff",
            "type": "Warning"
        });
        let selector = "involvedObject.kind=Pod,involvedObject.uid=u-1,type=Warning";

        let parsed = FieldSelector::parse(selector, Resource::Events).unwrap();
        assert!(parsed.matches(Resource::Events, &event));
        let other = FieldSelector::parse("involvedObject.name=y", Resource::Events).unwrap();
        assert!(!other.matches(Resource::Events, &event));
    }

    #[test]
    fn field_selector_unescapes_values() {
        let pod = json!({"metadata": {"name": "a,b=c"}});

        let parsed = FieldSelector::parse(r"metadata.name=a\,b\=c", Resource::Pods).unwrap();
        assert!(parsed.matches(Resource::Pods, &pod));
    }

    #[test]
    fn field_selector_rejects_unknown_field() {
        let error = FieldSelector::parse("spec.image=x", Resource::Pods).unwrap_err();
        assert_eq!(error, Error::UnsupportedField("spec.image".into()));
        let on_events = FieldSelector::parse("status.phase=Running", Resource::Events);
        assert!(on_events.is_err());
        assert!(FieldSelector::parse("metadata.name", Resource::Pods).is_err());
    }
}
