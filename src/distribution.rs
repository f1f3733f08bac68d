//! Reform against baseline: the comparison table (reform − baseline for every measure, same
//! keys) and the distribution table (MODEL.md §5): for each simulated year, households ranked
//! into deciles of the baseline's equivalised net income, and for each decile (by region and
//! household type, and over all) the mean change in household net income and the shares of
//! winners and losers.
//!
//! Conventions (documented in the README): a household's income for a year is the sum of its
//! monthly net income; its type and equivalence scale (modified OECD: 1 for the first member
//! aged 14 or over, 0.5 for each other, 0.3 for each child under 14) are those at the start of
//! the run; deciles, means and shares are over persons (household weight × members at the
//! start), as in the DWP's Households Below Average Income; a winner's income rises by at least
//! a penny over the year, a loser's falls by at least a penny.

use crate::codes::REGIONS;
use crate::measures::Acc;
use crate::state::*;
use crate::tables::Tables;

pub const HOUSEHOLD_TYPES: [&str; 7] = ["single_pensioner", "pensioner_couple", "single_no_children", "couple_no_children", "lone_parent", "couple_with_children", "other"];

/// What the distribution needs to know of each household, fixed at the start of the run.
#[derive(Clone, Debug, Default)]
pub struct HouseholdFacts {
    /// Equivalence scale × 10 (0 for a household with no members).
    pub scale10: Vec<u32>,
    pub htype: Vec<u8>,
    pub region: Vec<u8>,
    /// Persons the household stands for: weight × members.
    pub persons: Vec<u64>,
}

impl HouseholdFacts {
    pub fn new(p: &Persons, hh: &Households, tables: &Tables, month: u32) -> HouseholdFacts {
        use rayon::prelude::*;
        let n = hh.count();
        let mut f = HouseholdFacts { scale10: vec![0; n], htype: vec![0; n], region: vec![0; n], persons: vec![0; n] };
        (&mut f.scale10, &mut f.htype, &mut f.region, &mut f.persons).into_par_iter().enumerate().for_each(|(h, (scale10, htype, region, persons))| {
            let (s, l) = (hh.start[h] as usize, hh.len[h] as usize);
            *region = crate::state::region(hh.info[h]) as u8;
            *persons = hh.weight[h] as u64 * l as u64;
            let (mut adults, mut children, mut pensioners, mut over14, mut under14) = (0, 0, 0, 0u32, 0u32);
            for i in s..s + l {
                let age_m = p.age_months[i];
                if age_m < 14 * 12 {
                    under14 += 1;
                } else {
                    over14 += 1;
                }
                if is_dependent_child(age_m / 12, employment(p.status[i])) {
                    children += 1;
                } else {
                    adults += 1;
                    pensioners += (age_m >= tables.spa(month.wrapping_sub(age_m))) as u32;
                }
            }
            *scale10 = if l == 0 { 0 } else if over14 == 0 { 10 + 3 * (under14 - 1) } else { 10 + 5 * (over14 - 1) + 3 * under14 };
            *htype = match (adults, children, pensioners == adults && adults > 0) {
                (1, 0, true) => 0,
                (2, 0, true) => 1,
                (1, 0, false) => 2,
                (2, 0, false) => 3,
                (1, c, _) if c > 0 => 4,
                (2, c, _) if c > 0 => 5,
                _ => 6,
            };
        });
        f
    }
}

/// One row of the distribution table.
#[derive(Clone, Debug, PartialEq)]
pub struct DistRow {
    pub year: u32,
    /// Region code, or None for all regions.
    pub region: Option<u8>,
    /// Household type, or None for all types.
    pub htype: Option<u8>,
    /// 1..=10
    pub decile: u8,
    pub persons: u64,
    /// Sum over persons of their household's change in net income over the year (pence).
    pub total_change: i64,
    pub winners: u64,
    pub losers: u64,
}

impl DistRow {
    pub fn mean_change(&self) -> i64 {
        if self.persons == 0 { 0 } else { self.total_change / self.persons as i64 }
    }
}

/// A household left out of the ranking: no members, or standing for no persons.
pub const UNRANKED: u8 = u8::MAX;

/// The key a household is ranked by: its baseline equivalised income over the year (an
/// equivalence scale is at least 1, so it fits in 64 bits), then its index.
fn rank_key(facts: &HouseholdFacts, base: &[u64], h: usize) -> (u64, u32) {
    ((base[h] as u128 * 10 / facts.scale10[h] as u128) as u64, h as u32)
}

