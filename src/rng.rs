//! The counter-based random generator (MODEL.md §6): every draw is a pure function of
//! (seed, person id, step, process), so a person's fortunes do not depend on thread count,
//! backend, or on any other person, and a baseline and a reform draw the same numbers
//! (common random numbers).
//!
//! Construction, all in 32-bit integer operations so WGSL reproduces it exactly:
//! 1. per step, four round keys are derived on the CPU from (seed, step) ([`StepKeys`]);
//! 2. per person, a 4-round Feistel network with the `lowbias32` mixer turns the 64-bit person
//!    id into a 64-bit stream state ([`Stream`]); a Feistel network is a bijection, so two
//!    persons never share a stream state within a step;
//! 3. each process (death, birth, labour move, ...) draws `mix32(mix32(l ^ salt) ^ r)`.
//!
//! Keep in sync with `shaders/rng.wgsl` (GPU path).

/// Chris Wellons' `lowbias32` integer hash (hash-prospector), a bijection on u32.
#[inline(always)]
pub const fn mix32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^= x >> 16;
    x
}

const GOLDEN: u32 = 0x9e37_79b9;

/// The step index used for per-person traits that do not change over time (for example the
/// disability-assessment score): draws keyed by it are the same in every month.
pub const PERSISTENT_STEP: u32 = u32::MAX;

/// Round keys for one (seed, step). Computed once per step on the CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepKeys(pub [u32; 4]);

impl StepKeys {
    pub fn new(seed: u64, step: u32) -> StepKeys {
        let s_lo = seed as u32;
        let s_hi = (seed >> 32) as u32;
        let base = mix32(s_lo ^ mix32(s_hi ^ 0x5eed_0001));
        let mut k = [0u32; 4];
        for (r, kr) in k.iter_mut().enumerate() {
            *kr = mix32(base ^ mix32(step ^ mix32((r as u32).wrapping_mul(GOLDEN).wrapping_add(0x0bad_5eed))));
        }
        StepKeys(k)
    }
}

/// A person's random stream for one step.
/// Keys of the month's baby-id permutation (the same for every seed and scenario).
pub fn baby_keys(month: u32) -> StepKeys {
    StepKeys::new(0xba5e_ba11_0b1d, month)
}

