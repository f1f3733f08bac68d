//! The CPU path's fusion of consecutive per-person stages into one pass: `labour`, `health`
//! and `person_policy` run person by person in that order, with the person's random stream
//! and the draws every person makes computed once, a block of persons at a time
//! ([`crate::rng::Block`]). Each stage's per-person function reads only the person's own state and its
//! household's (which none of the three writes), so running them person by person gives
//! exactly what running them stage by stage gives (the parity and determinism tests check the
//! whole month). The GPU path runs the three shaders one after another.

use super::{health, labour, person_policy, Ctx, CHUNK};
use crate::rng::{Block, Process, BLOCK};
use crate::state::*;
use rayon::prelude::*;

pub fn labour_health_policy(ctx: &Ctx, persons: &mut Persons, hh: &Households, out: &mut PersonOut) {
    let n = persons.len();
    out.resize(n);
    let Persons { id_lo, id_hi, household, age_months, status, earnings, wealth, .. } = persons;
    let PersonOut { income_tax, ni, state_pension, disability, care_tariff } = out;
    (
        status.par_chunks_mut(CHUNK),
        earnings.par_chunks_mut(CHUNK),
        income_tax.par_chunks_mut(CHUNK),
        ni.par_chunks_mut(CHUNK),
        state_pension.par_chunks_mut(CHUNK),
        disability.par_chunks_mut(CHUNK),
        care_tariff.par_chunks_mut(CHUNK),
    )
        .into_par_iter()
        .enumerate()
        .for_each_init(|| (Block::new(), Block::new()), |(blk, pers), (c, (st, earn, tax, ni, sp, dis, care))| {
            for b in (0..st.len()).step_by(BLOCK) {
                let i0 = c * CHUNK + b;
                let n = BLOCK.min(st.len() - b);
                blk.fill(&ctx.keys, &id_lo[i0..i0 + n], &id_hi[i0..i0 + n], &[Process::Labour, Process::EarningsGrowth, Process::Health, Process::Care]);
                pers.fill(&ctx.persistent, &id_lo[i0..i0 + n], &id_hi[i0..i0 + n], &[Process::DisabilityScore]);
                for k in 0..n {
                    let (i, j) = (i0 + k, b + k);
                    labour::labour_person_st(ctx, blk.stream(k), blk.d[0][k], blk.d[1][k], age_months[i], &mut st[j], &mut earn[j]);
                    health::health_person_st(ctx, blk.d[2][k], blk.d[3][k], age_months[i], &mut st[j], hh.info[household[i] as usize]);
                    person_policy::person_policy_person(
                        ctx, || person_policy::score_of(pers.d[0][k]), age_months[i], &mut st[j], earn[j], wealth[i], &mut tax[j], &mut ni[j], &mut sp[j], &mut dis[j], &mut care[j],
                    );
                }
            }
        });
}
