//! The simulation state: persons and households as structure-of-arrays of u32 words, the
//! layout the GPU path uploads as is.
//!
//! Persons are stored grouped by household (a household's members are contiguous, adults
//! first as loaded, babies right after their mother), so household stages read a contiguous
//! range. The births stage keeps this order when it removes the dead and inserts babies.
//!
//! Bytes per person on the host: 32 (state, which the births stage moves in place) + 20 (this
//! month's person-level policy outputs) = 52. Per household: 8 (id) + 32 (state and index) +
//! 28 (outputs) = 68.

use crate::codes::*;

/// Earnings cap: £1,000,000 a month, in pence. Keeps every household sum in u32.
pub const EARNINGS_CAP: u32 = 100_000_000;
/// Oldest representable age in months (110 years 11 months).
pub const MAX_AGE_MONTHS: u32 = MAX_AGE * 12 + 11;

// ---- the `status` word: bit layout (keep in sync with the WGSL constants) ----
pub const SEX_SHIFT: u32 = 0; // 1 bit
pub const EMPLOYMENT_SHIFT: u32 = 1; // 3 bits
pub const HEALTH_SHIFT: u32 = 4; // 2 bits
pub const CARE_SHIFT: u32 = 6; // 2 bits
/// Died this month (removed by the births stage).
pub const DEAD: u32 = 1 << 8;
/// Gave birth this month (the births stage inserts the baby after her).
pub const GIVES_BIRTH: u32 = 1 << 9;
/// Born this month.
pub const BORN: u32 = 1 << 10;
pub const CARE_FUNDING_SHIFT: u32 = 11; // 2 bits: 0 not eligible, 1 council-supported, 2 self-funder
pub const EVENT_FLAGS: u32 = DEAD | GIVES_BIRTH | BORN;

pub const FUNDING_NONE: u32 = 0;
pub const FUNDING_COUNCIL: u32 = 1;
pub const FUNDING_SELF: u32 = 2;

#[inline(always)]
pub fn sex(s: u32) -> u32 {
    (s >> SEX_SHIFT) & 1
}
#[inline(always)]
pub fn employment(s: u32) -> u32 {
    (s >> EMPLOYMENT_SHIFT) & 7
}
#[inline(always)]
pub fn health(s: u32) -> u32 {
    (s >> HEALTH_SHIFT) & 3
}
#[inline(always)]
pub fn care(s: u32) -> u32 {
    (s >> CARE_SHIFT) & 3
}
#[inline(always)]
pub fn care_funding(s: u32) -> u32 {
    (s >> CARE_FUNDING_SHIFT) & 3
}
#[inline(always)]
pub fn set_field(s: u32, shift: u32, width_mask: u32, v: u32) -> u32 {
    (s & !(width_mask << shift)) | (v << shift)
}
#[inline(always)]
pub fn pack_status(sex: u32, employment: u32, health: u32, care: u32) -> u32 {
    (sex << SEX_SHIFT) | (employment << EMPLOYMENT_SHIFT) | (health << HEALTH_SHIFT) | (care << CARE_SHIFT)
}

// ---- the household `info` word ----
pub const REGION_MASK: u32 = 0xf;
pub const TENURE_SHIFT: u32 = 4;
#[inline(always)]
pub fn region(info: u32) -> u32 {
    info & REGION_MASK
}
#[inline(always)]
pub fn tenure(info: u32) -> u32 {
    (info >> TENURE_SHIFT) & 7
}
#[inline(always)]
pub fn pack_info(region: u32, tenure: u32) -> u32 {
    region | (tenure << TENURE_SHIFT)
}

// ---- the `svc_wait` word: 5 bits per person-level service (see src/cpu/services.rs) ----
pub const WAIT_BITS: u32 = 5;
pub const WAIT_MASK: u32 = 31;
/// `svc_wait` value of a person holding a continuing social-care package.
pub const IN_PACKAGE: u32 = 31;
#[inline(always)]
pub fn wait_of(w: u32, service: u32) -> u32 {
    (w >> (service * WAIT_BITS)) & WAIT_MASK
}
#[inline(always)]
pub fn set_wait(w: u32, service: u32, v: u32) -> u32 {
    set_field(w, service * WAIT_BITS, WAIT_MASK, v)
}

