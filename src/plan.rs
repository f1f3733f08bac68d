//! Replicates and batch tasks.
//!
//! A run's plan is its replicates: replicate `r` runs the baseline and every reform with the
//! seed [`replicate_seed`]`(seed, r)`, so the reforms of a replicate are paired with its
//! baseline (common random numbers). A replicate is the unit of work a batch task takes: its
//! reforms stay with its baseline because the comparison and distribution tables compare each
//! household with itself in the baseline.
//!
//! A plan of `R` replicates is split into `N` independent tasks: task `i` (0-based) runs the
//! replicates `r` with `r % N == i`. Each task writes its replicates as parts
//! (`OUT/replicates/rNNNN/`), and `twin merge` joins the parts into the outputs a single
//! process writes, byte for byte (a single process writes the same parts and joins them the
//! same way).
//!
//! Where the task comes from, in order: `--task i/N` (i from 0); a Slurm array task
//! (`SLURM_ARRAY_TASK_ID` − `SLURM_ARRAY_TASK_MIN` of `SLURM_ARRAY_TASK_COUNT`, or, when the
//! count is given with `--task-count` or `POLICY_TWIN_TASK_COUNT`, `SLURM_ARRAY_TASK_ID` of
//! that count, so failed tasks can be resubmitted alone); a
//! Kubernetes Indexed Job (`JOB_COMPLETION_INDEX`, with the count from `--task-count` or
//! `POLICY_TWIN_TASK_COUNT`, since Kubernetes does not pass the job's completions to a pod).

use crate::error::{Error, Result};

/// The seed of replicate `r`: the run's seed itself for replicate 0 (so a run with one
/// replicate is the run it always was), else a SplitMix64 mix of (seed, r).
pub fn replicate_seed(seed: u64, r: u32) -> u64 {
    if r == 0 {
        return seed;
    }
    let mut x = seed ^ (r as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// One task of a plan split `count` ways.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Task {
    pub index: u32,
    pub count: u32,
    /// Where the task came from, for messages: "--task", "Slurm", "Kubernetes", or "" for a
    /// single process.
    pub source: &'static str,
}

impl Task {
    pub const SINGLE: Task = Task { index: 0, count: 1, source: "" };

    /// The task from `--task i/N`, or the scheduler's environment, or a single process.
    pub fn resolve(flag: Option<&str>, count_flag: Option<u32>, env: &dyn Fn(&str) -> Option<String>) -> Result<Task> {
        let num = |name: &str, v: &str| -> Result<u32> { v.trim().parse::<u32>().map_err(|_| Error::Config(format!("{name}=`{v}` is not a whole number"))) };
        if let Some(t) = flag {
            let (i, n) = t.split_once('/').ok_or_else(|| Error::Config(format!("--task `{t}`: expected i/N, e.g. 0/4 (i from 0)")))?;
            return Task::new(num("--task index", i)?, num("--task count", n)?, "--task");
        }
        let given_count = match count_flag {
            Some(c) => Some(c),
            None => env("POLICY_TWIN_TASK_COUNT").map(|v| num("POLICY_TWIN_TASK_COUNT", &v)).transpose()?,
        };
        if let Some(id) = env("SLURM_ARRAY_TASK_ID") {
            let id = num("SLURM_ARRAY_TASK_ID", &id)?;
            if let Some(count) = given_count {
                // the plan's count given: the array index is the task index itself, so failed
                // tasks can be resubmitted alone (sbatch --array=3,7)
                return Task::new(id, count, "Slurm");
            }
            let min = env("SLURM_ARRAY_TASK_MIN").map(|v| num("SLURM_ARRAY_TASK_MIN", &v)).transpose()?.unwrap_or(0);
            let count = match env("SLURM_ARRAY_TASK_COUNT") {
                Some(v) => num("SLURM_ARRAY_TASK_COUNT", &v)?,
                None => return Err(Error::Config("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not: run as a Slurm job array (sbatch --array)".into())),
            };
            if let Some(step) = env("SLURM_ARRAY_TASK_STEP") {
                if num("SLURM_ARRAY_TASK_STEP", &step)? != 1 {
                    return Err(Error::Config(format!("SLURM_ARRAY_TASK_STEP={step}: the array must be a contiguous range (--array=0-{})", count.saturating_sub(1))));
                }
            }
            let index = id.checked_sub(min).ok_or_else(|| Error::Config(format!("SLURM_ARRAY_TASK_ID={id} is below SLURM_ARRAY_TASK_MIN={min}")))?;
            return Task::new(index, count, "Slurm");
        }
        if let Some(idx) = env("JOB_COMPLETION_INDEX") {
            let Some(count) = given_count else {
                return Err(Error::Config("JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job): give the number of tasks with --task-count N or POLICY_TWIN_TASK_COUNT (the Job's completions)".into()));
            };
            return Task::new(num("JOB_COMPLETION_INDEX", &idx)?, count, "Kubernetes");
        }
        if let Some(c) = count_flag {
            return Err(Error::Config(format!("--task-count {c} without a task index: give --task i/{c}, or run as a Kubernetes Indexed Job (JOB_COMPLETION_INDEX)")));
        }
        Ok(Task::SINGLE)
    }

    fn new(index: u32, count: u32, source: &'static str) -> Result<Task> {
        if count == 0 || index >= count {
            return Err(Error::Config(format!("task {index} of {count} ({source}): the index must be below the count, counting from 0")));
        }
        Ok(Task { index, count, source })
    }

    /// The replicates of a plan of `replicates` this task runs.
    pub fn replicates(&self, replicates: u32) -> Vec<u32> {
        (0..replicates).filter(|r| r % self.count == self.index).collect()
    }

    /// Whether this is a process of its own rather than a task of a batch array (even an array
    /// of one task writes parts and leaves the merge to `twin merge`, which its job expects).
    pub fn is_single(&self) -> bool {
        self.source.is_empty()
    }
}

/// Statistics of one measure across replicates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (n − 1 in the denominator; 0 for one value).
    pub sd: f64,
    /// The 5th and 95th percentiles: a 90% interval of the values.
    pub p05: f64,
    pub p95: f64,
}

