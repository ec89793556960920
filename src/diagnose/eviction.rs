//! Parsing of the messages kubelet writes when it evicts a pod for node pressure.
//!
//! kubelet (`pkg/kubelet/eviction/helpers.go`) builds the message from sentences that each end
//! in ". ", so the message keeps a trailing space:
//!
//! - `The node was low on resource: memory. ` then `Threshold quantity: 100Mi, available:
//!   87608Ki. `
//! - per container, current form: `Container controller was using 48458972Ki, request
//!   is 15Gi, has larger consumption of memory. `
//! - per container, older form: `Container X was using 9402820Ki, which exceeds its request of 7G. `
//! - local storage limits: `Pod ephemeral local storage usage exceeds the total limit of
//!   containers 1Gi. `, `Usage of EmptyDir volume "cache" exceeds the limit "500Mi". ` and
//!   `Container app exceeded its local ephemeral storage limit "1Gi". `
//!
//! Kubernetes 1.6 wrote `Pod The node was low on resource: [MemoryPressure].`, naming the node
//! condition in brackets instead of the resource. Quantities are kept as written.

/// The facts of one eviction message. Fields the message does not carry are `None` or empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvictionMessage {
    /// The resource the node was low on (`memory`, `ephemeral-storage`, `nodefs.inodes`, ...).
    pub resource: Option<String>,
    /// The node condition named by the oldest form (`MemoryPressure`, `DiskPressure`).
    pub node_condition: Option<String>,
    /// The eviction threshold (`100Mi`).
    pub threshold: Option<String>,
    /// Amount still available when the threshold was crossed (`87608Ki`).
    pub available: Option<String>,
    /// Containers the message names as using more than they requested.
    pub containers: Vec<ContainerUsage>,
    /// Local storage limits the message names as exceeded, one sentence each.
    pub storage_limits: Vec<String>,
}

/// A container named in an eviction message, with its usage and its request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerUsage {
    pub container: String,
    pub usage: String,
    pub request: Option<String>,
    /// The resource of the usage, when the message names it (`memory`).
    pub resource: Option<String>,
}

impl EvictionMessage {
    /// Returns the evidence items for this message, one fact each.
    pub fn evidence(&self) -> Vec<String> {
        let mut items = Vec::new();
        if let Some(resource) = &self.resource {
            items.push(format!("node was low on {resource}"));
        }
        if let Some(condition) = &self.node_condition {
            items.push(format!("node condition {condition}"));
        }
        match (&self.threshold, &self.available) {
            (Some(threshold), Some(available)) => items.push(format!(
                "eviction threshold {threshold}, available {available}"
            )),
            (Some(threshold), None) => items.push(format!("eviction threshold {threshold}")),
            (None, Some(available)) => items.push(format!("available {available}")),
            (None, None) => {}
        }
        for usage in &self.containers {
            items.push(usage.describe());
        }
        items.extend(self.storage_limits.iter().cloned());
        items
    }

    /// Returns true when the message names `container` as using more than it requested or
    /// exceeding a storage limit.
    pub fn names_container(&self, container: &str) -> bool {
        self.containers
            .iter()
            .any(|usage| usage.container == container)
            || self
                .storage_limits
                .iter()
                .any(|sentence| sentence.starts_with(&format!("container {container} ")))
    }
}

impl ContainerUsage {
    fn describe(&self) -> String {
        let resource = self
            .resource
            .as_deref()
            .map_or_else(String::new, |resource| format!(" of {resource}"));
        match &self.request {
            Some(request) => format!(
                "container {} was using {}{resource}, request {request}",
                self.container, self.usage
            ),
            None => format!(
                "container {} was using {}{resource}",
                self.container, self.usage
            ),
        }
    }
}

/// Parses an eviction message. Returns `None` when the text is not one.
pub fn parse_eviction_message(message: &str) -> Option<EvictionMessage> {
    let mut parsed = EvictionMessage::default();
    let mut recognised = false;

    for sentence in split_sentences(message) {
        recognised |= parse_sentence(sentence, &mut parsed);
    }
    recognised.then_some(parsed)
}

/// Splits at ". " and at a final ".", which kubelet puts after every sentence. Quantities
/// such as `1.5Gi` keep their dot because no space follows it.
fn split_sentences(message: &str) -> impl Iterator<Item = &str> {
    message
        .split(". ")
        .map(|sentence| sentence.trim().trim_end_matches('.'))
        .filter(|sentence| !sentence.is_empty())
}

fn parse_sentence(sentence: &str, parsed: &mut EvictionMessage) -> bool {
    let sentence = sentence.strip_prefix("Pod ").unwrap_or(sentence);

    if let Some(rest) = sentence.strip_prefix("The node was low on resource: ") {
        parse_low_resource(rest, parsed);
        return true;
    }
    if let Some(rest) = sentence.strip_prefix("Threshold quantity: ") {
        let (threshold, available) = match rest.split_once(", available: ") {
            Some((threshold, available)) => (threshold, Some(available)),
            None => (rest, None),
        };
        parsed.threshold = Some(threshold.trim().to_owned());
        parsed.available = available.map(|value| value.trim().to_owned());
        return true;
    }
    if let Some(usage) = parse_container_usage(sentence) {
        parsed.containers.push(usage);
        return true;
    }
    if let Some(limit) = parse_storage_limit(sentence) {
        parsed.storage_limits.push(limit);
        return true;
    }
    false
}

fn parse_low_resource(rest: &str, parsed: &mut EvictionMessage) {
    let rest = rest.trim();
    match rest
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
    {
        Some(condition) => parsed.node_condition = Some(condition.to_owned()),
        None => parsed.resource = Some(rest.to_owned()),
    }
}

