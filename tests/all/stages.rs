//! Each stage of the month step, checked on its own or through the engine.

use crate::util;
use policy_twin::codes::*;
use policy_twin::cpu::{labour, Ctx};
use policy_twin::fixed::{annual_to_monthly, threshold_probability};
use policy_twin::measures::M;
use policy_twin::rng::{StepKeys, PERSISTENT_STEP};
use policy_twin::state::*;
use policy_twin::tables::Tables;
use std::collections::HashSet;

/// Deaths and births over a year match, month by month, the probabilities of the life table
/// (with health multipliers) and the fertility schedule, within 4 binomial standard deviations.
#[test]
fn deaths_and_births_match_life_table_and_fertility_within_binomial_bounds() {
    let (_, pop) = util::pop60k();
    let s = util::baseline();
    let mut e = util::engine(pop, &s, 12);
    let (mut obs_d, mut exp_d, mut var_d) = (0f64, 0f64, 0f64);
    let (mut obs_b, mut exp_b, mut var_b) = (0f64, 0f64, 0f64);
    for _ in 0..12 {
        for i in 0..e.persons.len() {
            let st = e.persons.status[i];
            let age = ((e.persons.age_months[i] + 1).min(MAX_AGE_MONTHS)) / 12;
            let pd = threshold_probability(e.tables.death(sex(st), age, health(st)));
            exp_d += pd;
            var_d += pd * (1.0 - pd);
            if sex(st) == FEMALE && (15..=49).contains(&age) {
                let pb = (1.0 - pd) * threshold_probability(e.tables.birth(age));
                exp_b += pb;
                var_b += pb * (1.0 - pb);
            }
        }
        let acc = e.step();
        obs_d += acc.total(M::Deaths) as f64 / 3.0; // every household has weight 3
        obs_b += acc.total(M::Births) as f64 / 3.0;
    }
    assert!(exp_d > 300.0 && exp_b > 300.0, "population too small for the test: {exp_d} {exp_b}");
    assert!((obs_d - exp_d).abs() < 4.0 * var_d.sqrt(), "deaths {obs_d} vs expected {exp_d} ± {}", var_d.sqrt());
    assert!((obs_b - exp_b).abs() < 4.0 * var_b.sqrt(), "births {obs_b} vs expected {exp_b} ± {}", var_b.sqrt());
}

/// The monthly death thresholds reproduce the life table: the prevalence-weighted mean of the
/// health-specific annual probabilities equals qx, and worse health means higher mortality.
#[test]
fn mortality_table_reproduces_qx() {
    let s = util::baseline();
    let t = Tables::build(&s).unwrap();
    // ONS 2022-2024, male, age 70: qx = 0.019 (read from the file to avoid a copy here)
    let lt = policy_twin::data::CsvTable::read(&util::root().join("data/reference/uk_life_table_qx.csv")).unwrap();
    let row = (0..lt.rows.len()).find(|&r| lt.rows[r][0] == "2022-2024" && lt.rows[r][1] == "male" && lt.rows[r][2] == "70").unwrap();
    let qx: f64 = lt.rows[row][3].parse().unwrap();
    // health.csv 65-74: prevalence 0.40, severe share 0.35
    let (p, ps) = (0.40, 0.40 * 0.35);
    let annual = |h: u32| 1.0 - (1.0 - threshold_probability(t.death(MALE, 70, h))).powi(12);
    let mean = (1.0 - p) * annual(GOOD) + (p - ps) * annual(LIMITING) + ps * annual(SEVERE);
    assert!((mean - qx).abs() / qx < 1e-3, "mean {mean} vs qx {qx}");
    for age in 0..=109 {
        assert!(t.death(FEMALE, age, GOOD) < t.death(FEMALE, age, LIMITING) && t.death(FEMALE, age, LIMITING) < t.death(FEMALE, age, SEVERE), "age {age}");
    }
    assert_eq!(t.death(MALE, 110, GOOD), u32::MAX, "110 is the last age");
    assert!((threshold_probability(t.birth(30)) - 98.0 / 1000.0 / 12.0).abs() < 1e-9);
    assert_eq!(t.birth(14), 0);
    assert_eq!(t.birth(50), 0);
    let _ = annual_to_monthly(0.1);
}

