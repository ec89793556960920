//! Runs the format detector on arbitrary bytes; a detected format must parse at least one of
//! the input's lines.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podmortem::kubelet::detect_format;

fuzz_target!(|head: &[u8]| {
    if let Some(format) = detect_format(head) {
        assert!(head.split(|byte| *byte == b'\n').any(|line| format.parse(line).is_ok()));
    }
});
