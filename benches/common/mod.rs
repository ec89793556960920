//! A generated CRI log file shared by the log benchmarks, and a CPU-time measurement.
//!
//! The file mixes stdout and stderr, containerd timestamps, blank lines and 16 KiB P chains,
//! in proportions like a chatty service. Its size is `PODMORTEM_BENCH_LOG_BYTES` (1 GiB by
//! default); it is written once per bench run into a temporary folder and removed afterwards.

#![allow(
    dead_code,
    reason = "each bench uses a different subset of these helpers"
)]

use std::io::Write;
use std::path::PathBuf;

/// Default size of the large generated log.
pub const DEFAULT_LOG_BYTES: u64 = 1 << 30;

/// Returns the size requested through `PODMORTEM_BENCH_LOG_BYTES`, or 1 GiB.
pub fn large_log_bytes() -> u64 {
    std::env::var("PODMORTEM_BENCH_LOG_BYTES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(DEFAULT_LOG_BYTES)
}

/// Writes a CRI log of at least `size` bytes to `dir/name` and returns its path.
pub fn write_cri_log(dir: &std::path::Path, name: &str, size: u64) -> PathBuf {
    let path = dir.join(name);
    let file = std::fs::File::create(&path).expect("create the bench log");
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let chunk = "x".repeat(16 * 1024);
    let mut written = 0u64;
    let mut index = 0u64;

    while written < size {
        let nanos = index % 1_000_000_000;
        let second = (index / 1_000) % 60;
        let time = format!("2024-03-01T10:00:{second:02}.{nanos:09}Z");
        let line = match index % 500 {
            0 => format!("{time} stdout P {chunk}\n{time} stdout F tail of a long line\n"),
            1 => format!("{time} stdout F \n"),
            n if n % 7 == 0 => format!(
                "{time} stderr F E0301 10:00:{second:02}.{nanos:06} 1 handler.go:88] request failed \
                 err=\"context deadline exceeded\" id={index}\n"
            ),
            _ => format!(
                "{time} stdout F {{\"level\":\"info\",\"msg\":\"request served\",\"path\":\"/api/v1/items\",\
                 \"status\":200,\"duration_ms\":{},\"id\":{index}}}\n",
                index % 977
            ),
        };
        out.write_all(line.as_bytes()).expect("write the bench log");
        written += line.len() as u64;
        index += 1;
    }
    out.flush().expect("flush the bench log");
    path
}

/// A criterion measurement of the CPU time of the benchmark thread, read from
/// `/proc/thread-self/schedstat` (Linux). On a machine shared with other work, wall time
/// includes the time the thread waited for a core; CPU time does not.
pub struct ThreadCpuTime;

/// Returns the nanoseconds the current thread has run on a CPU, or 0 where the kernel does
/// not provide `/proc/thread-self/schedstat`.
fn thread_cpu_nanos() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

impl criterion::measurement::Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        thread_cpu_nanos()
    }

    fn end(&self, start: u64) -> u64 {
        thread_cpu_nanos().saturating_sub(start)
    }

    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }

    fn zero(&self) -> u64 {
        0
    }

    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }

    fn formatter(&self) -> &dyn criterion::measurement::ValueFormatter {
        &CpuNanosFormatter
    }
}

/// Formats CPU nanoseconds like criterion's wall-time formatter.
struct CpuNanosFormatter;

impl criterion::measurement::ValueFormatter for CpuNanosFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = if typical < 1e3 {
            (1.0, "ns cpu")
        } else if typical < 1e6 {
            (1e-3, "µs cpu")
        } else if typical < 1e9 {
            (1e-6, "ms cpu")
        } else {
            (1e-9, "s cpu")
        };
        values.iter_mut().for_each(|value| *value *= factor);
        unit
    }

    fn scale_throughputs(
        &self,
        _typical: f64,
        throughput: &criterion::Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let bytes = match throughput {
            criterion::Throughput::Bytes(bytes) | criterion::Throughput::BytesDecimal(bytes) => {
                *bytes as f64
            }
            criterion::Throughput::Elements(elements) => *elements as f64,
            _ => 1.0,
        };
        values
            .iter_mut()
            .for_each(|nanos| *nanos = bytes / (*nanos * 1e-9) / (1 << 20) as f64);
        "MiB/s cpu"
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}
