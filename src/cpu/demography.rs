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
/// only). The rule as the shader writes it, person by person: the CPU driver below computes
/// the same by block, and a test compares the two.
#[allow(clippy::too_many_arguments)]
#[cfg_attr(not(test), allow(dead_code))]
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
///
/// The CPU driver works a block of persons at a time: ageing, the thresholds (looked up in a
/// loop of their own) and the death and birth flags as selects the compiler vectorises, then
/// the events counted person by person for the few flagged. The values are
/// `demography_person`'s (a test compares them on the sample population).
#[allow(clippy::too_many_arguments)]
pub fn demography(ctx: &Ctx, persons: &mut Persons, hh: &Households) -> Acc {
    let Persons { id_lo, id_hi, household, age_months, status, svc_wait, .. } = persons;
    let pt = super::PerThread::new(|| (Acc::default(), Block::new()));
    age_months
        .par_chunks_mut(CHUNK)
        .zip(status.par_chunks_mut(CHUNK))
        .enumerate()
        .for_each(|(c, (age, st))| {
            pt.with(|(ev, blk)| {
                for b in (0..age.len()).step_by(BLOCK) {
                    let i0 = c * CHUNK + b;
                    let n = BLOCK.min(age.len() - b);
                    blk.fill(&ctx.keys, &id_lo[i0..i0 + n], &id_hi[i0..i0 + n], &[Process::Death, Process::Birth]);
                    let flagged = run_block(ctx, &blk.d[0][..n], &blk.d[1][..n], &mut age[b..b + n], &mut st[b..b + n]);
                    if flagged {
                        for k in 0..n {
                            let (i, j) = (i0 + k, b + k);
                            let s = st[j];
                            if s & (DEAD | GIVES_BIRTH) == 0 {
                                continue;
                            }
                            let h = household[i] as usize;
                            let r = region(hh.info[h]);
                            let w = hh.weight[h] as u64;
                            if s & DEAD != 0 {
                                let c = cell(r, age_band(age[j] / 12), sex(s));
                                ev.add(c, M::Deaths, w);
                                for svc in 0..N_PERSON_SERVICES as u32 {
                                    let k = wait_of(svc_wait[i], svc);
                                    if k != 0 && k != IN_PACKAGE {
                                        ev.add_at(c, service_measure(svc, SM_DIED), w);
                                    }
                                }
                            } else {
                                ev.add(cell(r, 0, baby_sex(blk.stream(k))), M::Births, w);
                            }
                        }
                    }
                }
            })
        });
    pt.sum(|(ev, _)| ev)
}

/// Ageing and the death and birth flags of one block; whether any person was flagged.
fn run_block(ctx: &Ctx, d_death: &[u32], d_birth: &[u32], age: &mut [u32], st: &mut [u32]) -> bool {
    run_block_at(crate::simd::level(), ctx, d_death, d_birth, age, st)
}

/// [`run_block`] at a chosen level of vector instructions (at most the CPU's).
fn run_block_at(level: crate::simd::Level, ctx: &Ctx, d_death: &[u32], d_birth: &[u32], age: &mut [u32], st: &mut [u32]) -> bool {
    block_at(level, &ctx.t.words, d_death, d_birth, age, st)
}

crate::simd::at_level!(fn block_at(w: &[u32], d_death: &[u32], d_birth: &[u32], age: &mut [u32], st: &mut [u32]) -> bool = @level block);

