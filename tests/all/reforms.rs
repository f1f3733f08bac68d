//! Reforms against the baseline with common random numbers: an identical reform differs by
//! exactly nothing; abolishing the two-child limit raises Universal Credit, makes nobody worse
//! off, and its winners are concentrated in the bottom deciles.

use crate::util;
use policy_twin::gpu::{engine::GpuOptions, Backend};
use policy_twin::measures::M;
use policy_twin::run::{run_all, RunSpec};
use policy_twin::scenario::Scenario;

fn scen(name: &str) -> Scenario {
    let mut s = Scenario::load(&util::root().join("scenarios").join(name)).unwrap();
    s.years = 2;
    s
}

fn spec() -> RunSpec {
    RunSpec { backend: Backend::Cpu, gpu: GpuOptions::default() }
}

#[test]
fn an_identical_reform_shows_exactly_zero_difference() {
    let (_, pop) = util::pop60k();
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("same.toml"), format!("[scenario]\nname = \"same\"\nbaseline = \"{}\"\n", util::root().join("scenarios/baseline.toml").display())).unwrap();
    let mut same = Scenario::load(&d.path().join("same.toml")).unwrap();
    same.years = 2;
    let runs = run_all(pop, &[scen("baseline.toml"), same, scen("lha_frozen.toml")], &spec(), &mut |_, _, _| Ok(())).unwrap();
    for r in &runs[1..] {
        assert_eq!(r.accs, runs[0].accs, "{}: every aggregate identical", r.name);
        assert!(!r.distribution.is_empty());
        for d in &r.distribution {
            assert_eq!((d.total_change, d.winners, d.losers), (0, 0, 0), "{}: {d:?}", r.name);
        }
    }
}

#[test]
fn abolishing_the_two_child_limit_raises_uc_with_no_losers_and_helps_the_poorest() {
    let (_, pop) = util::pop60k();
    let runs = run_all(pop, &[scen("baseline.toml"), scen("two_child_limit_abolished.toml")], &spec(), &mut |_, _, _| Ok(())).unwrap();
    let (base, reform) = (&runs[0], &runs[1]);
    // nothing changes before April 2026 (month 12); UC spend is never lower after, and higher overall
    for m in 0..12 {
        assert_eq!(base.accs[m], reform.accs[m], "month {m}: before the reform starts");
    }
    let uc = |r: &policy_twin::run::ScenarioRun, m: usize| r.accs[m].total(M::Uc);
    for m in 12..24 {
        assert!(uc(reform, m) >= uc(base, m), "month {m}");
    }
    assert!(uc(reform, 23) > uc(base, 23), "the third child element must be paid to someone");
    // year 2: no losers anywhere; winners concentrated at the bottom
    let year2: Vec<_> = reform.distribution.iter().filter(|d| d.year == base_year2()).collect();
    assert!(year2.iter().all(|d| d.losers == 0), "no household loses");
    let all: Vec<_> = year2.iter().filter(|d| d.region.is_none() && d.htype.is_none()).collect();
    assert_eq!(all.len(), 10);
    let share = |d: &&&policy_twin::distribution::DistRow| d.winners as f64 / d.persons as f64;
    let bottom: f64 = all[..3].iter().map(share).sum();
    let top: f64 = all[7..].iter().map(share).sum();
    assert!(bottom > 0.0 && bottom > 3.0 * top, "winners: bottom 3 deciles {bottom}, top 3 {top}");
    // pensioner households (typed at the start; they cannot have children) never gain
    for d in year2.iter().filter(|d| d.winners > 0) {
        let t = policy_twin::distribution::type_name(d.htype);
        assert!(!t.contains("pensioner"), "a {t} household gained");
    }
    assert!(year2.iter().any(|d| d.winners > 0 && policy_twin::distribution::type_name(d.htype) == "lone_parent"), "lone parents gain");
}

fn base_year2() -> u32 {
    util::baseline().start.add(12).0
}

#[test]
fn reforms_must_share_the_baselines_seed_start_and_horizon() {
    let mut r = scen("two_child_limit_abolished.toml");
    r.seed += 1;
    let err = policy_twin::run::check_comparable(&[scen("baseline.toml"), r]).unwrap_err().to_string();
    assert!(err.contains("scenario.seed") && err.contains("common random numbers"), "{err}");
}

#[test]
fn every_shipped_reform_loads_and_states_its_question() {
    for e in std::fs::read_dir(util::root().join("scenarios")).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        let s = Scenario::load(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        if s.name != "baseline" {
            assert!(text.contains("question = "), "{} must state the question it answers", p.display());
            assert_eq!(s.files.len(), 2, "{} is a reform of the baseline", p.display());
        }
    }
}