/// Percentile `q` (0..=1) of sorted values, interpolated linearly between order statistics
/// (the default of numpy, R's type 7).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Mean, standard deviation and 90% interval of `values` (reordered in place).
pub fn spread(values: &mut [f64]) -> Spread {
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n.max(1) as f64;
    let sd = if n > 1 { (values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64).sqrt() } else { 0.0 };
    values.sort_by(f64::total_cmp);
    Spread { n, mean, sd, p05: quantile(values, 0.05), p95: quantile(values, 0.95) }
}

/// The spread of a reform − baseline difference as if the two were independent runs: over
/// pairs of a reform replicate and a *different* baseline replicate (i ≠ j). With common
/// random numbers the paired differences (i = i) are far less spread; this is the yardstick.
///
/// The mean and standard deviation are over all R(R − 1) pairs, in closed form. The
/// percentiles are over all pairs up to 32 replicates, and beyond that over the pairs
/// (i, i + k mod R) for k = 1..=⌈1024 / R⌉, about a thousand pairs, so a merge stays linear in R.
pub fn unpaired_spread(reform: &[f64], base: &[f64]) -> Spread {
    let n = reform.len();
    if n < 2 {
        return Spread { n: 0, mean: f64::NAN, sd: f64::NAN, p05: f64::NAN, p95: f64::NAN };
    }
    let nf = n as f64;
    let (mr, mb) = (reform.iter().sum::<f64>() / nf, base.iter().sum::<f64>() / nf);
    // centred: d_ij - mean = (r_i - mr) - (b_j - mb), summed over i != j
    let srr: f64 = reform.iter().map(|r| (r - mr) * (r - mr)).sum();
    let sbb: f64 = base.iter().map(|b| (b - mb) * (b - mb)).sum();
    let sdiag: f64 = reform.iter().zip(base).map(|(r, b)| ((r - mr) - (b - mb)).powi(2)).sum();
    let pairs = nf * (nf - 1.0);
    let ss = (nf * srr + nf * sbb - sdiag).max(0.0);
    let sd = if pairs > 1.0 { (ss / (pairs - 1.0)).sqrt() } else { 0.0 };
    let ks = if n <= 32 { n - 1 } else { 1024usize.div_ceil(n).min(n - 1) };
    let mut d = Vec::with_capacity(n * ks);
    for (i, r) in reform.iter().enumerate() {
        for k in 1..=ks {
            d.push(r - base[(i + k) % n]);
        }
    }
    d.sort_by(f64::total_cmp);
    Spread { n: n * (n - 1), mean: mr - mb, sd, p05: quantile(&d, 0.05), p95: quantile(&d, 0.95) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn tasks_from_flag_slurm_and_kubernetes() {
        assert_eq!(Task::resolve(None, None, &env(&[])).unwrap(), Task::SINGLE);
        let t = Task::resolve(Some("1/3"), None, &env(&[("SLURM_ARRAY_TASK_ID", "7")])).unwrap();
        assert_eq!((t.index, t.count, t.source), (1, 3, "--task"));
        let t = Task::resolve(None, None, &env(&[("SLURM_ARRAY_TASK_ID", "12"), ("SLURM_ARRAY_TASK_MIN", "10"), ("SLURM_ARRAY_TASK_COUNT", "4")])).unwrap();
        assert_eq!((t.index, t.count), (2, 4));
        // a failed task resubmitted alone (sbatch --array=7) with the plan's count
        let t = Task::resolve(None, Some(8), &env(&[("SLURM_ARRAY_TASK_ID", "7"), ("SLURM_ARRAY_TASK_MIN", "7"), ("SLURM_ARRAY_TASK_COUNT", "1")])).unwrap();
        assert_eq!((t.index, t.count), (7, 8));
        assert!(Task::resolve(None, None, &env(&[("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_COUNT", "4"), ("SLURM_ARRAY_TASK_STEP", "2")])).is_err());
        assert!(Task::resolve(None, None, &env(&[("JOB_COMPLETION_INDEX", "2")])).is_err());
        let t = Task::resolve(None, Some(5), &env(&[("JOB_COMPLETION_INDEX", "4")])).unwrap();
        assert_eq!((t.index, t.count, t.source), (4, 5, "Kubernetes"));
        let t = Task::resolve(None, None, &env(&[("JOB_COMPLETION_INDEX", "0"), ("POLICY_TWIN_TASK_COUNT", "2")])).unwrap();
        assert_eq!((t.index, t.count), (0, 2));
        assert!(Task::resolve(Some("3/3"), None, &env(&[])).is_err());
        assert!(Task::resolve(Some("3"), None, &env(&[])).is_err());
    }

    #[test]
    fn every_replicate_in_exactly_one_task() {
        for n in 1..6 {
            let mut all: Vec<u32> = (0..n).flat_map(|i| Task { index: i, count: n, source: "" }.replicates(7)).collect();
            all.sort();
            assert_eq!(all, (0..7).collect::<Vec<_>>());
        }
    }

    #[test]
    fn seeds_and_statistics() {
        assert_eq!(replicate_seed(42, 0), 42);
        let seeds: std::collections::HashSet<u64> = (0..1000).map(|r| replicate_seed(42, r)).collect();
        assert_eq!(seeds.len(), 1000);
        assert_ne!(replicate_seed(42, 1), replicate_seed(43, 1));
        let s = spread(&mut [3.0, 1.0, 2.0, 4.0, 5.0]);
        assert_eq!((s.mean, s.p05, s.p95), (3.0, 1.2, 4.8)); // numpy.percentile([1..5], [5, 95])
        assert!((s.sd - 2.5f64.sqrt()).abs() < 1e-12);
        // differences of independent pairs are more spread than the paired ones here
        let base = [10.0, 20.0, 30.0];
        let reform = [11.0, 21.0, 31.0];
        let mut paired: Vec<f64> = reform.iter().zip(&base).map(|(r, b)| r - b).collect();
        assert_eq!(spread(&mut paired).sd, 0.0);
        let u = unpaired_spread(&reform, &base);
        assert_eq!(u.n, 6);
        assert!(u.sd > 5.0 && u.p05 < 0.0 && u.p95 > 2.0, "{u:?}");
        // the closed form against every pair by brute force
        let mut r = crate::rng::SplitMix64::new(5, 5);
        for n in [2usize, 3, 7, 40] {
            let rf: Vec<f64> = (0..n).map(|_| (r.next_u64() % 1_000_000) as f64 * 1e4).collect();
            let bs: Vec<f64> = (0..n).map(|_| (r.next_u64() % 1_000_000) as f64 * 1e4).collect();
            let mut all: Vec<f64> = (0..n).flat_map(|i| (0..n).filter(move |j| *j != i).map(move |j| (i, j))).map(|(i, j)| rf[i] - bs[j]).collect();
            let brute = spread(&mut all);
            let u = unpaired_spread(&rf, &bs);
            assert!((u.mean - brute.mean).abs() <= 1e-9 * brute.mean.abs().max(1.0), "n={n}");
            assert!((u.sd - brute.sd).abs() <= 1e-9 * brute.sd, "n={n}: {} vs {}", u.sd, brute.sd);
            if n <= 32 {
                assert_eq!((u.p05, u.p95), (brute.p05, brute.p95), "n={n}");
            }
        }
    }
}