/// The id of a baby born in a month to the mother with id (lo, hi): 2^63 plus 63 bits of the
/// mother's id under a Feistel permutation keyed by the absolute month. It depends on nothing
/// but the mother and the month, so a baby has the same id (and so the same random draws) in a
/// baseline and its reform even when policy changes other births, and no prefix over births
/// is needed. Within a month the permutation maps distinct mothers to distinct 64-bit words;
/// dropping the top bit, and babies of different months, leave a chance of two equal ids of
/// about B²/2^64 for B births in a run (about 3·10⁻⁶ for the UK over ten years).
#[inline(always)]
pub fn baby_id(keys: &StepKeys, mother_lo: u32, mother_hi: u32) -> u64 {
    let s = stream(keys, mother_lo, mother_hi);
    (1u64 << 63) | ((s.r & 0x7fff_ffff) as u64) << 32 | s.l as u64
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stream {
    pub l: u32,
    pub r: u32,
}

#[inline(always)]
pub fn stream(keys: &StepKeys, id_lo: u32, id_hi: u32) -> Stream {
    let mut l = id_lo;
    let mut r = id_hi;
    // 4 Feistel rounds: (l, r) -> (r, l ^ F(r, k))
    let mut i = 0;
    while i < 4 {
        let t = l ^ mix32(r ^ keys.0[i]);
        l = r;
        r = t;
        i += 1;
    }
    Stream { l, r }
}

/// Persons per block of [`Block`].
pub const BLOCK: usize = 256;

/// The streams of a block of up to [`BLOCK`] consecutive persons, and the draws every person
/// of a stage makes, computed lane by lane in loops the compiler vectorises (the CPU path's
/// stages then read them instead of hashing person by person; the values are those of
/// [`stream`] and [`draw`]).
pub struct Block {
    pub l: [u32; BLOCK],
    pub r: [u32; BLOCK],
    /// Draws of up to eight processes, in the order given to [`Block::fill`].
    pub d: [[u32; BLOCK]; 8],
}

impl Block {
    pub fn new() -> Box<Block> {
        Box::new(Block { l: [0; BLOCK], r: [0; BLOCK], d: [[0; BLOCK]; 8] })
    }
    /// Fill the streams of persons with ids (`lo`, `hi`) (at most [`BLOCK`]) and their draws for
    /// `processes`.
    pub fn fill(&mut self, keys: &StepKeys, lo: &[u32], hi: &[u32], processes: &[Process]) {
        self.fill_at(crate::simd::level(), keys, lo, hi, processes)
    }
    /// [`Block::fill`] at a chosen level of vector instructions (at most the CPU's).
    pub fn fill_at(&mut self, level: crate::simd::Level, keys: &StepKeys, lo: &[u32], hi: &[u32], processes: &[Process]) {
        fill_at_level(level, self, keys, lo, hi, processes)
    }
    #[inline(always)]
    fn fill_generic(&mut self, keys: &StepKeys, lo: &[u32], hi: &[u32], processes: &[Process]) {
        let n = lo.len().min(BLOCK);
        let (lo, hi) = (&lo[..n], &hi[..n]);
        let (l, r) = (&mut self.l[..n], &mut self.r[..n]);
        for k in 0..n {
            let s = stream(keys, lo[k], hi[k]);
            l[k] = s.l;
            r[k] = s.r;
        }
        for (d, &p) in self.d.iter_mut().zip(processes) {
            let salt = p.salt();
            let d = &mut d[..n];
            for k in 0..n {
                d[k] = mix32(mix32(l[k] ^ salt) ^ r[k]);
            }
        }
    }
    /// The stream of person `k` of the block.
    #[inline(always)]
    pub fn stream(&self, k: usize) -> Stream {
        Stream { l: self.l[k], r: self.r[k] }
    }
}

/// One uniform 32-bit draw for a process.
#[inline(always)]
pub fn draw(s: Stream, process: Process) -> u32 {
    mix32(mix32(s.l ^ process.salt()) ^ s.r)
}

/// Is an event with this 32-bit threshold drawn? (`threshold = round(p * 2^32)`.)
#[inline(always)]
pub fn happens(s: Stream, process: Process, threshold: u32) -> bool {
    draw(s, process) < threshold
}

/// The random processes. The number is part of the determinism contract: renumbering one
/// changes every result that depends on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Process {
    Death = 1,
    Birth = 2,
    BirthSex = 3,
    EducationLeave = 4,
    EducationDestination = 5,
    Labour = 6,
    Retire = 7,
    EarningsEntry = 8,
    EarningsGrowth = 9,
    Health = 10,
    Care = 11,
    /// Persistent (drawn with [`PERSISTENT_STEP`]).
    DisabilityScore = 12,
    /// Persistent: month of birth within the year, for ages read in completed years.
    BirthMonth = 13,
    Eviction = 14,
    GpDemand = 15,
    AeDemand = 16,
    HospitalDemand = 17,
    EmploymentDemand = 18,
    LengthOfStay = 19,
    Queue = 20,
}

impl Process {
    #[inline(always)]
    pub const fn salt(self) -> u32 {
        mix32((self as u32).wrapping_mul(GOLDEN) ^ 0x7a11_0c8d)
    }
}

crate::simd::at_level!(
    /// [`Block::fill`]'s loops at a level of vector instructions.
    fn fill_at_level(blk: &mut Block, keys: &StepKeys, lo: &[u32], hi: &[u32], processes: &[Process]) = Block::fill_generic
);

