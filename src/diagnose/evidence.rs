//! Wording of evidence items: events, times, durations and bounded quotes of untrusted text.

use jiff::{SignedDuration, Timestamp};

use crate::model::EventRecord;

use super::facts::event_times;
use super::key_line::bound_text;

/// Bytes of an event or termination message quoted in one evidence item.
pub const MAX_QUOTE_BYTES: usize = 300;

/// Formats an event as "event Killing at 13:58:59Z: message" for a single occurrence, or
/// "event Unhealthy (x3): message" for a repeated one. An inferred event is marked as such.
pub fn describe_event(event: &EventRecord) -> String {
    let message = quote(&event.message);
    let inferred = if event.inferred {
        " (inferred: matched by node and time)"
    } else {
        ""
    };
    if event.count > 1 {
        return format!(
            "event {} (x{}){inferred}: {message}",
            event.reason, event.count
        );
    }
    match event_times(event).1 {
        Some(time) => format!(
            "event {} at {}{inferred}: {message}",
            event.reason,
            clock_time(time)
        ),
        None => format!("event {}{inferred}: {message}", event.reason),
    }
}

/// Formats a time of day in UTC, `13:58:59Z`, as `kubectl describe` readers compare them.
pub fn clock_time(time: Timestamp) -> String {
    time.strftime("%H:%M:%SZ").to_string()
}

/// Formats a duration for a person: `4h27m22s`, `10s`, `850ms`.
pub fn human_duration(duration: SignedDuration) -> String {
    let sign = if duration.is_negative() { "-" } else { "" };
    let duration = duration.abs();
    let total = duration.as_secs();
    if total == 0 {
        return format!("{sign}{}ms", duration.subsec_millis());
    }

    let (days, rest) = (total / 86_400, total % 86_400);
    let (hours, rest) = (rest / 3600, rest % 3600);
    let (minutes, seconds) = (rest / 60, rest % 60);
    let mut text = String::from(sign);
    for (value, unit) in [(days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")] {
        if value > 0 || (unit == "s" && text.len() == sign.len()) {
            text.push_str(&format!("{value}{unit}"));
        }
    }
    text
}

/// Returns the first non-empty line of untrusted text, bounded for an evidence item.
pub fn first_line(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .map(quote)
}

/// Bounds untrusted text for an evidence item and makes it one line.
pub fn quote(text: &str) -> String {
    let single: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    bound_text(&single, MAX_QUOTE_BYTES)
}

/// Returns `time + offset`, saturating at the ends of the representable range.
pub fn shifted(time: Timestamp, offset: SignedDuration) -> Timestamp {
    time.checked_add(offset).unwrap_or(if offset.is_negative() {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// Describes how a finish time relates to a stop request and the grace period it allowed:
/// "finished 10s after the Killing event = terminationGracePeriodSeconds 10".
pub fn grace_period_evidence(
    finished: Timestamp,
    requested: Timestamp,
    request_name: &str,
    grace_seconds: i64,
) -> String {
    let grace_seconds = clamp_grace(grace_seconds);
    let elapsed = finished.duration_since(requested);
    let grace = SignedDuration::from_secs(grace_seconds);
    let relation = if (elapsed - grace).abs() <= SignedDuration::from_secs(2) {
        "="
    } else if elapsed > grace {
        "more than"
    } else {
        "within"
    };
    format!(
        "finished {} after {request_name} {relation} terminationGracePeriodSeconds {grace_seconds}",
        human_duration(elapsed)
    )
}

/// Returns true when a finish came at or after the end of the grace period, allowing two
/// seconds for the clocks of API server and node.
pub fn reached_grace_period(finished: Timestamp, requested: Timestamp, grace_seconds: i64) -> bool {
    let elapsed = finished.duration_since(requested);
    elapsed >= SignedDuration::from_secs(clamp_grace(grace_seconds) - 2)
}

/// Keeps a grace period from untrusted input within 0 seconds and about 31 years, so the
/// arithmetic on it cannot overflow.
fn clamp_grace(seconds: i64) -> i64 {
    seconds.clamp(0, 1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ObjectRef;

    fn event(reason: &str, count: u32, time: &str) -> EventRecord {
        let time: Timestamp = time.parse().unwrap();
        EventRecord {
            event_type: "Normal".to_owned(),
            reason: reason.to_owned(),
            message: "Container web failed liveness probe, will be restarted".to_owned(),
            count,
            first_seen: Some(time),
            last_seen: Some(time),
            object: ObjectRef::default(),
            container: None,
            reporter: None,
            host: None,
            inferred: false,
        }
    }

    #[test]
    fn single_event_shows_its_time() {
        let text = describe_event(&event("Killing", 1, "2024-07-25T13:58:59Z"));
        assert_eq!(
            text,
            "event Killing at 13:58:59Z: Container web failed liveness probe, will be restarted"
        );
    }

    #[test]
    fn repeated_event_shows_its_count() {
        let text = describe_event(&event("Unhealthy", 3, "2024-07-25T13:58:59Z"));
        assert!(text.starts_with("event Unhealthy (x3): "), "{text}");
    }

    #[test]
    fn durations_read_naturally() {
        let table = [
            (SignedDuration::from_secs(16_042), "4h27m22s"),
            (SignedDuration::from_secs(10), "10s"),
            (SignedDuration::from_secs(3600), "1h"),
            (SignedDuration::from_millis(850), "850ms"),
            (SignedDuration::from_secs(-5), "-5s"),
            (SignedDuration::from_secs(90_061), "1d1h1m1s"),
        ];
        for (duration, text) in table {
            assert_eq!(human_duration(duration), text);
        }
    }

    #[test]
    fn quote_makes_one_bounded_line() {
        let text = quote(&format!("a\nb\t{}", "x".repeat(1000)));
        assert!(text.starts_with("a b "));
        assert!(text.len() <= MAX_QUOTE_BYTES + '…'.len_utf8());
    }

    #[test]
    fn grace_period_relations() {
        let kill: Timestamp = "2024-07-25T13:58:59Z".parse().unwrap();
        let at = |seconds| shifted(kill, SignedDuration::from_secs(seconds));
        assert_eq!(
            grace_period_evidence(at(10), kill, "the Killing event", 10),
            "finished 10s after the Killing event = terminationGracePeriodSeconds 10"
        );
        assert!(grace_period_evidence(at(4), kill, "x", 30).contains("within"));
        assert!(grace_period_evidence(at(60), kill, "x", 30).contains("more than"));
        assert!(reached_grace_period(at(30), kill, 30));
        assert!(!reached_grace_period(at(4), kill, 30));
    }

    #[test]
    fn shifted_saturates() {
        assert_eq!(
            shifted(Timestamp::MAX, SignedDuration::from_secs(5)),
            Timestamp::MAX
        );
        assert_eq!(
            shifted(Timestamp::MIN, SignedDuration::from_secs(-5)),
            Timestamp::MIN
        );
    }
}
