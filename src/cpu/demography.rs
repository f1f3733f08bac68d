//! Stage `demography` (MODEL.md §3 step 1): ageing, mortality, fertility.
//! Twin of `shaders/demography.wgsl`.
//!
//! Per person: age by one month (the birthday falls in the birth month because age is kept in
//! months); death with the monthly probability for age, sex and health; for women 15–49 who
//! survive, a birth with the monthly fertility probability for their age. Deaths and births
//! are flagged here and counted into the month's events (the baby is counted in its own cell);
//! the `births` stage then removes the dead and inserts the babies. A death on a service's
//! waiting list is counted as `<service>_died_waiting`.

use super::{Ctx, CHUNK};
use crate::codes::{age_band, FEMALE, MALE, N_PERSON_SERVICES};
use crate::measures::{cell, service_measure, Acc, M, SM_DIED};
use crate::rng::{draw, happens, Block, Process, Stream, BLOCK};
use crate::state::*;
use rayon::prelude::*;

/// ASSUMPTION: probability a baby is male, from the UK sex ratio at birth of about 105 boys
/// per 100 girls (ONS births statistics; not in data/reference/).
pub const P_MALE_BIRTH: f64 = 105.0 / 205.0;
/// `threshold(P_MALE_BIRTH)`, as a constant (checked in a test).
pub const MALE_BIRTH_THRESHOLD: u32 = 2_199_861_298;

/// The sex of the baby a mother has this step (drawn from the mother's stream).
#[inline(always)]
pub fn baby_sex(s: Stream) -> u32 {
    if draw(s, Process::BirthSex) < MALE_BIRTH_THRESHOLD {
        MALE
    } else {
        FEMALE
    }
}

/// Events of one person this month, after ageing (`age_m`, `s` without last month's event
/// flags), given the person's stream and death draw; counted into `ev` (deaths and births
/// only).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn demography_person(ctx: &Ctx, st: Stream, death_draw: u32, age_m: u32, mut s: u32, status: &mut u32, hh_info: u32, hh_weight: u32, svc_wait: u32, ev: &mut Acc) {
    let age = age_m / 12;
    let sx = sex(s);
    let region = region(hh_info);
    let w = hh_weight as u64;
    if death_draw < ctx.t.death(sx, age, health(s)) {
        s |= DEAD;
        let c = cell(region, age_band(age), sx);
        ev.add(c, M::Deaths, w);
        for svc in 0..N_PERSON_SERVICES as u32 {
            let k = wait_of(svc_wait, svc);
            if k != 0 && k != IN_PACKAGE {
                ev.add_at(c, service_measure(svc, SM_DIED), w);
            }
        }
    } else if sx == FEMALE && (15..=49).contains(&age) && happens(st, Process::Birth, ctx.t.birth(age)) {
        s |= GIVES_BIRTH;
        ev.add(cell(region, 0, baby_sex(st)), M::Births, w);
    }
    *status = s;
}

/// Run the stage over all persons; returns the month's death and birth counts.
#[allow(clippy::too_many_arguments)]
pub fn demography(ctx: &Ctx, persons: &mut Persons, hh: &Households) -> Acc {
    let Persons { id_lo, id_hi, household, age_months, status, svc_wait, .. } = persons;
    age_months
        .par_chunks_mut(CHUNK)
        .zip(status.par_chunks_mut(CHUNK))
        .enumerate()
        .fold(
            || (Acc::default(), Block::new()),
            |(mut ev, mut blk), (c, (age, st))| {
                for b in (0..age.len()).step_by(BLOCK) {
                    let i0 = c * CHUNK + b;
                    let n = BLOCK.min(age.len() - b);
                    blk.fill(&ctx.keys, &id_lo[i0..i0 + n], &id_hi[i0..i0 + n], &[Process::Death]);
                    for k in 0..n {
                        let (i, j) = (i0 + k, b + k);
                        let h = household[i] as usize;
                        let age_m = (age[j] + 1).min(MAX_AGE_MONTHS);
                        age[j] = age_m;
                        let s = st[j] & !EVENT_FLAGS;
                        demography_person(ctx, blk.stream(k), blk.d[0][k], age_m, s, &mut st[j], hh.info[h], hh.weight[h], svc_wait[i], &mut ev);
                    }
                }
                (ev, blk)
            },
        )
        .map(|(ev, _)| ev)
        .reduce(Acc::default, |a, b| a.merge(&b))
}

#[cfg(test)]
mod tests {
    #[test]
    fn male_birth_threshold_matches_its_probability() {
        assert_eq!(super::MALE_BIRTH_THRESHOLD, crate::fixed::threshold(super::P_MALE_BIRTH));
    }
}
