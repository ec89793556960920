//! Parses arbitrary bytes as one CRI log line. libFuzzer reports any panic, and the target
//! asserts that a parsed record's content is a suffix of the line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podmortem::kubelet::parse_cri_line;

fuzz_target!(|line: &[u8]| {
    if let Ok(record) = parse_cri_line(line) {
        assert!(line.ends_with(&record.content));
    }
});