/// Each household's decile (0..=9) of the year's baseline equivalised income, over persons,
/// or [`UNRANKED`]: households ranked by [`rank_key`], a household's decile set by the persons
/// ranked before it and half its own. It depends on the baseline only, so a run computes it
/// once a year for all its reforms. In parallel: the keys, a sort of the (key, index) pairs
/// (the keys are distinct, so any sort gives the one order), a pass over the ranked
/// households in blocks (each from the persons ranked before it) that finds where each
/// decile begins, and each household's decile from those starts, in index order.
pub fn deciles(facts: &HouseholdFacts, base: &[u64]) -> Vec<u8> {
    use rayon::prelude::*;
    let ranked = |h: usize| facts.scale10[h] > 0 && facts.persons[h] > 0;
    // (every household's pair, those not ranked keyed past any income so that they sort
    // last and are cut off: a collect of known length, 16 bytes a household)
    let mut order: Vec<(u64, u32)> = (0..base.len()).into_par_iter().map(|h| if ranked(h) { rank_key(facts, base, h) } else { (u64::MAX, h as u32) }).collect();
    order.par_sort_unstable();
    order.truncate(order.partition_point(|&(key, _)| key < u64::MAX));
    const BLOCK: usize = 1 << 16;
    let weights: Vec<u128> = order.par_chunks(BLOCK).map(|b| b.iter().map(|&(_, h)| facts.persons[h as usize] as u128).sum()).collect();
    let total: u128 = weights.iter().sum::<u128>().max(1);
    let starts: Vec<u128> = weights.iter().scan(0u128, |acc, &w| Some(std::mem::replace(acc, *acc + w))).collect();
    // (the first key of a decile, the decile) wherever the decile changes along the ranking;
    // deciles never fall along it (the persons before a household and half its own grow)
    let changes: Vec<Vec<((u64, u32), u8)>> = order
        .par_chunks(BLOCK)
        .zip(starts)
        .map(|(block, mut before)| {
            let mut found = Vec::new();
            for &(key, h) in block {
                let w = facts.persons[h as usize] as u128;
                let d = (((before + w / 2) * 10) / total).min(9) as u8;
                before += w;
                if found.last().is_none_or(|&(_, last)| last != d) {
                    found.push(((key, h), d));
                }
            }
            found
        })
        .collect();
    let mut firsts: Vec<((u64, u32), u8)> = Vec::with_capacity(10);
    for (key, d) in changes.into_iter().flatten() {
        if firsts.last().is_none_or(|&(_, last)| last != d) {
            firsts.push((key, d));
        }
    }
    drop(order);
    (0..base.len())
        .into_par_iter()
        .map(|h| {
            if !ranked(h) {
                return UNRANKED;
            }
            let key = rank_key(facts, base, h);
            // the last decile that begins at or before this household's key
            let k = firsts.partition_point(|&(first, _)| first <= key);
            firsts[k - 1].1
        })
        .collect()
}

/// The distribution rows of one year: `deciles` as [`deciles`] gives them for `base`, and
/// `base` and `reform` each household's net income over the year (pence). The cells are
/// summed on every thread, in blocks of households; their integer sums do not depend on the
/// blocks.
pub fn distribution(year: u32, facts: &HouseholdFacts, deciles: &[u8], base: &[u64], reform: &[u64]) -> Vec<DistRow> {
    use rayon::prelude::*;
    // key: (region or 12 = all, type or 7 = all, decile)
    type Cell = (u64, i64, u64, u64);
    let empty = || vec![(0u64, 0i64, 0u64, 0u64); 13 * 8 * 10];
    let cells: Vec<Cell> = (0..base.len())
        .into_par_iter()
        .with_min_len(1 << 14)
        .fold(empty, |mut cells, h| {
            let decile = deciles[h];
            if decile == UNRANKED {
                return cells;
            }
            let w = facts.persons[h];
            let change = reform[h] as i64 - base[h] as i64;
            for r in [facts.region[h] as usize, 12] {
                for t in [facts.htype[h] as usize, 7] {
                    let c = &mut cells[(r * 8 + t) * 10 + decile as usize];
                    c.0 += w;
                    c.1 += change * w as i64;
                    c.2 += if change > 0 { w } else { 0 };
                    c.3 += if change < 0 { w } else { 0 };
                }
            }
            cells
        })
        .reduce(empty, |mut a, b| {
            for (x, y) in a.iter_mut().zip(b) {
                *x = (x.0 + y.0, x.1 + y.1, x.2 + y.2, x.3 + y.3);
            }
            a
        });
    let mut rows = Vec::new();
    for r in 0..13 {
        for t in 0..8 {
            for d in 0..10 {
                let c = cells[(r * 8 + t) * 10 + d];
                if c.0 == 0 && (r < 12 || t < 7) {
                    continue; // empty breakdowns are left out; the all/all rows are always there
                }
                rows.push(DistRow {
                    year,
                    region: (r < 12).then_some(r as u8),
                    htype: (t < 7).then_some(t as u8),
                    decile: d as u8 + 1,
                    persons: c.0,
                    total_change: c.1,
                    winners: c.2,
                    losers: c.3,
                });
            }
        }
    }
    rows
}