/// Whether a person is a dependent child for benefits: under 16, or under 20 and in education.
#[inline(always)]
pub fn is_dependent_child(age_years: u32, employment: u32) -> bool {
    age_years < 16 || (age_years < 20 && employment == IN_EDUCATION)
}

/// Per-person state, one u32 per field per person.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Persons {
    pub id_lo: Vec<u32>,
    pub id_hi: Vec<u32>,
    /// Index (not id) of the household in [`Households`].
    pub household: Vec<u32>,
    pub age_months: Vec<u32>,
    pub status: Vec<u32>,
    /// Gross earnings, pence per month.
    pub earnings: Vec<u32>,
    /// Personal capital, whole pounds.
    pub wealth: Vec<u32>,
    /// Waiting state for each person-level service, 5 bits each: 0 not waiting, k months
    /// waited so far (1..=29), 31 holding a social-care package (see src/cpu/services.rs).
    pub svc_wait: Vec<u32>,
}

impl Persons {
    pub fn len(&self) -> usize {
        self.id_lo.len()
    }
    pub fn is_empty(&self) -> bool {
        self.id_lo.is_empty()
    }
    pub fn with_capacity(n: usize) -> Persons {
        let v = || Vec::with_capacity(n);
        Persons { id_lo: v(), id_hi: v(), household: v(), age_months: v(), status: v(), earnings: v(), wealth: v(), svc_wait: v() }
    }
    pub fn id(&self, i: usize) -> u64 {
        self.id_lo[i] as u64 | (self.id_hi[i] as u64) << 32
    }
    #[allow(clippy::too_many_arguments)]
    pub fn push(&mut self, id: u64, household: u32, age_months: u32, status: u32, earnings: u32, wealth: u32) {
        self.id_lo.push(id as u32);
        self.id_hi.push((id >> 32) as u32);
        self.household.push(household);
        self.age_months.push(age_months);
        self.status.push(status);
        self.earnings.push(earnings);
        self.wealth.push(wealth);
        self.svc_wait.push(0);
    }
    /// `n` persons with every column zero (allocated zeroed, so the pages are zeroed lazily,
    /// by whichever thread first writes them).
    pub fn zeroed(n: usize) -> Persons {
        Persons { id_lo: vec![0; n], id_hi: vec![0; n], household: vec![0; n], age_months: vec![0; n], status: vec![0; n], earnings: vec![0; n], wealth: vec![0; n], svc_wait: vec![0; n] }
    }
    pub fn columns_mut(&mut self) -> [&mut Vec<u32>; 8] {
        [&mut self.id_lo, &mut self.id_hi, &mut self.household, &mut self.age_months, &mut self.status, &mut self.earnings, &mut self.wealth, &mut self.svc_wait]
    }
    pub fn bytes(&self) -> usize {
        self.len() * 8 * 4
    }
}

/// Grow a column to `n` entries, the new ones zero. An empty column is allocated zeroed
/// (`vec![0; n]`, calloc: the pages are zeroed lazily, by whichever thread first writes
/// them), where `resize` would write every zero on this thread first. At 10 million persons
/// the engine's set-up (`Engine::new`) took 0.28-0.88 s in three runs writing them so, and
/// 0.074-0.077 s allocating them zeroed; the first month, which writes the outputs on every
/// thread, took about 0.1-0.2 s longer (`twin bench --population <10M> --months 1 --backend
/// cpu`, the development machine, 2026-12-01).
pub fn zeros(v: &mut Vec<u32>, n: usize) {
    if v.is_empty() {
        *v = vec![0; n];
    } else {
        v.resize(n, 0);
    }
}

/// This month's person-level policy results (pence per month).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PersonOut {
    pub income_tax: Vec<u32>,
    pub ni: Vec<u32>,
    pub state_pension: Vec<u32>,
    pub disability: Vec<u32>,
    /// Social-care tariff income assessed by the means test.
    pub care_tariff: Vec<u32>,
}

