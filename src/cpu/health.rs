//! Stage `health` (MODEL.md §3 step 3): health and care-need transitions by age band.
//! Twin of `shaders/health.wgsl`.
//!
//! Health: good → limiting (onset), limiting → severe, limiting → good (recovery),
//! severe → limiting. Care need, which arises only in limiting or severe health:
//! none → moderate (onset, by health), moderate → substantial, moderate → none (recovery).
//! Spillovers (MODEL.md §3 step 8): the deterioration hazards (good → limiting, limiting →
//! severe) are multiplied for unemployed people and for members of homeless households or
//! households in temporary accommodation (last month's housing state); their product is capped
//! at 10.

use super::{Ctx, CHUNK};
use crate::codes::*;
use crate::rng::{draw, stream, Process};
use crate::state::*;
use rayon::prelude::*;

/// Cap on the product of the health spillover multipliers: 10, in basis points.
pub const MAX_HEALTH_MULT: u32 = 100_000;

#[inline(always)]
pub fn health_person(ctx: &Ctx, id_lo: u32, id_hi: u32, age_months: u32, status: &mut u32, hh_info: u32) {
    let st = stream(&ctx.keys, id_lo, id_hi);
    health_person_st(ctx, draw(st, Process::Health), draw(st, Process::Care), age_months, status, hh_info)
}

/// [`health_person`] given the person's `Health` and `Care` draws for the month (computed
/// once, by block, in the fused pass).
#[inline(always)]
pub fn health_person_st(ctx: &Ctx, d: u32, dc: u32, age_months: u32, status: &mut u32, hh_info: u32) {
    let s = *status;
    let band = age_band(age_months / 12);
    let mut h = crate::state::health(s);
    let ten = tenure(hh_info);
    let mut mult = crate::fixed::BP;
    if ten == HOMELESS || ten == TEMPORARY {
        mult = crate::fixed::mul_mult(mult, ctx.p.sp_homeless_health_bp);
    }
    if employment(s) == UNEMPLOYED {
        mult = crate::fixed::mul_mult(mult, ctx.p.sp_unemployed_health_bp);
    }
    // the combined multiplier is capped at 10 (mul_mult's range)
    let mult = mult.min(MAX_HEALTH_MULT);
    if h == GOOD {
        if d < crate::fixed::mul_mult(ctx.t.health(band, 0), mult) {
            h = LIMITING;
        }
    } else if h == LIMITING {
        let to_severe = crate::fixed::mul_mult(ctx.t.health(band, 1), mult);
        if d < to_severe {
            h = SEVERE;
        } else if d - to_severe < ctx.t.health(band, 2) {
            h = GOOD;
        }
    } else if d < ctx.t.health(band, 3) {
        h = LIMITING;
    }
    let mut c = care(s);
    if c == CARE_NONE {
        if (h == LIMITING && dc < ctx.t.care(band, 0)) || (h == SEVERE && dc < ctx.t.care(band, 1)) {
            c = CARE_MODERATE;
        }
    } else if c == CARE_MODERATE {
        let to_sub = ctx.t.care(band, 2);
        if dc < to_sub {
            c = CARE_SUBSTANTIAL;
        } else if dc - to_sub < ctx.t.care(band, 3) {
            c = CARE_NONE;
        }
    }
    *status = set_field(set_field(s, HEALTH_SHIFT, 3, h), CARE_SHIFT, 3, c);
}

pub fn health(ctx: &Ctx, persons: &mut Persons, hh: &Households) {
    let Persons { id_lo, id_hi, age_months, status, household, .. } = persons;
    status.par_chunks_mut(CHUNK).enumerate().for_each(|(c, st)| {
        for (j, s) in st.iter_mut().enumerate() {
            let i = c * CHUNK + j;
            health_person(ctx, id_lo[i], id_hi[i], age_months[i], s, hh.info[household[i] as usize]);
        }
    });
}
