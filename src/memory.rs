//! The host memory a run needs, estimated before it starts, and the memory available (Linux:
//! `MemAvailable`, and the cgroup's limit when the process runs in one, as under Slurm or
//! Kubernetes), so a run that cannot fit is refused with a clear message instead of being
//! killed by the kernel hours in.
//!
//! The estimate adds what the run holds at its peak (the figures are `src/state.rs`'s layout):
//! - the loaded population, kept for every scenario: 32 bytes per person, 28 per household;
//! - the engine's state: 32 bytes per person (the births stage moves it in place, with no
//!   second buffer), 20 for the month's person-level outputs; 68 per household;
//! - the services stage's records of the month's requests (20 bytes for each of about 0.44
//!   requests per person, in per-chunk vectors that may hold up to twice that) and other
//!   per-month buffers: 20 bytes per person;
//! - with reforms, the distribution table's inputs: 9 bytes per household per simulated year
//!   (the baseline's income, and its decile), 8 for the year under way, 14 of household
//!   facts, 4 for the month's incomes, and 12 for the year's ranking (an equivalised income,
//!   and the index of a household tied at a decile's first income, at most one each; 16 with
//!   the sort of (income, index) pairs before the twenty-fourth session);
//! - 96 MiB for the program, its libraries and the aggregates;
//! - with snapshots, 80 MiB a thread: each thread encodes a row group of 2^20 persons at once.
//!
//! Checked against measured peaks (`/usr/bin/time -v`): the whole UK (67.6M persons, 28.6M
//! households, ten years, no reform) estimate 9.2 GiB, measured 8.9 GiB (README); the same
//! with one reform, estimate 12.6 GiB, measured 12.2 GiB; 1M persons, a year, one reform:
//! estimate 265 MB, measured 238 MB. The GPU path's device memory is
//! estimated by [`crate::gpu::engine::device_bytes`] and checked against the adapter's
//! largest device-local memory heap when the GPU engine starts, before it allocates.

use std::fmt;

pub const PER_PERSON: u64 = 32 + 32 + 20 + 20;
pub const PER_HOUSEHOLD: u64 = 28 + 68;
pub const FIXED: u64 = 96 << 20;

#[derive(Clone, Copy, Debug)]
pub struct Estimate {
    pub persons: u64,
    pub households: u64,
    pub bytes: u64,
    /// Of `bytes`, the snapshots' row groups encoded at once ([`Estimate::with_snapshots`]).
    pub snapshot_bytes: u64,
}

/// A thread's share of writing a snapshot: the row group (2^20 persons) it encodes, its
/// encoded pages (about 19 MB at the synthetic population's compression), its column
/// writers' dictionaries and pages in progress, and a slice's arrays. Measured at 10M
/// persons (peak RSS with one yearly snapshot less without, twenty-third session): 85 MiB
/// with one thread, 158 MiB with two.
pub const SNAPSHOT_GROUP: u64 = 80 << 20;

/// What a run of `persons` and `households` for `years` needs on the host.
pub fn estimate(persons: u64, households: u64, years: u64, reforms: bool) -> Estimate {
    let mut per_h = PER_HOUSEHOLD;
    if reforms {
        per_h += 9 * years + 8 + 14 + 4 + 12;
    }
    Estimate { persons, households, bytes: FIXED + persons * PER_PERSON + households * per_h, snapshot_bytes: 0 }
}

impl Estimate {
    /// With person snapshots written by `threads` threads, each encoding a row group at once
    /// (`output::SnapshotWriter`).
    pub fn with_snapshots(mut self, threads: usize) -> Estimate {
        self.snapshot_bytes = threads.max(1) as u64 * SNAPSHOT_GROUP;
        self.bytes += self.snapshot_bytes;
        self
    }
}

pub fn gib(b: u64) -> f64 {
    b as f64 / (1u64 << 30) as f64
}

/// Bytes in GiB from 1 GiB up, else in MiB.
pub fn human(b: u64) -> String {
    if b >= 1 << 30 {
        format!("{:.1} GiB", gib(b))
    } else {
        format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64)
    }
}

impl fmt::Display for Estimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "about {:.1} GiB ({} persons x {} bytes + {} households, + 96 MiB", gib(self.bytes), self.persons, PER_PERSON, self.households)?;
        if self.snapshot_bytes > 0 {
            write!(f, " + {} for the snapshots' row groups", human(self.snapshot_bytes))?;
        }
        write!(f, ")")
    }
}

fn meminfo_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kb| kb * 1024)
}

/// The cgroup (v2) limit less what the cgroup uses now, if there is a limit.
fn cgroup_available() -> Option<u64> {
    let max = std::fs::read_to_string("/sys/fs/cgroup/memory.max").ok()?;
    let max: u64 = max.trim().parse().ok()?; // "max" (no limit) does not parse
    let cur: u64 = std::fs::read_to_string("/sys/fs/cgroup/memory.current").ok()?.trim().parse().ok()?;
    Some(max.saturating_sub(cur))
}

/// Memory this process can still use, if it can be told. `POLICY_TWIN_TEST_AVAILABLE_MEMORY`
/// (bytes) overrides it, for tests.
pub fn available() -> Option<u64> {
    if let Some(v) = std::env::var("POLICY_TWIN_TEST_AVAILABLE_MEMORY").ok().and_then(|v| v.parse().ok()) {
        return Some(v);
    }
    match (meminfo_available(), cgroup_available()) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// This process's peak resident set so far (Linux `VmHWM`), bytes.
pub fn peak_rss() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kb| kb * 1024)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_uk_estimate_is_close_to_the_measured_peak() {
        // 67.6M persons, 28.6M households, ten years, no reform: measured 8.93 GiB (9,361,344
        // KB, births in place); the estimate may be above it, by at most 5%
        let e = super::estimate(67_600_000, 28_600_000, 10, false);
        let g = super::gib(e.bytes);
        assert!((8.93..9.37).contains(&g), "{g}");
        assert!(super::estimate(1000, 400, 10, true).bytes > super::estimate(1000, 400, 10, false).bytes);
        let s = super::estimate(1000, 400, 10, false).with_snapshots(4);
        assert_eq!(s.bytes - super::estimate(1000, 400, 10, false).bytes, 4 * super::SNAPSHOT_GROUP);
        assert!(s.to_string().ends_with("+ 320.0 MiB for the snapshots' row groups)"), "{s}");
        // the same with a reform (twenty-fourth session, the deciles by selection, each
        // year's kept): measured 13,047,627,776 bytes (the manifest's peak RSS; 12,741,824 KB
        // by /usr/bin/time -v); at or above it, by at most 5%
        let r = super::estimate(67_600_000, 28_644_076, 10, true).bytes as f64;
        assert!((13_047_627_776.0..13_047_627_776.0 * 1.05).contains(&r), "{r}");
    }
}