/// A small sequential generator (splitmix64) for work that is not per-person-per-step, such as
/// building a synthetic population chunk. Not used inside the month step.
#[derive(Clone, Debug)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn new(seed: u64, stream_id: u64) -> Self {
        let mut s = SplitMix64(seed ^ stream_id.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        s.next_u64();
        s
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }
    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.f64();
        let u2 = self.f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    /// Index drawn from unnormalised weights.
    pub fn pick(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.f64() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block's streams and draws, at every level of vector instructions, against the
    /// per-person functions.
    #[test]
    fn block_draws_match_the_per_person_draws() {
        let mut r = SplitMix64::new(8, 3);
        let procs = [Process::Death, Process::Birth, Process::Labour, Process::Health, Process::Care, Process::Queue, Process::Retire, Process::Eviction];
        for trial in 0..20u32 {
            let keys = StepKeys::new(r.next_u64(), trial);
            let n = 1 + r.below(BLOCK as u64) as usize;
            let lo: Vec<u32> = (0..n).map(|_| r.next_u64() as u32).collect();
            let hi: Vec<u32> = (0..n).map(|_| r.below(3) as u32).collect();
            for level in crate::simd::levels() {
                let mut b = Block::new();
                b.fill_at(level, &keys, &lo, &hi, &procs);
                for k in 0..n {
                    let st = stream(&keys, lo[k], hi[k]);
                    assert_eq!(b.stream(k), st, "{level:?} trial {trial} lane {k}: stream");
                    for (j, &p) in procs.iter().enumerate() {
                        assert_eq!(b.d[j][k], draw(st, p), "{level:?} trial {trial} lane {k}: {p:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn draws_depend_on_every_key_part() {
        let k = StepKeys::new(42, 7);
        let base = draw(stream(&k, 1000, 0), Process::Death);
        assert_ne!(base, draw(stream(&k, 1001, 0), Process::Death), "person id");
        assert_ne!(base, draw(stream(&k, 1000, 1), Process::Death), "person id high word");
        assert_ne!(base, draw(stream(&k, 1000, 0), Process::Birth), "process");
        assert_ne!(base, draw(stream(&StepKeys::new(42, 8), 1000, 0), Process::Death), "step");
        assert_ne!(base, draw(stream(&StepKeys::new(43, 7), 1000, 0), Process::Death), "seed");
        assert_eq!(base, draw(stream(&StepKeys::new(42, 7), 1000, 0), Process::Death), "pure function");
    }

    #[test]
    fn draws_are_roughly_uniform_and_thresholds_work() {
        let k = StepKeys::new(1, 0);
        let n = 200_000u32;
        let mut buckets = [0u32; 16];
        let mut hits = 0u32;
        let threshold = (0.1f64 * 4294967296.0) as u32;
        for id in 0..n {
            let s = stream(&k, id, 0);
            buckets[(draw(s, Process::Labour) >> 28) as usize] += 1;
            hits += happens(s, Process::Death, threshold) as u32;
        }
        let expect = n as f64 / 16.0;
        for b in buckets {
            assert!((b as f64 - expect).abs() < 5.0 * expect.sqrt(), "bucket {b} vs {expect}");
        }
        let sd = (n as f64 * 0.1 * 0.9).sqrt();
        assert!((hits as f64 - n as f64 * 0.1).abs() < 5.0 * sd, "hits {hits}");
    }

    #[test]
    fn consecutive_ids_are_not_correlated() {
        // the fraction of neighbouring ids whose draws both fall below 1/2 should be ~1/4
        let k = StepKeys::new(9, 3);
        let n = 100_000u32;
        let mut both = 0u32;
        for id in 0..n {
            let a = draw(stream(&k, id, 0), Process::Health) < 1 << 31;
            let b = draw(stream(&k, id + 1, 0), Process::Health) < 1 << 31;
            both += (a && b) as u32;
        }
        let sd = (n as f64 * 0.25 * 0.75).sqrt();
        assert!((both as f64 - n as f64 * 0.25).abs() < 5.0 * sd, "{both}");
    }
}