/// Parses `Container X was using U, request is R, has larger consumption of memory` and
/// the older `Container X was using U, which exceeds its request of R`.
fn parse_container_usage(sentence: &str) -> Option<ContainerUsage> {
    let rest = sentence.strip_prefix("Container ")?;
    let (container, rest) = rest.split_once(" was using ")?;
    let (usage, rest) = rest.split_once(", ")?;

    let (request, resource) = if let Some(current) = rest.strip_prefix("request is ") {
        match current.split_once(", has larger consumption of ") {
            Some((request, resource)) => (request, Some(resource.trim().to_owned())),
            None => (current, None),
        }
    } else {
        (rest.strip_prefix("which exceeds its request of ")?, None)
    };

    Some(ContainerUsage {
        container: container.to_owned(),
        usage: usage.to_owned(),
        request: Some(request.trim().to_owned()),
        resource,
    })
}

/// Parses the three sentences about local ephemeral storage limits into evidence items.
fn parse_storage_limit(sentence: &str) -> Option<String> {
    if let Some(limit) = sentence
        .strip_prefix("ephemeral local storage usage exceeds the total limit of containers ")
    {
        return Some(format!(
            "pod ephemeral storage exceeded the containers' total limit {limit}"
        ));
    }
    if let Some(rest) = sentence.strip_prefix("Usage of EmptyDir volume ") {
        let (volume, limit) = rest.split_once(" exceeds the limit ")?;
        return Some(format!(
            "emptyDir volume {volume} exceeded its limit {limit}"
        ));
    }
    let rest = sentence.strip_prefix("Container ")?;
    let (container, limit) = rest.split_once(" exceeded its local ephemeral storage limit ")?;
    Some(format!(
        "container {container} exceeded its ephemeral storage limit {limit}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_memory_message() {
        let message = "The node was low on resource: memory. Threshold quantity: 100Mi, available: \
                       87608Ki. Container controller was using 48458972Ki, request is 15Gi, has \
                       larger consumption of memory. ";
        let parsed = parse_eviction_message(message).unwrap();
        assert_eq!(parsed.resource.as_deref(), Some("memory"));
        assert_eq!(parsed.threshold.as_deref(), Some("100Mi"));
        assert_eq!(parsed.available.as_deref(), Some("87608Ki"));
        assert_eq!(parsed.containers.len(), 1);
        assert_eq!(parsed.containers[0].container, "controller");
        assert_eq!(parsed.containers[0].usage, "48458972Ki");
        assert_eq!(parsed.containers[0].request.as_deref(), Some("15Gi"));
        assert!(parsed.names_container("controller"));
        assert!(!parsed.names_container("proxy"));
    }

    #[test]
    fn older_exceeds_request_message() {
        let message = "The node was low on resource: memory. Container X was using 9402820Ki, \
                       which exceeds its request of 7G. ";
        let parsed = parse_eviction_message(message).unwrap();
        assert_eq!(parsed.containers[0].container, "X");
        assert_eq!(parsed.containers[0].usage, "9402820Ki");
        assert_eq!(parsed.containers[0].request.as_deref(), Some("7G"));
        assert_eq!(parsed.threshold, None);
    }

    #[test]
    fn oldest_node_condition_message() {
        let parsed =
            parse_eviction_message("Pod The node was low on resource: [MemoryPressure].").unwrap();
        assert_eq!(parsed.node_condition.as_deref(), Some("MemoryPressure"));
        assert_eq!(parsed.resource, None);
        assert_eq!(parsed.evidence(), vec!["node condition MemoryPressure"]);
    }

    #[test]
    fn ephemeral_storage_messages() {
        let table = [
            (
                "The node was low on resource: ephemeral-storage. Threshold quantity: 1.5Gi, \
                 available: 1Gi. Container app was using 3Gi, request is 0, has larger \
                 consumption of ephemeral-storage. ",
                "container app was using 3Gi of ephemeral-storage, request 0",
            ),
            (
                "Pod ephemeral local storage usage exceeds the total limit of containers 1Gi. ",
                "pod ephemeral storage exceeded the containers' total limit 1Gi",
            ),
            (
                "Usage of EmptyDir volume \"cache\" exceeds the limit \"500Mi\". ",
                "emptyDir volume \"cache\" exceeded its limit \"500Mi\"",
            ),
            (
                "Container app exceeded its local ephemeral storage limit \"1Gi\". ",
                "container app exceeded its ephemeral storage limit \"1Gi\"",
            ),
        ];
        for (message, item) in table {
            let parsed = parse_eviction_message(message).unwrap();
            assert!(
                parsed.evidence().iter().any(|found| found == item),
                "{message}: {:?}",
                parsed.evidence()
            );
        }
    }

    #[test]
    fn threshold_with_decimal_quantity() {
        let parsed = parse_eviction_message(
            "The node was low on resource: ephemeral-storage. Threshold quantity: 1.5Gi, \
             available: 1Gi. ",
        )
        .unwrap();
        assert_eq!(parsed.threshold.as_deref(), Some("1.5Gi"));
    }

    proptest::proptest! {
        #[test]
        fn any_message_parses_without_panic(
            message in "(The node was low on resource: |Threshold quantity: |Container |Pod |, available: | was using |, request is |, which exceeds its request of |\\. |[a-z0-9.]{0,8}){0,30}",
        ) {
            if let Some(parsed) = parse_eviction_message(&message) {
                proptest::prop_assert!(parsed.evidence().len() <= message.len());
            }
        }
    }

    #[test]
    fn other_text_is_not_eviction() {
        assert_eq!(
            parse_eviction_message("Preempted in order to admit critical pod"),
            None
        );
        assert_eq!(parse_eviction_message(""), None);
    }
}
