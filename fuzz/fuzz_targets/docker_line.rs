//! Parses arbitrary bytes as one Docker json-file log line. libFuzzer reports any panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podmortem::kubelet::parse_docker_line;

fuzz_target!(|line: &[u8]| {
    let _ = parse_docker_line(line);
});
