//! Housing and services (MODEL.md §3 steps 6–8): hand-computed arrears and queue cases,
//! conservation of every waiting list, capacities respected, and reforms of capacity whose
//! effects have the right sign (sharp because of common random numbers).

use crate::util;
use policy_twin::codes::*;
use policy_twin::cpu::{housing::arrears_step, services, Ctx};
use policy_twin::engine::Engine;
use policy_twin::gpu::{engine::GpuOptions, Backend};
use policy_twin::measures::*;
use policy_twin::rng::{StepKeys, PERSISTENT_STEP};
use policy_twin::run::{run_all, RunSpec};
use policy_twin::scenario::Scenario;
use policy_twin::state::*;
use policy_twin::tables::Tables;

fn ctx_for<'a>(p: &'a policy_twin::params::StepParams, t: &'a Tables) -> Ctx<'a> {
    Ctx { p, t, keys: StepKeys::new(5, 3), persistent: StepKeys::new(5, PERSISTENT_STEP) }
}

/// Arrears by hand, with the baseline's 70% affordable share, 2 months' threshold, 1% monthly
/// eviction probability for private tenants and the 1.5 income-fall multiplier.
#[test]
fn arrears_by_hand() {
    let s = util::baseline();
    let t = Tables::build(&s).unwrap();
    let p = s.resolve(s.start, 0).unwrap();
    assert_eq!((p.afford_bp, p.evict_months, p.evict_private_bp, p.sp_income_arrears_bp), (7_000, 2, 100, 15_000));
    let ctx = ctx_for(&p, &t);
    let no = 9_999; // a draw that never evicts (9999 % 10000 is not below 100)
    // rent £800, net income £1,000: £700 affordable, £100 of arrears
    assert_eq!(arrears_step(&ctx, PRIVATE_RENT, 80_000, 0, 100_000, 100_000, no), (10_000, false));
    // income rises to £1,200: £840 affordable pays the rent and £40 of the arrears
    assert_eq!(arrears_step(&ctx, PRIVATE_RENT, 80_000, 10_000, 120_000, 100_000, no), (6_000, false));
    // income falls from £1,000 to £900: £630 affordable, £170 built, x1.5 = £255
    assert_eq!(arrears_step(&ctx, SOCIAL_RENT, 80_000, 0, 90_000, 100_000, no), (25_500, false));
    // arrears reach two months' rent: evicted when the draw is below 1% (arrears written off)
    assert_eq!(arrears_step(&ctx, PRIVATE_RENT, 80_000, 150_000, 100_000, 100_000, 99), (0, true));
    assert_eq!(arrears_step(&ctx, PRIVATE_RENT, 80_000, 150_000, 100_000, 100_000, 100), (160_000, false));
    // social tenants: 0.4%
    assert_eq!(arrears_step(&ctx, SOCIAL_RENT, 80_000, 150_000, 100_000, 100_000, 39), (0, true));
    assert!(!arrears_step(&ctx, SOCIAL_RENT, 80_000, 150_000, 100_000, 100_000, 40).1);
    // owners, homeless households and temporary accommodation build none
    for ten in [OWNER, HOMELESS, TEMPORARY] {
        assert_eq!(arrears_step(&ctx, ten, 80_000, 0, 0, 100_000, 0), (0, false));
    }
}

/// Five people in one region waiting for a GP appointment for 3, 1, 2, 5 and 2 months, and a
/// capacity of 2 appointments: the 5- and 3-month waiters are served; the rest wait a month
/// longer. With a capacity of 3, exactly one of the two 2-month waiters is served, the one with
/// the larger random key.
#[test]
fn gp_queue_serves_the_longest_waiting_first() {
    let s = util::baseline();
    let t = Tables::build(&s).unwrap();
    let mut p = s.resolve(s.start, 0).unwrap();
    p.max_wait_gp = 12;
    let waits = [3u32, 1, 2, 5, 2];
    let run = |capacity: u32| {
        let mut p = p;
        p.capacity = [0; 84];
        p.capacity[S_GP as usize * 12] = capacity;
        let ctx = ctx_for(&p, &t);
        let mut persons = Persons::default();
        let mut hh = Households::default();
        for (k, &w) in waits.iter().enumerate() {
            persons.push(100 + k as u64, k as u32, 40 * 12, pack_status(FEMALE, EMPLOYED, GOOD, CARE_NONE), 0, 0);
            persons.svc_wait[k] = set_wait(0, S_GP, w);
            hh.id.push(k as u64);
            hh.info.push(pack_info(0, OWNER));
            hh.rent.push(0);
            hh.weight.push(1);
        }
        hh.index_members(&persons.household);
        hh.init_housing();
        let acc = services::services(&ctx, &mut persons, &mut hh);
        let gp: Vec<u32> = (0..5).map(|i| wait_of(persons.svc_wait[i], S_GP)).collect();
        let keys: Vec<u32> = (0..5).map(|i| services::queue_key(&ctx.keys, persons.id_lo[i], persons.id_hi[i], S_GP)).collect();
        (gp, acc, keys)
    };
    let (gp, acc, _) = run(2);
    assert_eq!(gp, vec![0, 2, 3, 0, 3], "served: 5 and 3 months; the others wait a month more");
    let m = |k| acc.total_at(service_measure(S_GP, k));
    assert_eq!((m(SM_DEMAND), m(SM_NEW), m(SM_SERVED), m(SM_UNMET), m(SM_WAITING), m(SM_LEFT)), (5, 0, 2, 3, 3, 0));
    assert_eq!((m(SM_UNITS), m(SM_COST), m(SM_UNITS_DEMANDED)), (2, 2 * 4_800, 5));

    let (gp, _, keys) = run(3);
    let c_first = keys[2] > keys[4];
    assert_eq!(gp, vec![0, 2, if c_first { 0 } else { 3 }, 0, if c_first { 3 } else { 0 }], "the tie goes to the larger key");
    // and the longest waiter is never passed over for a smaller request: capacity 0 serves nobody
    assert_eq!(run(0).0, vec![4, 2, 3, 6, 3]);
}

