//! A full parse and merge of a generated CRI log on one core, in bytes per second.
//!
//! `cargo bench --bench log_parse` (add `-- --quick` for a short run; set
//! `PODMORTEM_BENCH_LOG_BYTES` to change the file's size, 1 GiB by default). The file is read
//! through the page cache, as `podmortem log` reads it. `owned` builds a `LogLine` with its
//! own `String` per line; `borrowed` decodes each line's text in place, as a printer can.

mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::Measurement;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use podmortem::kubelet::{Decoder, InstanceLog, LineRef, LineSink};

/// Counts the bytes of each line's decoded text.
#[derive(Default)]
struct TextBytes(u64);

impl LineSink for TextBytes {
    fn line(&mut self, line: LineRef<'_>) {
        self.0 += line.text().len() as u64;
    }
}

fn bench_parse_wall(c: &mut Criterion) {
    bench_parse(c, "parse_and_merge");
}

fn bench_parse_cpu(c: &mut Criterion<common::ThreadCpuTime>) {
    bench_parse(c, "parse_and_merge_cpu");
}

fn bench_parse<M: Measurement + 'static>(c: &mut Criterion<M>, name: &str) {
    let dir = tempfile::tempdir().expect("create a temporary folder");
    let size = common::large_log_bytes();
    let path = common::write_cri_log(dir.path(), "large.log", size);
    let opened = InstanceLog::open(std::slice::from_ref(&path));
    let small = std::fs::read(common::write_cri_log(dir.path(), "small.log", 64 << 20))
        .expect("read the small log");

    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Bytes(
        opened.log.byte_len().expect("measure the log"),
    ));
    group.bench_function("file_owned", |b| {
        b.iter(|| {
            let mut count = 0u64;
            opened
                .log
                .decode(&mut |line| {
                    count += line.text.len() as u64;
                    Ok(())
                })
                .expect("decode the log");
            black_box(count)
        })
    });
    group.bench_function("file_borrowed", |b| {
        b.iter(|| {
            let mut sink = TextBytes::default();
            let report = opened.log.decode_with(&mut sink);
            assert!(report.unreadable.is_empty());
            black_box(sink.0)
        })
    });

    group.throughput(Throughput::Bytes(small.len() as u64));
    group.bench_function("memory_64MiB_borrowed", |b| {
        b.iter(|| {
            let mut sink = TextBytes::default();
            let mut decoder = Decoder::new(None);
            decoder.feed(&small, &mut sink);
            decoder.finish(&mut sink);
            black_box(sink.0)
        })
    });
    group.finish();
}

// Wall time, then the CPU time of the thread, which stays meaningful when other work shares
// the cores.
criterion_group!(benches, bench_parse_wall);
criterion_group! {
    name = cpu_benches;
    config = Criterion::default().with_measurement(common::ThreadCpuTime);
    targets = bench_parse_cpu
}
criterion_main!(benches, cpu_benches);
