//! Faults a test arms for the next requests that match a path prefix and verb. They return the
//! error responses kube-apiserver gives for a rejected credential (401), a missing RBAC rule
//! (403), API Priority and Fairness throttling (429 with `Retry-After`) and server trouble
//! (500, 503). One more fault breaks a watch connection after some events.

use crate::status::ApiError;

/// The Kubernetes verb of a read request, as RBAC names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// Reading one object, or a pod's log (`pods/log`).
    Get,
    /// Listing a collection.
    List,
    /// Watching a collection (`?watch=true`).
    Watch,
}

impl Verb {
    /// Returns the verb as RBAC messages spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Watch => "watch",
        }
    }
}

/// The requests a fault applies to: a path prefix and, optionally, one verb.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFilter {
    path_prefix: String,
    verb: Option<Verb>,
}

impl RequestFilter {
    /// Matches every request whose path starts with `prefix`.
    pub fn path(prefix: &str) -> Self {
        RequestFilter {
            path_prefix: prefix.to_owned(),
            verb: None,
        }
    }

    /// Narrows the filter to one verb.
    pub fn verb(mut self, verb: Verb) -> Self {
        self.verb = Some(verb);
        self
    }

    /// Returns whether a request matches.
    pub fn matches(&self, path: &str, verb: Option<Verb>) -> bool {
        path.starts_with(&self.path_prefix) && self.verb.is_none_or(|wanted| verb == Some(wanted))
    }
}

impl From<&str> for RequestFilter {
    fn from(prefix: &str) -> Self {
        RequestFilter::path(prefix)
    }
}

/// The response a matching request gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 401 `Unauthorized`.
    Unauthorized,
    /// 403 with the RBAC message naming `user`, the request's verb, resource and scope.
    Forbidden {
        /// The user name in the message.
        user: String,
    },
    /// 429 with `Retry-After: retry_after_seconds`.
    TooManyRequests {
        /// The value of `Retry-After` and of `details.retryAfterSeconds`.
        retry_after_seconds: u32,
    },
    /// 500 `InternalError`.
    InternalError,
    /// 503 `ServiceUnavailable`.
    ServiceUnavailable,
    /// A watch that starts normally and, after `after_events` events, breaks its connection
    /// without the final chunk, as a lost TCP connection does. It applies to watches only.
    DropWatch {
        /// Events (including bookmarks) sent before the break.
        after_events: usize,
    },
}

/// The facts about a request that fault filters match and 403 messages name.
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo<'a> {
    /// The URL path.
    pub path: &'a str,
    /// The verb, when the path names a served resource.
    pub verb: Option<Verb>,
    /// The resource, such as `pods` or `pods/log`.
    pub resource: &'a str,
    /// The namespace of a namespaced path.
    pub namespace: Option<&'a str>,
    /// The object name of a path to one object.
    pub name: Option<&'a str>,
}

#[derive(Debug, Clone)]
struct Rule {
    filter: RequestFilter,
    remaining: usize,
    fault: Fault,
}

/// The armed faults, checked in the order they were armed.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Vec<Rule>,
}

impl Faults {
    /// Arms `fault` for the next `count` requests that match `filter`.
    pub fn arm(&mut self, filter: RequestFilter, count: usize, fault: Fault) {
        if count > 0 {
            self.rules.push(Rule {
                filter,
                remaining: count,
                fault,
            });
        }
    }

    /// Takes one use of the first error fault that matches the request, and returns its
    /// response.
    pub fn take_error(&mut self, request: RequestInfo<'_>) -> Option<ApiError> {
        let fault = self.take(|fault| !matches!(fault, Fault::DropWatch { .. }), request)?;
        let error = match fault {
            Fault::Unauthorized => ApiError::unauthorized(),
            Fault::Forbidden { user } => {
                let verb = request.verb.unwrap_or(Verb::Get).as_str();
                ApiError::forbidden(
                    &user,
                    verb,
                    request.resource,
                    request.namespace,
                    request.name,
                )
            }
            Fault::TooManyRequests {
                retry_after_seconds,
            } => ApiError::too_many_requests(retry_after_seconds),
            Fault::InternalError => ApiError::internal("injected fault"),
            Fault::ServiceUnavailable => ApiError::service_unavailable(),
            Fault::DropWatch { .. } => return None,
        };
        Some(error)
    }

    /// Takes one use of the first watch-drop fault that matches a watch request, and returns
    /// after how many events to break the connection.
    pub fn take_drop(&mut self, request: RequestInfo<'_>) -> Option<usize> {
        if request.verb != Some(Verb::Watch) {
            return None;
        }
        match self.take(|fault| matches!(fault, Fault::DropWatch { .. }), request)? {
            Fault::DropWatch { after_events } => Some(after_events),
            _ => None,
        }
    }

    fn take(&mut self, kind: impl Fn(&Fault) -> bool, request: RequestInfo<'_>) -> Option<Fault> {
        let index = self.rules.iter().position(|rule| {
            kind(&rule.fault) && rule.filter.matches(request.path, request.verb)
        })?;
        let rule = self.rules.get_mut(index)?;
        rule.remaining = rule.remaining.saturating_sub(1);
        let fault = rule.fault.clone();
        if rule.remaining == 0 {
            self.rules.remove(index);
        }
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list_pods() -> RequestInfo<'static> {
        RequestInfo {
            path: "/api/v1/pods",
            verb: Some(Verb::List),
            resource: "pods",
            namespace: None,
            name: None,
        }
    }

    #[test]
    fn fault_applies_count_times() {
        let mut faults = Faults::default();
        faults.arm("/api/v1/pods".into(), 2, Fault::InternalError);

        assert_eq!(faults.take_error(list_pods()).map(|e| e.code()), Some(500));
        assert_eq!(faults.take_error(list_pods()).map(|e| e.code()), Some(500));
        assert!(faults.take_error(list_pods()).is_none());
    }

    #[test]
    fn verb_filter_skips_other_verbs() {
        let mut faults = Faults::default();
        let filter = RequestFilter::path("/api/v1/pods").verb(Verb::Watch);
        faults.arm(filter, 1, Fault::Unauthorized);

        assert!(faults.take_error(list_pods()).is_none());
        let watch = RequestInfo {
            verb: Some(Verb::Watch),
            ..list_pods()
        };
        assert_eq!(faults.take_error(watch).map(|e| e.code()), Some(401));
    }

    #[test]
    fn forbidden_names_verb_and_scope() {
        let mut faults = Faults::default();
        let fault = Fault::Forbidden { user: "x".into() };
        faults.arm("/api".into(), 1, fault);

        let status = faults.take_error(list_pods()).unwrap().status();
        let expected = "pods is forbidden: User \"x\" cannot list resource \"pods\" in API group \"\" at the cluster scope";
        assert_eq!(status["message"], expected);
        assert_eq!(status["reason"], "Forbidden");
    }
}