/// Population at the end of a month = at the end of the last + births − deaths, exactly, in
/// every cell total and every month.
#[test]
fn accounting_identity_is_exact() {
    let (_, pop) = util::pop60k();
    let s = util::baseline();
    let mut e = util::engine(pop, &s, 24);
    let mut prev = pop.weighted_persons();
    for m in 0..24 {
        let acc = e.step();
        let now = acc.total(M::Population);
        assert_eq!(now, prev + acc.total(M::Births) - acc.total(M::Deaths), "month {m}");
        assert_eq!(now, e.persons.len() as u64 * 3, "weighted stock equals persons × weight");
        // every person is in exactly one employment, health and care state
        let emp: u64 = [M::Child, M::InEducation, M::Employed, M::Unemployed, M::Inactive, M::Retired].iter().map(|&x| acc.total(x)).sum();
        let hl: u64 = [M::HealthGood, M::HealthLimiting, M::HealthSevere].iter().map(|&x| acc.total(x)).sum();
        assert_eq!(emp, now);
        assert_eq!(hl, now);
        prev = now;
    }
}

/// After two years of births and deaths: ids unique, babies have ids from 2^63 (reserved for
/// them), each baby sits in its mother's household right after her and has the id its mother
/// and the month give it, households stay contiguous.
#[test]
fn births_stage_keeps_households_contiguous_with_fresh_unique_ids() {
    let (_, pop) = util::pop60k();
    let s = util::baseline();
    let mut e = util::engine(pop, &s, 24);
    let mut babies_seen = 0;
    let mut born = 0;
    for _ in 0..24 {
        let month = e.step_params().month;
        born += e.step().total(M::Births) / 3;
        let p = &e.persons;
        for i in 0..p.len() {
            if p.status[i] & BORN != 0 {
                babies_seen += 1;
                assert_eq!(p.age_months[i], 0);
                assert!(p.id(i) >= 1 << 63);
                assert!(i > 0 && p.household[i - 1] == p.household[i], "baby {i} not after a member of its household");
                let mother = (p.id_lo[i - 1], p.id_hi[i - 1]);
                assert_eq!(p.id(i), policy_twin::rng::baby_id(&policy_twin::rng::baby_keys(month), mother.0, mother.1), "baby {i}'s id from its mother and the month");
            }
        }
    }
    assert!(babies_seen > 100, "{babies_seen}");
    let p = &e.persons;
    let ids: HashSet<u64> = (0..p.len()).map(|i| p.id(i)).collect();
    assert_eq!(ids.len(), p.len(), "ids unique");
    let mut seen = HashSet::new();
    for i in 0..p.len() {
        if i == 0 || p.household[i] != p.household[i - 1] {
            assert!(seen.insert(p.household[i]), "household {} appears in two runs", p.household[i]);
        }
    }
    assert_eq!(e.born, born, "births counted");
}

fn ctx_for<'a>(p: &'a policy_twin::params::StepParams, t: &'a Tables) -> Ctx<'a> {
    Ctx { p, t, keys: StepKeys::new(5, 3), persistent: StepKeys::new(5, PERSISTENT_STEP) }
}

/// Labour rules that do not depend on chance: education from 16, retirement at state pension
/// age for the unemployed and inactive, no earnings out of work.
#[test]
fn labour_stage_deterministic_rules() {
    let s = util::baseline();
    let t = Tables::build(&s).unwrap();
    let p = s.resolve(s.start, 0).unwrap(); // April 2025
    let ctx = ctx_for(&p, &t);
    let mut st = pack_status(MALE, CHILD, GOOD, CARE_NONE);
    let mut earn = 0;
    labour::labour_person(&ctx, 1, 0, 16 * 12, &mut st, &mut earn);
    assert_eq!(employment(st), IN_EDUCATION, "a child of 16 goes into education");
    let mut st = pack_status(MALE, CHILD, GOOD, CARE_NONE);
    labour::labour_person(&ctx, 1, 0, 15 * 12 + 11, &mut st, &mut earn);
    assert_eq!(employment(st), CHILD, "not before 16");
    // born 1959-04 (SPA 66 = 792 months) aged 66 in 2025-04: unemployed/inactive retire
    for e in [UNEMPLOYED, INACTIVE] {
        let mut st = pack_status(FEMALE, e, GOOD, CARE_NONE);
        let mut earn = 0;
        labour::labour_person(&ctx, 2, 0, 792, &mut st, &mut earn);
        assert_eq!(employment(st), RETIRED);
        let mut st = pack_status(FEMALE, e, GOOD, CARE_NONE);
        labour::labour_person(&ctx, 2, 0, 791, &mut st, &mut earn);
        assert_ne!(employment(st), RETIRED, "not a month before state pension age");
    }
    // nobody out of work keeps earnings; everyone in work has some
    let mut in_work = 0;
    for id in 0..20_000u32 {
        let mut st = pack_status(MALE, EMPLOYED, LIMITING, CARE_NONE);
        let mut earn = 250_000;
        labour::labour_person(&ctx, id, 0, 40 * 12, &mut st, &mut earn);
        if employment(st) == EMPLOYED {
            in_work += 1;
            assert!(earn > 240_000 && earn < 260_000, "monthly growth stays small: {earn}");
        } else {
            assert_eq!(earn, 0);
        }
    }
    // E->U + E->I for 35-49 limiting: 0.007 + 0.008 a month
    let left = 20_000 - in_work;
    let expect = 20_000.0 * 0.015;
    assert!((left as f64 - expect).abs() < 4.0 * (expect * 0.985).sqrt(), "{left} left work, expected {expect}");
}