impl PersonOut {
    pub fn resize(&mut self, n: usize) {
        for v in [&mut self.income_tax, &mut self.ni, &mut self.state_pension, &mut self.disability, &mut self.care_tariff] {
            zeros(v, n);
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Households {
    pub id: Vec<u64>,
    /// Region and tenure, see [`pack_info`].
    pub info: Vec<u32>,
    /// Rent, pence per month.
    pub rent: Vec<u32>,
    /// How many real households the record stands for.
    pub weight: Vec<u32>,
    /// First member's index in [`Persons`], and number of members (0 once all have died).
    pub start: Vec<u32>,
    pub len: Vec<u32>,
    /// Rent arrears, pence (MODEL.md §3 step 6).
    pub arrears: Vec<u32>,
    /// Months in temporary accommodation waiting for a social letting.
    pub wait: Vec<u32>,
    /// Last month's net income, pence per month (the income-fall spillover compares with it).
    pub prev_net: Vec<u32>,
}

impl Households {
    pub fn count(&self) -> usize {
        self.id.len()
    }
    /// Size the housing state (arrears, wait, last month's income) to the households, zero
    /// where new: a loaded population starts with no arrears and nobody waiting.
    pub fn init_housing(&mut self) {
        let n = self.count();
        for v in [&mut self.arrears, &mut self.wait, &mut self.prev_net] {
            zeros(v, n);
        }
    }
    /// Rebuild `start`/`len` from the persons' household indices (persons grouped by household).
    /// In parallel over chunks of persons: a household is indexed by the chunk that holds its
    /// first member, which follows its run past the chunk's end if need be.
    pub fn index_members(&mut self, person_household: &[u32]) {
        use rayon::prelude::*;
        use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
        const CHUNK: usize = 1 << 16;
        let n_h = self.count();
        self.start.clear();
        self.start.resize(n_h, 0);
        self.len.clear();
        self.len.resize(n_h, 0);
        // SAFETY: AtomicU32 has u32's size and alignment, and the vectors are borrowed
        // exclusively here, so viewing them as atomics is sound (what the unstable
        // AtomicU32::from_mut_slice does). Relaxed stores suffice: each household is written
        // by one task when persons are grouped by household, and rayon's join orders the
        // writes before the return.
        let start: &[AtomicU32] = unsafe { &*(self.start.as_mut_slice() as *mut [u32] as *const [AtomicU32]) };
        let len: &[AtomicU32] = unsafe { &*(self.len.as_mut_slice() as *mut [u32] as *const [AtomicU32]) };
        let n = person_household.len();
        let store = |s: usize, e: usize| {
            let h = person_household[s] as usize;
            debug_assert_eq!(len[h].load(Relaxed), 0, "household {h} not contiguous");
            start[h].store(s as u32, Relaxed);
            len[h].store((e - s) as u32, Relaxed);
        };
        (0..n.div_ceil(CHUNK)).into_par_iter().for_each(|c| {
            let (lo, hi) = (c * CHUNK, ((c + 1) * CHUNK).min(n));
            let mut i = lo;
            // a run that began in an earlier chunk belongs to that chunk
            if lo > 0 {
                while i < hi && person_household[i] == person_household[lo - 1] {
                    i += 1;
                }
            }
            // where households begin, as bit masks of 64 persons (a test per person would
            // mispredict at every household's end), each run stored when the next begins
            let mut run: Option<usize> = None;
            for base in (i..hi).step_by(64) {
                let end = (base + 64).min(hi);
                let mut flags = [0u8; 64];
                let (from, to) = (base.max(1), end.max(1));
                flags[0] = (base == 0) as u8;
                for ((f, &h), &prev) in flags[from - base..].iter_mut().zip(&person_household[from..to]).zip(&person_household[from - 1..to - 1]) {
                    *f = (h != prev) as u8;
                }
                let mut m = crate::cpu::bits_of(&flags);
                while m != 0 {
                    let k = base + m.trailing_zeros() as usize;
                    m &= m - 1;
                    if let Some(s) = run {
                        store(s, k);
                    }
                    run = Some(k);
                }
            }
            // the chunk's last run, followed past the chunk's end if need be
            if let Some(s) = run {
                let h = person_household[s];
                let mut j = hi;
                while j < n && person_household[j] == h {
                    j += 1;
                }
                store(s, j);
            }
        });
    }
}

/// This month's household-level (benefit unit) results, pence per month.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HouseholdOut {
    pub universal_credit: Vec<u32>,
    pub pension_credit: Vec<u32>,
    pub child_benefit: Vec<u32>,
    /// High income child benefit charge.
    pub hicbc: Vec<u32>,
    /// Amount the benefit cap took off Universal Credit.
    pub cap_reduction: Vec<u32>,
    /// Earnings + benefits + pensions − tax − NI − HICBC.
    pub net_income: Vec<u32>,
}

impl HouseholdOut {
    pub fn resize(&mut self, n: usize) {
        for v in [&mut self.universal_credit, &mut self.pension_credit, &mut self.child_benefit, &mut self.hicbc, &mut self.cap_reduction, &mut self.net_income] {
            zeros(v, n);
        }
    }
}

/// A whole population: what the loader and the synthesiser produce and the engine advances.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Population {
    pub persons: Persons,
    pub households: Households,
}

impl Population {
    /// A copy made in parallel, each column in blocks on every thread (`clone` copies one
    /// column after another on one thread): what each scenario of a run takes, since the
    /// engine consumes its population.
    pub fn par_clone(&self) -> Population {
        fn copy<T: Copy + Default + Send + Sync>(src: &[T]) -> Vec<T> {
            use rayon::prelude::*;
            const BLOCK: usize = 1 << 18;
            // (allocated zeroed: the pages are written once, by the copy)
            let mut v = vec![T::default(); src.len()];
            v.par_chunks_mut(BLOCK).zip(src.par_chunks(BLOCK)).for_each(|(d, s)| d.copy_from_slice(s));
            v
        }
        let (p, h) = (&self.persons, &self.households);
        Population {
            persons: Persons {
                id_lo: copy(&p.id_lo),
                id_hi: copy(&p.id_hi),
                household: copy(&p.household),
                age_months: copy(&p.age_months),
                status: copy(&p.status),
                earnings: copy(&p.earnings),
                wealth: copy(&p.wealth),
                svc_wait: copy(&p.svc_wait),
            },
            households: Households {
                id: copy(&h.id),
                info: copy(&h.info),
                rent: copy(&h.rent),
                weight: copy(&h.weight),
                start: copy(&h.start),
                len: copy(&h.len),
                arrears: copy(&h.arrears),
                wait: copy(&h.wait),
                prev_net: copy(&h.prev_net),
            },
        }
    }

