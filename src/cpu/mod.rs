//! The CPU path: one file per stage of the month step, each the Rust twin of
//! `shaders/<stage>.wgsl` (the GPU path). Each stage is written as a per-person (or
//! per-household) function with the shader's loop shape — one invocation per element, reading
//! and writing the same arrays — plus a driver that runs it over rayon chunks. That makes the
//! Rust slightly less idiomatic than it could be, on purpose: the two must read side by side.
//!
//! Where speed asked for it, the CPU path departs from the shader's shape without changing
//! any value (benches/README.md records why, with the measured effect):
//! - labour, health and person policy run as one fused pass ([`fused`]), which also counts
//!   each person's accounting measures; the accounting stage then counts the households;
//! - demography, the fused pass, the services demand and household policy run as *block
//!   kernels*: 256 persons (16 households) at a time, lookups in loops of their own, every
//!   branch on the data a select, so the compiler vectorises them (AVX-512 or AVX2, the widest the CPU has, chosen at run time:
//!   [`crate::simd`]); streams and draws are hashed by block (`rng::Block`);
//! - the services stage writes each of the month's requests once, as a 20-byte record, and
//!   runs the cut search and the apply pass over the records; the key-byte passes of its radix
//!   select run over the requests at each cut only;
//! - each parallel pass keeps its accumulators, histograms and block buffers per thread
//!   ([`PerThread`]) rather than per rayon task, so a month allocates, zeroes and merges a few
//!   of them instead of about a hundred;
//! - accounting counts person states and caseloads once per cell and expands them; the fused
//!   pass computes each person's accounting indices and amounts by block; the age band comes
//!   from a table.
//!
//! The per-person functions stay line for line with the WGSL and are the reference: each
//! kernel is tested lane by lane against them, and [`crate::engine::Engine::step`] against
//! the stages run one by one ([`crate::engine::Engine::step_by_stage`]).
//!
//! Reductions (event counts, aggregates) are integer sums, so chunking and thread count do not
//! change any result.

pub mod accounting;
pub mod births;
pub mod demography;
pub mod fused;
pub mod health;
pub mod household_policy;
pub mod housing;
pub mod labour;
pub mod person_policy;
pub mod services;

use crate::params::StepParams;
use crate::rng::StepKeys;
use crate::tables::Tables;

/// Persons per rayon task.
pub const CHUNK: usize = 1 << 14;

/// A table of the flat table buffer ([`Tables::words`]) as a fixed-size array, so the block
/// kernels' indices clamped below `N` need no bounds check.
#[inline(always)]
pub(crate) fn tab<const N: usize>(w: &[u32], off: usize) -> &[u32; N] {
    w[off..off + N].try_into().expect("table layout")
}

/// `a` if `c`, else `b`: the block kernels' select (branch-free once vectorised).
#[inline(always)]
pub(crate) fn sel(c: bool, a: u32, b: u32) -> u32 {
    if c {
        a
    } else {
        b
    }
}

/// 64 flags (bytes, each 0 or 1) as the bits of a word, flag t at bit t: eight flags at a
/// time by one multiply (each flag's byte lands on its own bit of the product's top byte, with
/// no carries), so a flag loop the compiler vectorises need not build the word bit by bit.
#[inline(always)]
pub(crate) fn bits_of(flags: &[u8; 64]) -> u64 {
    let mut m = 0u64;
    for (j, b8) in flags.chunks_exact(8).enumerate() {
        let x = u64::from_le_bytes(b8.try_into().expect("eight bytes"));
        m |= (x.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * j);
    }
    m
}

/// The shipped baseline scenario and its rate tables, for the kernel tests.
#[cfg(test)]
pub(crate) fn baseline_for_tests() -> (crate::scenario::Scenario, Tables) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let scenario = crate::scenario::Scenario::load(&root.join("scenarios/baseline.toml")).expect("scenario");
    let tables = Tables::build(&scenario).expect("tables");
    (scenario, tables)
}

/// What every stage reads: this month's parameters, the rate tables and the RNG keys.
pub struct Ctx<'a> {
    pub p: &'a StepParams,
    pub t: &'a Tables,
    /// Keys for this step.
    pub keys: StepKeys,
    /// Keys for persistent per-person traits (same every step).
    pub persistent: StepKeys,
}

/// One value per worker thread of the rayon pool that runs a parallel pass (its accumulators
/// and block buffers), instead of one per rayon task: a pass over 1M persons is split into
/// tens of tasks, each of which would otherwise allocate, zero and merge its own 170 KB
/// accumulators. Each closure of the pass takes its thread's value ([`PerThread::with`]); a
/// value is only ever used by one thread at a time (the lock is uncontended), and which
/// thread adds what does not change integer sums. The closure given to [`PerThread::with`]
/// must not start parallel work itself: while it waits, its thread could take another chunk
/// of the same pass and ask for the value it already holds (a deadlock).
pub(crate) struct PerThread<T>(Vec<std::sync::Mutex<T>>);

impl<T: Send> PerThread<T> {
    /// One value per thread of the current pool (the pool a parallel iterator started here runs
    /// on).
    pub fn new(init: impl Fn() -> T) -> PerThread<T> {
        PerThread((0..rayon::current_num_threads().max(1)).map(|_| std::sync::Mutex::new(init())).collect())
    }
    /// Run `f` on the calling thread's value.
    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let i = rayon::current_thread_index().unwrap_or(0) % self.0.len();
        let mut v = self.0[i].lock().unwrap_or_else(|e| e.into_inner());
        f(&mut v)
    }
    /// The values, one per thread.
    pub fn into_values(self) -> impl Iterator<Item = T> {
        self.0.into_iter().map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
    }
    /// The sum of the threads' accumulators (`acc` picks a value's accumulator).
    pub fn sum(self, acc: impl Fn(T) -> crate::measures::Acc) -> crate::measures::Acc {
        self.into_values().map(acc).reduce(|a, b| a.merge(&b)).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bits_of_packs_each_flag_to_its_bit() {
        let mut r = crate::rng::SplitMix64::new(3, 0);
        for trial in 0..2000 {
            let flags: [u8; 64] = std::array::from_fn(|t| if trial < 64 { (t == trial) as u8 } else { r.below(2) as u8 });
            let want = flags.iter().enumerate().fold(0u64, |m, (t, &f)| m | (f as u64) << t);
            assert_eq!(super::bits_of(&flags), want, "trial {trial}");
        }
    }
}