/// Health onset follows its table: good → limiting for ages 50-64 at 3.5% a year; the
/// unemployment and homelessness spillovers multiply it (1.2 and 1.5 in the baseline), and a
/// multiplier of 1.0 switches a link off.
#[test]
fn health_stage_onset_rate_and_spillovers() {
    let s = util::baseline();
    let t = Tables::build(&s).unwrap();
    let p0 = s.resolve(s.start, 0).unwrap();
    assert_eq!((p0.sp_unemployed_health_bp, p0.sp_homeless_health_bp), (12_000, 15_000), "baseline multipliers");
    let mut off = p0;
    off.sp_unemployed_health_bp = 10_000;
    off.sp_homeless_health_bp = 10_000;
    let owner = pack_info(0, OWNER);
    let ta = pack_info(0, TEMPORARY);
    let homeless = pack_info(0, HOMELESS);
    for (p, emp, info, mult) in [
        (&p0, EMPLOYED, owner, 1.0),
        (&p0, UNEMPLOYED, owner, 1.2),
        (&p0, EMPLOYED, ta, 1.5),
        (&p0, UNEMPLOYED, homeless, 1.8),
        (&off, UNEMPLOYED, ta, 1.0),
    ] {
        let ctx = ctx_for(p, &t);
        let n = 200_000u32;
        let mut onset = 0;
        for id in 0..n {
            let mut st = pack_status(FEMALE, emp, GOOD, CARE_NONE);
            policy_twin::cpu::health::health_person(&ctx, id, 9, 55 * 12, &mut st, info);
            onset += (health(st) == LIMITING) as u32;
            if health(st) == GOOD {
                assert_eq!(care(st), CARE_NONE, "no care need arises in good health");
            }
        }
        let pm = annual_to_monthly(0.035) * mult;
        let expect = n as f64 * pm;
        assert!((onset as f64 - expect).abs() < 4.0 * (expect * (1.0 - pm)).sqrt(), "multiplier {mult}: {onset} vs {expect}");
    }
}

/// The CPU path's month plan (labour, health, person policy and the persons' accounting fused
/// in one pass, by block) gives the same state and aggregates as the stages run one by one,
/// month after month, for the baseline and a reform.
#[test]
fn fused_month_plan_equals_the_stages_one_by_one() {
    let (_, pop) = util::pop60k();
    for scenario in ["scenarios/baseline.toml", "scenarios/social_care_cap_100k.toml"] {
        let s = policy_twin::scenario::Scenario::load(&util::root().join(scenario)).unwrap();
        let mut fused = util::engine(pop, &s, 24);
        let mut staged = util::engine(pop, &s, 24);
        for month in 0..24 {
            let a = fused.step();
            let b = staged.step_by_stage();
            assert!(a == b, "{scenario} month {month}: aggregates differ");
            assert!(fused.persons == staged.persons, "{scenario} month {month}: persons differ");
            assert!(fused.households == staged.households, "{scenario} month {month}: households differ");
            assert!(fused.pout == staged.pout && fused.hout == staged.hout, "{scenario} month {month}: policy outputs differ");
        }
        assert!(fused.born > 0 && fused.persons.len() != pop.persons.len(), "births and deaths happened");
    }
}
