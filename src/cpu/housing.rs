//! Stage `housing` (MODEL.md §3 step 6): rent arrears and evictions, one invocation per
//! household. Twin of `shaders/housing.wgsl`.
//!
//! A renting household (private or social) puts up to `housing.affordable_share` of its net
//! income (after benefits, so the housing element counts) towards rent and arrears: rent
//! above that builds arrears, income above the rent pays them off. In a month when net income
//! fell below last month's, the arrears built are multiplied by the income-fall spillover.
//! Arrears of `housing.eviction_arrears_months` months of rent or more put the tenancy at
//! risk: each month it ends with the tenure's eviction probability, and the household applies
//! as homeless (tenure `homeless`, no housing costs, arrears written off: the model does not
//! follow former tenants' debts). The homelessness service (stage `services`) then places it
//! in temporary accommodation, from which social lettings rehouse it.
//!
//! Owners, homeless households and households in temporary accommodation build no arrears.
//! Household draws use the stream of the household's first member (household ids stay on the
//! host).

use super::{sel, Ctx, CHUNK};
use crate::codes::*;
use crate::fixed::{mul_bp, mul_div_limbs, mul_mult, mul_sat, BP};
use crate::params::StepParams;
use crate::measures::{cell, Acc, M};
use crate::rng::{Block, Process, BLOCK};
use crate::state::*;
use rayon::prelude::*;

/// Arrears after this month: (new arrears, evicted).
#[inline(always)]
pub fn arrears_step(ctx: &Ctx, tenure: u32, rent: u32, arrears: u32, net: u32, prev_net: u32, eviction_draw: u32) -> (u32, bool) {
    let p = ctx.p;
    if tenure != PRIVATE_RENT && tenure != SOCIAL_RENT {
        return (arrears, false);
    }
    let affordable = mul_bp(net, p.afford_bp);
    let due = rent.saturating_add(arrears);
    let mut next = due - due.min(affordable);
    if next > arrears && net < prev_net {
        next = arrears.saturating_add(mul_mult(next - arrears, p.sp_income_arrears_bp));
    }
    let at_risk = rent > 0 && next >= mul_sat(rent, p.evict_months);
    let prob = if tenure == PRIVATE_RENT { p.evict_private_bp } else { p.evict_social_bp };
    if at_risk && eviction_draw % 10_000 < prob {
        return (0, true);
    }
    (next, false)
}

/// Run the stage over blocks of households: the first members' streams and eviction draws
/// as one vector fill ([`Block::fill`]), the arrears rule as selects ([`block`], the values of
/// [`arrears_step`]: a branch on the tenure mispredicted at most households), then the few
/// evictions counted.
pub fn housing(ctx: &Ctx, persons: &Persons, hh: &mut Households, hout: &HouseholdOut) -> Acc {
    if persons.is_empty() {
        return Acc::default(); // every household empty: nothing changes
    }
    let last = persons.len() - 1;
    let level = crate::simd::level();
    let Households { info, arrears, prev_net, rent, weight, start, len, .. } = hh;
    let (rent, weight, start, len) = (&*rent, &*weight, &*start, &*len);
    let pt = super::PerThread::new(|| (Acc::default(), Block::new()));
    info.par_chunks_mut(CHUNK)
        .zip(arrears.par_chunks_mut(CHUNK))
        .zip(prev_net.par_chunks_mut(CHUNK))
        .enumerate()
        .for_each(|(c, ((info, arr), prev))| {
            pt.with(|(ev, blk)| {
                let (mut lo, mut hi, mut evicted) = ([0u32; BLOCK], [0u32; BLOCK], [0u32; BLOCK]);
                for b in (0..info.len()).step_by(BLOCK) {
                    let h0 = c * CHUNK + b;
                    let n = BLOCK.min(info.len() - b);
                    // the first member's id (a household with no members reads a valid person
                    // and is left unchanged)
                    for (k, &f) in start[h0..h0 + n].iter().enumerate() {
                        let f = (f as usize).min(last);
                        lo[k] = persons.id_lo[f];
                        hi[k] = persons.id_hi[f];
                    }
                    blk.fill(&ctx.keys, &lo[..n], &hi[..n], &[Process::Eviction]);
                    let hs = h0..h0 + n;
                    let any = block_at(level, ctx.p, &len[hs.clone()], &rent[hs.clone()], &hout.net_income[hs], &blk.d[0][..n], &mut info[b..b + n], &mut arr[b..b + n], &mut prev[b..b + n], &mut evicted[..n]);
                    if any {
                        for k in (0..n).filter(|&k| evicted[k] != 0) {
                            let (h, first) = (h0 + k, start[h0 + k] as usize);
                            let s = persons.status[first];
                            ev.add(cell(region(info[b + k]), age_band(persons.age_months[first] / 12), sex(s)), M::Evictions, weight[h] as u64);
                        }
                    }
                }
            })
        });
    pt.sum(|(ev, _)| ev)
}