/// Every month, for every service: demand = new + carried over; demand = served + waiting +
/// left; last month's waiting list = carried over + died waiting. Two lists carry more than
/// waiters or lose them silently, so for them carried over is bounded instead: care packages in
/// payment continue (carried ≤ last month's list + last month's served), and a household in
/// temporary accommodation whose members all die leaves the lettings list (carried ≤ last
/// month's list). And no region is served beyond its capacity.
#[test]
fn waiting_lists_conserve_people_and_respect_capacity() {
    let (_, pop) = util::pop60k();
    let s = util::baseline();
    let mut e = Engine::new(pop.clone(), &s, s.seed, 24).unwrap();
    let mut prev_waiting = [0u64; N_SERVICES];
    let mut prev_served = [0u64; N_SERVICES];
    let mut bound = 0;
    for month in 0..24 {
        let p = *e.step_params();
        let a = e.step();
        for svc in 0..N_SERVICES as u32 {
            let m = |k| a.total_at(service_measure(svc, k));
            let (demand, new, served, waiting, left, died) = (m(SM_DEMAND), m(SM_NEW), m(SM_SERVED), m(SM_WAITING), m(SM_LEFT), m(SM_DIED));
            assert_eq!(demand, served + waiting + left, "month {month} service {svc}: demand = served + waiting + left");
            assert_eq!(m(SM_UNMET), demand - served, "month {month} service {svc}: unmet = demand - served");
            let carried = demand - new;
            if svc == S_LETTINGS {
                assert!(carried <= prev_waiting[svc as usize], "month {month}: lettings carried {carried} > waiting {}", prev_waiting[svc as usize]);
            } else if svc == S_CARE {
                assert!(carried + died <= prev_waiting[3] + prev_served[3], "month {month}: care carried {carried}");
            } else {
                assert_eq!(prev_waiting[svc as usize], carried + died, "month {month} service {svc}: last month's list = carried + died waiting");
            }
            prev_waiting[svc as usize] = waiting;
            prev_served[svc as usize] = served;
            for r in 0..12u32 {
                let units: u64 = (0..16).map(|k| a.get_at(r as usize * 16 + k, service_measure(svc, SM_UNITS))).sum();
                let cap = p.capacity[svc as usize * 12 + r as usize] as u64;
                assert!(units <= cap, "month {month} service {svc} region {r}: {units} units served, capacity {cap}");
                bound += (m(SM_UNMET) > 0) as u32;
            }
        }
    }
    assert!(bound > 0, "capacity never bound: the test would prove nothing");
}

fn scen(path: &std::path::Path) -> Scenario {
    let mut s = Scenario::load(path).unwrap();
    s.years = 2;
    s
}