/// Reform − baseline for every cell and measure of one month.
pub fn difference(reform: &Acc, base: &Acc) -> Vec<i64> {
    reform.0.iter().zip(&base.0).map(|(r, b)| *r as i64 - *b as i64).collect()
}

pub fn region_name(r: Option<u8>) -> &'static str {
    r.map_or("All", |r| REGIONS[r as usize])
}

pub fn type_name(t: Option<u8>) -> &'static str {
    t.map_or("all", |t| HOUSEHOLD_TYPES[t as usize])
}


#[cfg(test)]
mod tests {
    use super::*;

    /// The table as it was computed before the ranking ran in parallel blocks: one sort of
    /// the indices by (equivalised income, index), one pass in rank order.
    fn one_pass(year: u32, facts: &HouseholdFacts, base: &[u64], reform: &[u64]) -> Vec<DistRow> {
        let mut order: Vec<usize> = (0..base.len()).filter(|&h| facts.scale10[h] > 0 && facts.persons[h] > 0).collect();
        order.sort_by_key(|&h| (base[h] as u128 * 10 / facts.scale10[h] as u128, h));
        let total: u128 = order.iter().map(|&h| facts.persons[h] as u128).sum();
        let mut cells = vec![(0u64, 0i64, 0u64, 0u64); 13 * 8 * 10];
        let mut before = 0u128;
        for &h in &order {
            let w = facts.persons[h];
            let decile = (((before + w as u128 / 2) * 10) / total.max(1)).min(9) as usize;
            before += w as u128;
            let change = reform[h] as i64 - base[h] as i64;
            for r in [facts.region[h] as usize, 12] {
                for t in [facts.htype[h] as usize, 7] {
                    let c = &mut cells[(r * 8 + t) * 10 + decile];
                    c.0 += w;
                    c.1 += change * w as i64;
                    c.2 += (change > 0) as u64 * w;
                    c.3 += (change < 0) as u64 * w;
                }
            }
        }
        let mut rows = Vec::new();
        for r in 0..13 {
            for t in 0..8 {
                for d in 0..10 {
                    let c = cells[(r * 8 + t) * 10 + d];
                    if c.0 == 0 && (r < 12 || t < 7) {
                        continue;
                    }
                    rows.push(DistRow { year, region: (r < 12).then_some(r as u8), htype: (t < 7).then_some(t as u8), decile: d as u8 + 1, persons: c.0, total_change: c.1, winners: c.2, losers: c.3 });
                }
            }
        }
        rows
    }

    #[test]
    fn deciles_ranked_in_blocks_give_the_one_pass_table() {
        // 300,000 households: five blocks of the ranking, the last one short; many equal
        // incomes (ties broken by index), empty households, losers, winners and no change
        let n = 300_000;
        let r = |h: usize, k: u32| crate::rng::mix32(h as u32 ^ crate::rng::mix32(k)) as u64;
        let facts = HouseholdFacts {
            scale10: (0..n).map(|h| if r(h, 1) % 50 == 0 { 0 } else { 10 + (r(h, 1) % 30) as u32 }).collect(),
            htype: (0..n).map(|h| (r(h, 2) % 7) as u8).collect(),
            region: (0..n).map(|h| (r(h, 3) % 12) as u8).collect(),
            // one household standing for about a quarter of the persons: its decile skips
            persons: (0..n).map(|h| if h == 777 { 500_000 } else { r(h, 4) % 6 * (1 + r(h, 7) % 3) }).collect(),
        };
        let base: Vec<u64> = (0..n).map(|h| r(h, 5) % 2_000 * 1_000).collect();
        let reform: Vec<u64> = (0..n).map(|h| (base[h] + r(h, 6) % 5 * 100).saturating_sub(200)).collect();
        let d = deciles(&facts, &base);
        let got = distribution(2025, &facts, &d, &base, &reform);
        let want = one_pass(2025, &facts, &base, &reform);
        assert_eq!(got, want);
        assert!(got.iter().any(|r| r.winners > 0) && got.iter().any(|r| r.losers > 0));
        // every decile of the all/all rows has persons but one (the heavy household's skip)
        let all: Vec<u8> = got.iter().filter(|r| r.region.is_none() && r.htype.is_none() && r.persons > 0).map(|r| r.decile).collect();
        assert!(all.len() < 10 && all.len() >= 8, "{all:?}");
        assert_eq!(d.iter().filter(|&&x| x == UNRANKED).count(), (0..n).filter(|&h| facts.scale10[h] == 0 || facts.persons[h] == 0).count());
        assert_eq!(got.iter().filter(|r| r.region.is_none() && r.htype.is_none()).map(|r| r.persons).sum::<u64>(), (0..n).filter(|&h| facts.scale10[h] > 0).map(|h| facts.persons[h]).sum::<u64>());
    }
}
