//! Stage `labour` (MODEL.md §3 step 2): the labour market. Twin of `shaders/labour.wgsl`.
//!
//! Per person: a child becomes `in_education` from age 16; people in education leave it with
//! the hazard for their age (to employed/unemployed/inactive in the shares for their band and
//! health); at or after state pension age the unemployed and inactive retire and the employed
//! retire with the hazard for their age; below it, monthly moves between employed, unemployed
//! and inactive by age band and health. Earnings are drawn from the band-and-sex distribution
//! on entering work, grow each month by the scenario's mean plus a drawn noise, and are zero
//! out of work.

use super::{Ctx, CHUNK};
use crate::codes::*;
use crate::rng::{draw, stream, Process, Stream};
use crate::state::*;
use rayon::prelude::*;

/// Apply a signed monthly growth rate in 2^-20 units to earnings, exactly as the WGSL twin:
/// increment = floor(e * |g| / 2^20), computed with 16-bit limbs (|g| < 2^16).
#[inline(always)]
pub fn grow(e: u32, g_q20: i32) -> u32 {
    let q = g_q20.unsigned_abs().min(0xffff);
    let hi = (e >> 16) * q; // < 2^32
    let lo = (e & 0xffff) * q; // < 2^32
    // floor((hi·2^16 + lo) / 2^20) = (hi >> 4) + floor(((hi & 15)·2^12 + (lo >> 4)) / 2^16)
    let inc = (hi >> 4) + ((((hi & 15) << 12) + (lo >> 4)) >> 16);
    if g_q20 >= 0 {
        e.saturating_add(inc).min(EARNINGS_CAP)
    } else {
        e.saturating_sub(inc)
    }
}

#[inline(always)]
pub fn labour_person(ctx: &Ctx, id_lo: u32, id_hi: u32, age_months: u32, status: &mut u32, earnings: &mut u32) {
    let st = stream(&ctx.keys, id_lo, id_hi);
    labour_person_st(ctx, st, draw(st, Process::Labour), draw(st, Process::EarningsGrowth), age_months, status, earnings)
}

/// [`labour_person`] given the person's stream for the month and its `Labour` and
/// `EarningsGrowth` draws.
#[inline(always)]
pub fn labour_person_st(ctx: &Ctx, st: Stream, d_labour: u32, d_growth: u32, age_months: u32, status: &mut u32, earnings: &mut u32) {
    let draws = |p: Process| match p {
        Process::Labour => d_labour,
        Process::EarningsGrowth => d_growth,
        other => draw(st, other),
    };
    labour_person_draws(ctx, &draws, age_months, status, earnings)
}

/// The labour rules given a function that returns the person's draw for a process this month.
#[inline(always)]
pub fn labour_person_draws(ctx: &Ctx, draw: &impl Fn(Process) -> u32, age_months: u32, status: &mut u32, earnings: &mut u32) {
    let s = *status;
    let e = employment(s);
    let age = age_months / 12;
    let band = age_band(age);
    let h = health(s);
    let sx = sex(s);
    let mut next = e;
    if e == CHILD {
        if age >= 16 {
            next = IN_EDUCATION;
        }
    } else if e == IN_EDUCATION {
        if draw(Process::EducationLeave) < ctx.t.edu_leave(age) {
            let d = draw(Process::EducationDestination);
            let p_emp = ctx.t.labour(band, h, 6);
            let p_unemp = ctx.t.labour(band, h, 7);
            next = if d < p_emp {
                EMPLOYED
            } else if d - p_emp < p_unemp {
                UNEMPLOYED
            } else {
                INACTIVE
            };
        }
    } else if e != RETIRED {
        let birth_month = ctx.p.month.wrapping_sub(age_months);
        if age_months >= ctx.t.spa(birth_month) {
            if e != EMPLOYED || draw(Process::Retire) < ctx.t.retire(age) {
                next = RETIRED;
            }
        } else {
            // cumulative thresholds out of the current state: (to a, to b)
            let d = draw(Process::Labour);
            let (i, to_a, to_b) = if e == EMPLOYED {
                (0, UNEMPLOYED, INACTIVE)
            } else if e == UNEMPLOYED {
                (2, EMPLOYED, INACTIVE)
            } else {
                (4, EMPLOYED, UNEMPLOYED)
            };
            let pa = ctx.t.labour(band, h, i);
            let pb = ctx.t.labour(band, h, i + 1);
            if d < pa {
                next = to_a;
            } else if d - pa < pb {
                next = to_b;
            }
        }
    }
    let mut earn = *earnings;
    if next == EMPLOYED {
        if e != EMPLOYED {
            earn = ctx.t.earnings(band, sx, draw(Process::EarningsEntry) >> 24);
        } else {
            let g = ctx.p.growth_q20 as i32 + ctx.t.growth_noise(draw(Process::EarningsGrowth) >> 26);
            earn = grow(earn, g);
        }
    } else {
        earn = 0;
    }
    *earnings = earn;
    *status = set_field(s, EMPLOYMENT_SHIFT, 7, next);
}

pub fn labour(ctx: &Ctx, persons: &mut Persons) {
    let Persons { id_lo, id_hi, age_months, status, earnings, .. } = persons;
    status.par_chunks_mut(CHUNK).zip(earnings.par_chunks_mut(CHUNK)).enumerate().for_each(|(c, (st, earn))| {
        for j in 0..st.len() {
            let i = c * CHUNK + j;
            labour_person(ctx, id_lo[i], id_hi[i], age_months[i], &mut st[j], &mut earn[j]);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::grow;
    #[test]
    fn growth_matches_exact_rational() {
        let mut r = crate::rng::SplitMix64::new(3, 3);
        for _ in 0..1_000_000 {
            let e = (r.next_u64() % 100_000_001) as u32;
            let g = (r.next_u64() % 131_071) as i32 - 65_535;
            let inc = (e as u64 * g.unsigned_abs() as u64) >> 20;
            let want = if g >= 0 { (e as u64 + inc).min(100_000_000) } else { e as u64 - inc };
            assert_eq!(grow(e, g) as u64, want, "e={e} g={g}");
        }
        // 3.5% a year compounds to 3.5% a year, within rounding
        let g = (((1.035f64).powf(1.0 / 12.0) - 1.0) * (1u32 << 20) as f64).round() as i32;
        let mut e = 300_000u32;
        for _ in 0..12 {
            e = grow(e, g);
        }
        assert!((e as f64 / 300_000.0 - 1.035).abs() < 1e-4, "{e}");
    }
}
