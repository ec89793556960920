//! Decodes arbitrary bytes as a log, whole and in chunks of a size taken from the first byte.
//! Both must give the same lines, and no line may exceed the merger's bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podmortem::kubelet::{Decoder, MAX_LINE_BYTES, decode_all};

fuzz_target!(|data: &[u8]| {
    let Some((first, bytes)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(*first).max(1);

    let (whole, _) = decode_all(bytes, None);
    let mut decoder = Decoder::new(None);
    let mut chunked = Vec::new();
    for piece in bytes.chunks(chunk) {
        decoder.feed(piece, &mut chunked);
    }
    decoder.finish(&mut chunked);

    assert_eq!(whole, chunked);
    // Lossy decoding turns each invalid byte into U+FFFD, three bytes of UTF-8.
    assert!(whole.iter().all(|line| line.text.len() <= 3 * MAX_LINE_BYTES));
});