crate::simd::at_level!(#[allow(clippy::too_many_arguments)] fn block_at(p: &StepParams, len: &[u32], rent: &[u32], net: &[u32], draw: &[u32], info: &mut [u32], arr: &mut [u32], prev: &mut [u32], evicted: &mut [u32]) -> bool = block);

/// [`arrears_step`] for a block of households as selects: arrears, last month's net income
/// and tenure updated in place for households with members; `evicted[k]` is 1 for a household
/// evicted (now homeless). `draw` holds the first members' eviction draws. Returns whether any
/// household was evicted.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn block(p: &StepParams, len: &[u32], rent: &[u32], net: &[u32], draw: &[u32], info: &mut [u32], arr: &mut [u32], prev: &mut [u32], evicted: &mut [u32]) -> bool {
    let n = info.len();
    let (len, rent, net, draw, arr, prev, evicted) = (&len[..n], &rent[..n], &net[..n], &draw[..n], &mut arr[..n], &mut prev[..n], &mut evicted[..n]);
    // a·b saturating at u32::MAX ([`mul_sat`]), as a 64-bit product that vectorises
    #[inline(always)]
    fn sat(a: u32, b: u32) -> u32 {
        (a as u64 * b as u64).min(u32::MAX as u64) as u32
    }
    let mut any = 0u32;
    for k in 0..n {
        let (t, a, nt) = (tenure(info[k]), arr[k], net[k]);
        let renting = (len[k] != 0) & ((t == PRIVATE_RENT) | (t == SOCIAL_RENT));
        // mul_bp as 16-bit limbs (exact: the affordable share is at most 100%)
        let affordable = mul_div_limbs(nt, p.afford_bp, BP);
        let due = rent[k].saturating_add(a);
        let built = due - due.min(affordable);
        // in a month when income fell, the arrears built times the spillover ([`mul_mult`]:
        // q·m + r·m/10⁴, exact, with a = q·10⁴ + r)
        let more = built.wrapping_sub(a);
        let (q, r) = (more / BP, more % BP);
        let spilled = a.saturating_add(sat(q, p.sp_income_arrears_bp).saturating_add(r * p.sp_income_arrears_bp / BP));
        let next = sel((built > a) & (nt < prev[k]), spilled, built);
        let at_risk = (rent[k] > 0) & (next >= sat(rent[k], p.evict_months));
        let prob = sel(t == PRIVATE_RENT, p.evict_private_bp, p.evict_social_bp);
        let ev = renting & at_risk & (draw[k] % 10_000 < prob);
        arr[k] = sel(ev, 0, sel(renting, next, a));
        prev[k] = sel(len[k] != 0, nt, prev[k]);
        info[k] = sel(ev, pack_info(region(info[k]), HOMELESS), info[k]);
        evicted[k] = ev as u32;
        any |= ev as u32;
    }
    any != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{SplitMix64, StepKeys};

    /// The block against [`arrears_step`] lane by lane at every level of vector instructions:
    /// random tenures, rents, arrears, incomes (falling in about half the lanes), draws and
    /// households with no members, with parameters away from their defaults.
    #[test]
    fn block_matches_arrears_step() {
        let (scenario, tables) = crate::cpu::baseline_for_tests();
        let mut r = SplitMix64::new(9, 3);
        let (mut evictions, mut spilled) = (0, 0);
        for trial in 0..60u32 {
            let mut p = scenario.resolve(scenario.start.add(trial), trial).expect("params");
            p.afford_bp = r.below(10_001) as u32;
            p.sp_income_arrears_bp = r.below(100_001) as u32;
            p.evict_months = 1 + r.below(120) as u32;
            p.evict_private_bp = r.below(10_001) as u32;
            p.evict_social_bp = r.below(10_001) as u32;
            let ctx = Ctx { p: &p, t: &tables, keys: StepKeys::new(3, trial), persistent: StepKeys::new(3, u32::MAX) };
            let n = 1 + r.below(BLOCK as u64) as usize;
            // amounts from small to the whole u32 range
            let money = |r: &mut SplitMix64| (r.next_u64() >> (32 + r.below(32))) as u32;
            let len: Vec<u32> = (0..n).map(|_| (r.below(5) != 0) as u32 * (1 + r.below(4) as u32)).collect();
            let rent: Vec<u32> = (0..n).map(|_| if r.below(8) == 0 { 0 } else { money(&mut r) }).collect();
            let net: Vec<u32> = (0..n).map(|_| money(&mut r)).collect();
            let draw: Vec<u32> = (0..n).map(|_| r.next_u64() as u32).collect();
            let info: Vec<u32> = (0..n).map(|_| pack_info(r.below(12) as u32, r.below(5) as u32)).collect();
            let arr: Vec<u32> = (0..n).map(|_| money(&mut r)).collect();
            let prev: Vec<u32> = (0..n).map(|k| if r.below(2) == 0 { net[k].saturating_add(1 + money(&mut r)) } else { money(&mut r) }).collect();
            for level in crate::simd::levels() {
                let (mut i2, mut a2, mut p2, mut e2) = (info.clone(), arr.clone(), prev.clone(), vec![0u32; n]);
                let any = block_at(level, &p, &len, &rent, &net, &draw, &mut i2, &mut a2, &mut p2, &mut e2);
                for k in 0..n {
                    let (want_arr, want_ev) = if len[k] == 0 { (arr[k], false) } else { arrears_step(&ctx, tenure(info[k]), rent[k], arr[k], net[k], prev[k], draw[k]) };
                    assert_eq!((a2[k], e2[k] != 0), (want_arr, want_ev), "{level:?} trial {trial} lane {k}: arrears, evicted");
                    assert_eq!(p2[k], if len[k] == 0 { prev[k] } else { net[k] }, "{level:?} trial {trial} lane {k}: last month's income");
                    let want_info = if want_ev { pack_info(region(info[k]), HOMELESS) } else { info[k] };
                    assert_eq!(i2[k], want_info, "{level:?} trial {trial} lane {k}: tenure");
                    evictions += want_ev as u32;
                    let renting = matches!(tenure(info[k]), PRIVATE_RENT | SOCIAL_RENT);
                    spilled += (len[k] != 0 && renting && net[k] < prev[k] && !want_ev && want_arr > arr[k]) as u32;
                }
                assert_eq!(any, e2.iter().any(|&e| e != 0));
            }
        }
        assert!(evictions > 0 && spilled > 0, "evictions {evictions}, income-fall spillovers {spilled}");
    }
}
