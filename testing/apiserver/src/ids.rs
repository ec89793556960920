//! Identifiers and times in the formats the API server and kubelet write: version-4 style
//! uids, 64-hex-digit container ids, `generateName` suffixes, and RFC 3339 times with whole
//! seconds (`metav1.Time`) or with nine fraction digits (kubelet's log timestamps).

use jiff::Timestamp;

/// The characters the API server draws `generateName` suffixes from: no vowels and no digits
/// that read like letters, as in apimachinery's `utilrand.String`.
const SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// A deterministic source of identifiers, so test runs are reproducible.
#[derive(Debug)]
pub struct IdGenerator {
    state: u64,
}

impl Default for IdGenerator {
    fn default() -> Self {
        IdGenerator {
            state: 0x5eed_0f9a_d3c0_de42,
        }
    }
}

impl IdGenerator {
    /// Returns the next pseudo-random number (splitmix64).
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Returns a new uid in the 8-4-4-4-12 form with the version-4 and variant bits set.
    pub fn uid(&mut self) -> String {
        let high = self.next();
        let low = self.next();
        let version = (high & !0xf000) | 0x4000;
        let variant = (low & !(0xc << 60)) | (0x8 << 60);
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            version >> 32,
            (version >> 16) & 0xffff,
            version & 0xffff,
            variant >> 48,
            variant & 0xffff_ffff_ffff
        )
    }

    /// Returns a new container id: `runtime://` and 64 hex digits, as containerd and CRI-O
    /// report them.
    pub fn container_id(&mut self, runtime: &str) -> String {
        let digits: String = (0..4).map(|_| format!("{:016x}", self.next())).collect();
        format!("{runtime}://{digits}")
    }

    /// Returns a 5-character suffix for `metadata.generateName`.
    pub fn suffix(&mut self) -> String {
        (0..5)
            .map(|_| {
                let index = usize::try_from(self.next() % SUFFIX_ALPHABET.len() as u64);
                let byte = index.ok().and_then(|i| SUFFIX_ALPHABET.get(i)).copied();
                char::from(byte.unwrap_or(b'x'))
            })
            .collect()
    }
}

/// Returns the current time.
pub fn now() -> Timestamp {
    Timestamp::now()
}

/// Formats a time as `metav1.Time` does: RFC 3339 in UTC with whole seconds.
pub fn format_time_seconds(time: Timestamp) -> String {
    jiff::fmt::strtime::format("%Y-%m-%dT%H:%M:%SZ", time).unwrap_or_default()
}

/// Formats a time as kubelet prefixes log lines with `timestamps=true`: RFC 3339 in UTC with
/// exactly nine fraction digits (Go layout `2006-01-02T15:04:05.000000000Z07:00`).
pub fn format_time_nanos(time: Timestamp) -> String {
    let seconds = format_seconds_only(time);
    format!("{seconds}.{:09}Z", time.subsec_nanosecond())
}

fn format_seconds_only(time: Timestamp) -> String {
    jiff::fmt::strtime::format("%Y-%m-%dT%H:%M:%S", time).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_has_version_four_layout() {
        let uid = IdGenerator::default().uid();

        let groups: Vec<_> = uid.split('-').map(str::len).collect();
        assert_eq!(groups, vec![8, 4, 4, 4, 12]);
        assert_eq!(uid.as_bytes()[14], b'4');
    }

    #[test]
    fn container_id_has_64_hex_digits() {
        let id = IdGenerator::default().container_id("containerd");

        let digits = id.strip_prefix("containerd://").unwrap();
        assert_eq!(digits.len(), 64);
        assert!(digits.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn log_timestamp_keeps_nine_digits() {
        let time: Timestamp = "2024-05-01T10:00:00.5Z".parse().unwrap();

        assert_eq!(format_time_nanos(time), "2024-05-01T10:00:00.500000000Z");
        assert_eq!(format_time_seconds(time), "2024-05-01T10:00:00Z");
    }
}
