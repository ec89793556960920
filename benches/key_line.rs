//! Cost of finding the key line and of a whole diagnosis over log tails of typical sizes.
//!
//! Run with `cargo bench --bench key_line`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use podmortem::model::{LogLine, Stream};

/// Builds a tail of `count` lines: info lines on stdout with a Java stack trace and a final
/// `Caused by:` on stderr at the end, the common shape of a crash-looping service.
fn java_tail(count: usize) -> Vec<LogLine> {
    let mut lines: Vec<LogLine> = (0..count.saturating_sub(40))
        .map(|index| LogLine {
            time: None,
            stream: Stream::Stdout,
            text: format!(
                "2024-01-01T10:00:{:02}.000Z INFO  [main] c.e.orders.OrderService - processed order {index} in 12ms user=42 region=eu-west-1",
                index % 60
            ),
            partial: false,
        })
        .collect();
    lines.push(stderr(
        "Exception in thread \"main\" java.lang.IllegalStateException: Failed to start",
    ));
    for frame in 0..36 {
        lines.push(stderr(&format!(
            "\tat com.example.orders.Boot.step{frame}(Boot.java:{frame})"
        )));
    }
    lines.push(stderr(
        "Caused by: java.net.ConnectException: Connection refused",
    ));
    lines.push(stderr(
        "\tat java.base/sun.nio.ch.Net.connect0(Native Method)",
    ));
    lines.push(stderr("\t... 30 more"));
    lines
}

fn stderr(text: &str) -> LogLine {
    LogLine {
        time: None,
        stream: Stream::Stderr,
        text: text.to_owned(),
        partial: false,
    }
}

/// Builds `count` JSON log lines of about 2 KiB each, to measure the cost of long lines.
fn json_tail(count: usize) -> Vec<LogLine> {
    let payload = "x".repeat(2000);
    (0..count)
        .map(|index| LogLine {
            time: None,
            stream: Stream::Stdout,
            text: format!(
                "{{\"level\":\"info\",\"msg\":\"request {index}\",\"body\":\"{payload}\"}}"
            ),
            partial: false,
        })
        .collect()
}

fn bench_key_line(c: &mut Criterion) {
    let mut group = c.benchmark_group("find_key_line");
    for count in [200, 2000] {
        let tail = java_tail(count);
        group.throughput(Throughput::Elements(count as u64));
        group.bench_function(format!("java_{count}_lines"), |b| {
            b.iter(|| podmortem::diagnose::find_key_line(black_box(&tail)))
        });
    }
    let tail = json_tail(200);
    group.throughput(Throughput::Elements(200));
    group.bench_function("json_200_lines_2k", |b| {
        b.iter(|| podmortem::diagnose::find_key_line(black_box(&tail)))
    });
    group.finish();
}

criterion_group!(benches, bench_key_line);
criterion_main!(benches);