#[inline(always)]
fn block(level: crate::simd::Level, w: &[u32], d_death: &[u32], d_birth: &[u32], age: &mut [u32], st: &mut [u32]) -> bool {
    use crate::tables::{layout, AGES};
    let n = age.len();
    let death_t: &[u32; 2 * AGES * 3] = super::tab(w, layout::DEATH);
    let birth_t: &[u32; AGES] = super::tab(w, layout::BIRTH);
    let (st, d_death, d_birth) = (&mut st[..n], &d_death[..n], &d_birth[..n]);
    let mut t_death = [0u32; BLOCK];
    let mut t_birth = [0u32; BLOCK];
    let (t_death, t_birth) = (&mut t_death[..n], &mut t_birth[..n]);
    for a in age.iter_mut() {
        *a = (*a + 1).min(MAX_AGE_MONTHS);
    }
    let mut year = [0u32; BLOCK];
    let year = &mut year[..n];
    for k in 0..n {
        let y = ((age[k] / 12) as usize).min(AGES - 1);
        let s = st[k];
        t_death[k] = death_t[((sex(s) as usize * AGES + y) * 3 + health(s) as usize).min(2 * AGES * 3 - 1)];
        year[k] = y as u32;
    }
    // by permutes, not a gather ([`crate::simd::lookup`])
    crate::simd::lookup(level, birth_t, year, t_birth);
    let mut any = 0u32;
    for k in 0..n {
        let s = st[k] & !EVENT_FLAGS;
        let y = age[k] / 12;
        let dead = d_death[k] < t_death[k];
        let birth = !dead && sex(s) == FEMALE && (15..=49).contains(&y) && d_birth[k] < t_birth[k];
        let s = s | if dead { DEAD } else { 0 } | if birth { GIVES_BIRTH } else { 0 };
        any |= s & (DEAD | GIVES_BIRTH);
        st[k] = s;
    }
    any != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{stream, StepKeys};

    /// The block at every level of vector instructions the CPU has gives what the generic
    /// build gives (which the driver test below compares with the per-person rule).
    #[test]
    fn block_is_the_same_at_every_level() {
        let (scenario, tables) = crate::cpu::baseline_for_tests();
        let mut r = crate::rng::SplitMix64::new(4, 4);
        for trial in 0..30u32 {
            let p = scenario.resolve(scenario.start.add(trial), trial).expect("params");
            let ctx = Ctx { p: &p, t: &tables, keys: StepKeys::new(1, trial), persistent: StepKeys::new(1, u32::MAX) };
            let n = 1 + r.below(crate::rng::BLOCK as u64) as usize;
            // small draws exercise deaths and births
            let small = |r: &mut crate::rng::SplitMix64| (r.next_u64() as u32) >> r.below(32);
            let d_death: Vec<u32> = (0..n).map(|_| small(&mut r)).collect();
            let d_birth: Vec<u32> = (0..n).map(|_| small(&mut r)).collect();
            let age0: Vec<u32> = (0..n).map(|_| r.below(MAX_AGE_MONTHS as u64 + 1) as u32).collect();
            let st0: Vec<u32> = (0..n).map(|_| crate::state::pack_status(r.below(2) as u32, r.below(6) as u32, r.below(3) as u32, r.below(3) as u32)).collect();
            let run = |level| {
                let (mut age, mut st) = (age0.clone(), st0.clone());
                let any = run_block_at(level, &ctx, &d_death, &d_birth, &mut age, &mut st);
                (any, age, st)
            };
            let want = run(crate::simd::Level::Generic);
            for level in crate::simd::levels() {
                assert_eq!(run(level), want, "{level:?} trial {trial}");
            }
        }
    }

    /// The block driver against [`demography_person`] person by person, on the sample
    /// population aged month after month (deaths, births and the died-waiting counts).
    #[test]
    fn block_driver_matches_the_per_person_rule() {
        let (scenario, tables) = crate::cpu::baseline_for_tests();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut pop = crate::input::load_dir(&root.join("data/sample"), &|_, _| {}).expect("sample");
        pop.households.index_members(&pop.persons.household);
        pop.persons.svc_wait = (0..pop.persons.len() as u32).map(|i| i.wrapping_mul(2_654_435_761) >> 2).collect();
        let (mut deaths, mut births) = (0, 0);
        for step in 0..6u32 {
            let p = scenario.resolve(scenario.start.add(step), step).expect("params");
            let ctx = Ctx { p: &p, t: &tables, keys: StepKeys::new(9, step), persistent: StepKeys::new(9, u32::MAX) };
            let mut want = pop.persons.clone();
            let mut want_ev = Acc::default();
            for i in 0..want.len() {
                let h = want.household[i] as usize;
                let st = stream(&ctx.keys, want.id_lo[i], want.id_hi[i]);
                let age_m = (want.age_months[i] + 1).min(MAX_AGE_MONTHS);
                want.age_months[i] = age_m;
                let s = want.status[i] & !EVENT_FLAGS;
                let d = crate::rng::draw(st, Process::Death);
                demography_person(&ctx, st, d, age_m, s, &mut want.status[i], pop.households.info[h], pop.households.weight[h], want.svc_wait[i], &mut want_ev);
            }
            let ev = demography(&ctx, &mut pop.persons, &pop.households);
            assert_eq!(pop.persons, want, "step {step}");
            assert_eq!(ev, want_ev, "step {step}");
            deaths += ev.total(M::Deaths);
            births += ev.total(M::Births);
        }
        assert!(deaths > 0 && births > 0, "deaths {deaths} births {births}");
    }

    #[test]
    fn male_birth_threshold_matches_its_probability() {
        assert_eq!(super::MALE_BIRTH_THRESHOLD, crate::fixed::threshold(super::P_MALE_BIRTH));
    }
}