    pub fn weighted_persons(&self) -> u64 {
        self.persons.household.iter().map(|&h| self.households.weight[h as usize] as u64).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`Population::par_clone`] copies every column whole.
    #[test]
    fn par_clone_is_a_clone() {
        // several copy blocks a column, and a last block shorter than the rest
        let n = 3 * (1 << 18) + 12_345;
        let mut pop = Population { persons: Persons::zeroed(n), households: Households::default() };
        for (k, col) in pop.persons.columns_mut().into_iter().enumerate() {
            for (i, v) in col.iter_mut().enumerate() {
                *v = (i as u32).wrapping_mul(2_654_435_761).wrapping_add(k as u32);
            }
        }
        pop.households.id = (0..n as u64 / 2).map(|i| i << 33 | i).collect();
        pop.households.info = (0..n as u32 / 2).collect();
        let c = pop.par_clone();
        assert!(c == pop);
        assert_eq!(c.persons.len(), n);
    }

    /// The parallel index against a serial one, with households spanning chunk boundaries
    /// (one larger than a whole chunk) and households left with no members.
    #[test]
    fn index_members_matches_a_serial_index() {
        let mut r = crate::rng::SplitMix64::new(1, 4);
        let n_h = 60_000usize;
        let mut order: Vec<u32> = (0..n_h as u32).collect();
        for i in (1..n_h).rev() {
            order.swap(i, r.below(i as u64 + 1) as usize);
        }
        let mut ph = Vec::new();
        for (k, &h) in order.iter().enumerate() {
            let size = match k {
                7 => 150_000,
                _ if r.below(10) == 0 => 0,
                _ => r.below(6) as usize,
            };
            ph.extend(std::iter::repeat_n(h, size));
        }
        let mut hh = Households { id: (0..n_h as u64).collect(), ..Default::default() };
        hh.index_members(&ph);
        let (mut start, mut len) = (vec![0u32; n_h], vec![0u32; n_h]);
        let mut i = 0;
        while i < ph.len() {
            let j = i + ph[i..].iter().take_while(|&&h| h == ph[i]).count();
            start[ph[i] as usize] = i as u32;
            len[ph[i] as usize] = (j - i) as u32;
            i = j;
        }
        assert!(ph.len() > 3 * (1 << 16));
        assert_eq!(hh.start, start);
        assert_eq!(hh.len, len);
    }
}
