//! The last 200 lines of a 1 MiB and a 1 GiB CRI log, by podmortem's reader from the end and by
//! `tail -n 200` on the same files.
//!
//! `cargo bench --bench log_tail` (add `-- --quick` for a short run; set
//! `PODMORTEM_BENCH_LOG_BYTES` to change the large file's size).

mod common;

use std::hint::black_box;
use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use podmortem::kubelet::{InstanceLog, TailOptions, tail};

fn bench_tail(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("create a temporary folder");
    let files = [
        (
            "1MiB",
            common::write_cri_log(dir.path(), "small.log", 1 << 20),
        ),
        (
            "large",
            common::write_cri_log(dir.path(), "large.log", common::large_log_bytes()),
        ),
    ];

    let mut group = c.benchmark_group("tail_200_lines");
    group
        .sample_size(50)
        .measurement_time(Duration::from_secs(5));
    for (label, path) in &files {
        group.bench_with_input(BenchmarkId::new("podmortem", label), path, |b, path| {
            b.iter(|| {
                let opened = InstanceLog::open(std::slice::from_ref(path));
                let read = tail(&opened.log, &TailOptions::new(200)).expect("read the tail");
                black_box(read.lines.len())
            })
        });
        group.bench_with_input(BenchmarkId::new("tail_n_200", label), path, |b, path| {
            b.iter(|| {
                let status = Command::new("tail")
                    .arg("-n")
                    .arg("200")
                    .arg(path)
                    .stdout(Stdio::null())
                    .status()
                    .expect("run tail");
                black_box(status.success())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_tail);
criterion_main!(benches);
