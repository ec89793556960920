//! Benchmarks of the SQLite store on a database of realistic records: batched inserts of a
//! million records, and the filtered query behind `podmortem list`.
//!
//! Run with `cargo bench --bench store`. The database is built once per run in a temporary
//! folder, and that build is the insert measurement (printed as records per second). Without
//! `--bench` (as under `cargo test --benches`) a 10,000-record database is used so the run
//! stays short. `PODMORTEM_BENCH_RECORDS` overrides the size.

#[path = "../tests/store_fixtures/mod.rs"]
mod store_fixtures;

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput};
use jiff::SignedDuration;
use podmortem::model::{CauseKind, Termination};
use podmortem::store::{Filter, SqliteStore, Store};

/// Records per `upsert` call. The size is a choice for the benchmark: large enough that the
/// cost of one commit is spread over many records.
const BATCH: u64 = 10_000;

struct Database {
    _folder: tempfile::TempDir,
    path: PathBuf,
    records: u64,
}

fn record_count() -> u64 {
    if let Some(count) = std::env::var("PODMORTEM_BENCH_RECORDS")
        .ok()
        .and_then(|value| value.parse().ok())
    {
        return count;
    }
    if std::env::args().any(|arg| arg == "--bench") {
        1_000_000
    } else {
        10_000
    }
}

/// Builds the database in batches of [`BATCH`] and prints the insert rate, counting only the
/// time spent in `upsert`, not the time to generate the records.
fn build_database(records: u64) -> Database {
    let folder = tempfile::tempdir().expect("create a temporary folder");
    let path = folder.path().join("bench.db");
    let mut store = SqliteStore::open(&path).expect("open the benchmark database");

    let mut elapsed = Duration::ZERO;
    let mut start = 0;
    while start < records {
        let end = (start + BATCH).min(records);
        let batch: Vec<Termination> = (start..end).map(store_fixtures::synthetic).collect();
        let began = Instant::now();
        store.upsert(&batch).expect("insert a batch");
        elapsed += began.elapsed();
        start = end;
    }

    let size = fs_err::metadata(&path).map_or(0, |metadata| metadata.len());
    println!(
        "built {records} records in {:.1} s of upsert: {:.0} records/s, database {} MiB",
        elapsed.as_secs_f64(),
        records as f64 / elapsed.as_secs_f64(),
        size / (1024 * 1024)
    );
    Database {
        _folder: folder,
        path,
        records,
    }
}

fn bench_upsert(criterion: &mut Criterion, database: &Database) {
    let mut store = SqliteStore::open(&database.path).expect("open the benchmark database");
    let mut group = criterion.benchmark_group("upsert");
    group.sample_size(10);
    group.throughput(Throughput::Elements(BATCH));

    let mut next = database.records;
    group.bench_function("10k_new_records", |bencher| {
        bencher.iter_batched(
            || {
                let batch: Vec<Termination> = (next..next + BATCH)
                    .map(store_fixtures::synthetic)
                    .collect();
                next += BATCH;
                batch
            },
            |batch| store.upsert(black_box(&batch)).expect("insert a batch"),
            BatchSize::PerIteration,
        );
    });

    let known: Vec<Termination> = (0..BATCH.min(database.records))
        .map(store_fixtures::synthetic)
        .collect();
    group.bench_function("10k_unchanged_records", |bencher| {
        bencher.iter(|| store.upsert(black_box(&known)).expect("merge a batch"));
    });
    group.finish();
}

fn bench_query(criterion: &mut Criterion, database: &Database) {
    let store = SqliteStore::open_existing(&database.path).expect("open the benchmark database");
    let newest = store_fixtures::synthetic(database.records.saturating_sub(1));
    let since = newest
        .finished_at
        .expect("synthetic records have a finish time")
        - SignedDuration::from_hours(24 * 7);
    let mut group = criterion.benchmark_group("query");

    let filtered = Filter {
        namespace: Some("team-07".into()),
        cause: Some(CauseKind::OomKilled),
        since: Some(since),
        limit: Some(100),
        ..Filter::default()
    };
    let found = store.query(&filtered).expect("query").len();
    println!("namespace + cause + since, limit 100: {found} records");
    group.bench_function("namespace_cause_since_limit_100", |bencher| {
        bencher.iter(|| store.query(black_box(&filtered)).expect("query"));
    });

    let unfiltered = Filter {
        limit: Some(100),
        ..Filter::default()
    };
    group.bench_function("no_filter_limit_100", |bencher| {
        bencher.iter(|| store.query(black_box(&unfiltered)).expect("query"));
    });

    group.bench_function("pod_history", |bencher| {
        bencher.iter(|| {
            store
                .pod_history(black_box("team-07"), black_box(&newest.pod), None)
                .expect("query")
        });
    });
    group.finish();
}

/// Measures JSON encoding alone, the share of an insert spent outside SQLite.
fn bench_encode(criterion: &mut Criterion) {
    let batch: Vec<Termination> = (0..BATCH).map(store_fixtures::synthetic).collect();
    let bytes: usize = batch
        .iter()
        .map(|record| serde_json::to_string(record).map_or(0, |json| json.len()))
        .sum();
    println!(
        "synthetic records: {} bytes of JSON each on average",
        bytes / batch.len()
    );

    let mut group = criterion.benchmark_group("encode");
    group.sample_size(10);
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("10k_records_to_json", |bencher| {
        bencher.iter(|| {
            for record in &batch {
                black_box(serde_json::to_string(black_box(record)).expect("encode"));
            }
        });
    });
    group.finish();
}

fn main() {
    let database = build_database(record_count());
    let mut criterion = Criterion::default().configure_from_args();

    bench_encode(&mut criterion);
    bench_query(&mut criterion, &database);
    bench_upsert(&mut criterion, &database);
    criterion.final_summary();
}