/// Less social-care capacity: more unmet care need, and through the delayed-discharge and
/// admission spillovers more hospital admissions and bed-days demanded. More capacity: the
/// reverse. Fewer GP appointments: longer GP waiting lists, nothing else changes.
#[test]
fn capacity_reforms_move_services_the_right_way() {
    let (_, pop) = util::pop60k();
    let d = tempfile::tempdir().unwrap();
    let regions: String = REGION_KEYS.iter().map(|r| format!("{r} = {{ unit = \"per_1000_residents/month\", values = {{ 2025-04 = 544 }} }}\n")).collect();
    std::fs::write(
        d.path().join("care_minus_20.toml"),
        format!(
            "[scenario]\nname = \"care_minus_20\"\nbaseline = \"{}\"\n\n[services.social_care.capacity]\n{regions}",
            util::root().join("scenarios/baseline.toml").display()
        ),
    )
    .unwrap();
    let sc = |n: &str| scen(&util::root().join("scenarios").join(n));
    let runs = run_all(
        pop,
        &[sc("baseline.toml"), scen(&d.path().join("care_minus_20.toml")), sc("social_care_capacity_plus_20.toml"), sc("gp_capacity_minus_10.toml")],
        &RunSpec { backend: Backend::Cpu, gpu: GpuOptions::default() },
        &mut |_, _, _| Ok(()),
    )
    .unwrap();
    let sum = |r: usize, m: usize| runs[r].accs.iter().map(|a| a.total_at(m)).sum::<u64>();
    let care_unmet = service_measure(S_CARE, SM_UNMET);
    let admissions = service_measure(S_HOSPITAL, SM_NEW);
    let bed_days = service_measure(S_HOSPITAL, SM_UNITS_DEMANDED);
    assert!(sum(1, care_unmet) > sum(0, care_unmet), "less care capacity: more unmet care need");
    assert!(sum(1, admissions) > sum(0, admissions), "less care capacity: more admissions");
    assert!(sum(1, bed_days) > sum(0, bed_days), "less care capacity: more bed-days");
    assert!(sum(2, care_unmet) < sum(0, care_unmet), "more care capacity: less unmet need");
    assert!(sum(2, bed_days) < sum(0, bed_days), "more care capacity: fewer bed-days");
    let gp_waiting = service_measure(S_GP, SM_WAITING);
    assert!(sum(3, gp_waiting) > sum(0, gp_waiting), "fewer GP appointments: longer lists");
    for m in 0..12 {
        assert_eq!(runs[3].accs[m], runs[0].accs[m], "month {m}: the GP cut starts in April 2026");
        assert_eq!(runs[2].accs[m], runs[0].accs[m], "month {m}: the care rise starts in April 2026");
    }
    for (k, m) in MEASURES.iter().enumerate() {
        let gp_block = service_measure(S_GP, 0)..service_measure(S_GP, 0) + SERVICE_MEASURES;
        if !gp_block.contains(&k) {
            assert_eq!(sum(3, k), sum(0, k), "a GP cut changes only GP measures (no GP spillover is modelled): {}", m.name);
        }
    }
}

/// The numpy re-implementation of the month step (scripts/numpy_compare/step.py, which adds
/// every measure per person and request) gives the same aggregates as twin, every measure in
/// every cell and month: an oracle written apart from the Rust code, so it also checks the
/// service measures twin derives after the month instead of adding them per request
/// (measures::derive_service_measures), which CPU/GPU parity cannot (both paths derive).
/// The population and months are chosen so that homelessness and social lettings are
/// served and employment support's waiters leave, and a reform gives lettings a unit cost
/// (the baseline's is zero), so those services' derived units and cost are not 0 = 0.
#[test]
fn the_numpy_step_agrees_on_every_measure() {
    if !util::python_with("numpy, pyarrow") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let pop = d.path().join("pop");
    util::synth_into(&pop, 12_000, 22, 1);
    let scenario = d.path().join("lettings_cost.toml");
    let baseline = util::root().join("scenarios/baseline.toml");
    std::fs::write(
        &scenario,
        format!(
            "[scenario]\nname = \"lettings_cost\"\nbaseline = {:?}\nquestion = \"a test\"\ndescription = \"a test\"\n\n\
             [services.social_lettings.unit_cost]\nunit = \"GBP\"\nreference = \"ASSUMPTION: a test's cost\"\nassumption = true\nvalues = {{ 2025-04 = 50.00 }}\n",
            baseline.to_str().unwrap()
        ),
    )
    .unwrap();
    let (pop_s, scen_s) = (pop.to_str().unwrap(), scenario.to_str().unwrap());
    let out = std::process::Command::new("python3")
        .arg(util::root().join("scripts/numpy_compare/compare.py"))
        .args(["--population", pop_s, "--scenario", scen_s, "--months", "24", "--twin", util::twin().to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let n = MEASURES.len();
    assert!(stdout.contains(&format!("{n}/{n} measures identical in every cell and month")), "{stdout}");
    // what the comparison covered: the derived measures of the rarer services are not zero
    let (code, _, stderr) = util::run_twin(&["run", "-q", "--population", pop_s, "--scenario", scen_s, "--years", "2", "--backend", "cpu", "--out", "r"], d.path());
    assert_eq!(code, 0, "{stderr}");
    let batches = util::read_parquet(&d.path().join("r/aggregates.parquet"));
    let total = |name: &str| -> i64 { batches.iter().map(|b| arrow_array::cast::AsArray::as_primitive::<arrow_array::types::Int64Type>(b.column_by_name(name).unwrap()).iter().flatten().sum::<i64>()).sum() };
    for m in ["homelessness_service_units", "homelessness_service_cost_pence", "social_lettings_units", "social_lettings_cost_pence", "employment_support_left", "social_care_left"] {
        assert!(total(m) > 0, "{m} is 0: the comparison does not cover it");
    }
}
