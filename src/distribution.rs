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
        let n = hh.count();
        let mut f = HouseholdFacts { scale10: vec![0; n], htype: vec![0; n], region: vec![0; n], persons: vec![0; n] };
        for h in 0..n {
            let (s, l) = (hh.start[h] as usize, hh.len[h] as usize);
            f.region[h] = region(hh.info[h]) as u8;
            f.persons[h] = hh.weight[h] as u64 * l as u64;
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
            f.scale10[h] = if l == 0 { 0 } else if over14 == 0 { 10 + 3 * (under14 - 1) } else { 10 + 5 * (over14 - 1) + 3 * under14 };
            f.htype[h] = match (adults, children, pensioners == adults && adults > 0) {
                (1, 0, true) => 0,
                (2, 0, true) => 1,
                (1, 0, false) => 2,
                (2, 0, false) => 3,
                (1, c, _) if c > 0 => 4,
                (2, c, _) if c > 0 => 5,
                _ => 6,
            };
        }
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

/// The distribution rows of one year: `base` and `reform` are each household's net income over
/// the year (pence).
pub fn distribution(year: u32, facts: &HouseholdFacts, base: &[u64], reform: &[u64]) -> Vec<DistRow> {
    // households present, ranked by baseline equivalised income (ties by index)
    let mut order: Vec<usize> = (0..base.len()).filter(|&h| facts.scale10[h] > 0 && facts.persons[h] > 0).collect();
    let eq = |h: usize| base[h] as u128 * 10 / facts.scale10[h] as u128;
    order.sort_by_key(|&h| (eq(h), h));
    let total: u128 = order.iter().map(|&h| facts.persons[h] as u128).sum();
    // key: (region or 12 = all, type or 7 = all, decile)
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
                c.2 += if change > 0 { w } else { 0 };
                c.3 += if change < 0 { w } else { 0 };
            }
        }
    }
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

