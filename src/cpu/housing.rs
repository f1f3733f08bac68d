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

use super::{Ctx, CHUNK};
use crate::codes::*;
use crate::fixed::{mul_bp, mul_mult, mul_sat};
use crate::measures::{cell, Acc, M};
use crate::rng::{draw, stream, Process};
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

pub fn housing(ctx: &Ctx, persons: &Persons, hh: &mut Households, hout: &HouseholdOut) -> Acc {
    let Households { info, arrears, prev_net, rent, weight, start, len, .. } = hh;
    let (rent, weight, start, len) = (&*rent, &*weight, &*start, &*len);
    info.par_chunks_mut(CHUNK)
        .zip(arrears.par_chunks_mut(CHUNK))
        .zip(prev_net.par_chunks_mut(CHUNK))
        .enumerate()
        .fold(Acc::default, |mut ev, (c, ((info, arr), prev))| {
            for j in 0..info.len() {
                let h = c * CHUNK + j;
                if len[h] == 0 {
                    continue;
                }
                let net = hout.net_income[h];
                let first = start[h] as usize;
                let st = stream(&ctx.keys, persons.id_lo[first], persons.id_hi[first]);
                let (next, evicted) = arrears_step(ctx, tenure(info[j]), rent[h], arr[j], net, prev[j], draw(st, Process::Eviction));
                arr[j] = next;
                prev[j] = net;
                if evicted {
                    let r = region(info[j]);
                    info[j] = pack_info(r, HOMELESS);
                    let s = persons.status[first];
                    ev.add(cell(r, age_band(persons.age_months[first] / 12), sex(s)), M::Evictions, weight[h] as u64);
                }
            }
            ev
        })
        .reduce(Acc::default, |a, b| a.merge(&b))
}
