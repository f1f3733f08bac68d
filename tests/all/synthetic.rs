//! The synthetic population against the official figures it is built from.

use crate::util;
use policy_twin::codes::*;
use policy_twin::state::*;

struct Shares {
    n: f64,
}

impl Shares {
    fn share(&self, k: usize) -> f64 {
        k as f64 / self.n
    }
}

#[test]
fn synthetic_population_follows_official_structure() {
    let (_, pop) = util::pop60k();
    let p = &pop.persons;
    let hh = &pop.households;
    let n = p.len();
    assert_eq!(n, 60_000);
    let all = Shares { n: n as f64 };

    // ONS mid-2022: 0-15 share 18.6%? computed from the reference file
    let ons = policy_twin::data::CsvTable::read(&util::root().join("data/reference/uk_population_by_age_sex.csv")).unwrap();
    let (ca, cp) = (ons.col("age").unwrap(), ons.col("persons").unwrap());
    let mut band_ons = [0f64; 8];
    let mut total = 0f64;
    for r in 0..ons.rows.len() {
        let a: u32 = ons.str_at(r, ca).trim_end_matches('+').parse().unwrap();
        let v = ons.f64_at(r, cp).unwrap();
        band_ons[age_band(a) as usize] += v;
        total += v;
    }
    let mut band = [0usize; 8];
    for i in 0..n {
        band[age_band(p.age_months[i] / 12) as usize] += 1;
    }
    for b in 0..8 {
        let want = band_ons[b] / total;
        assert!((all.share(band[b]) - want).abs() < 0.002, "band {} {} vs ONS {want}", AGE_BANDS[b], all.share(band[b]));
    }
    let males = (0..n).filter(|&i| sex(p.status[i]) == MALE).count();
    assert!((all.share(males) - 33_104_780.0 / 67_596_281.0).abs() < 0.002);

    // regions (ONS mid-2022): London 13.1% of the UK
    let london = (0..n).filter(|&i| region(hh.info[p.household[i] as usize]) == LONDON).count();
    assert!((all.share(london) - 8_866_180.0 / 67_596_281.0).abs() < 0.015, "london {}", all.share(london));

    // households: mean size 2.36, 30% one-person; EHS tenure 65/19/16
    let h = hh.count() as f64;
    assert!((n as f64 / h - 2.36).abs() < 0.03, "mean size {}", n as f64 / h);
    let mut size1 = 0;
    let mut tenure_n = [0usize; 4];
    let mut members = vec![0u32; hh.count()];
    for &x in &p.household {
        members[x as usize] += 1;
    }
    for k in 0..hh.count() {
        size1 += (members[k] == 1) as usize;
        tenure_n[tenure(hh.info[k]) as usize] += 1;
    }
    assert!((size1 as f64 / h - 0.30).abs() < 0.015, "one-person {}", size1 as f64 / h);
    for (t, want, tol) in [(OWNER, 0.65, 0.04), (PRIVATE_RENT, 0.19, 0.04), (SOCIAL_RENT, 0.16, 0.03)] {
        let got = tenure_n[t as usize] as f64 / h;
        assert!((got - want).abs() < tol, "tenure {} {got} vs EHS {want}", TENURE[t as usize]);
    }

    // LFS 16-64: employment 74.9%, unemployed ≈ 3.4% of the age group
    let working_age: Vec<usize> = (0..n).filter(|&i| (16..=64).contains(&(p.age_months[i] / 12))).collect();
    let wa = Shares { n: working_age.len() as f64 };
    let emp = working_age.iter().filter(|&&i| employment(p.status[i]) == EMPLOYED).count();
    assert!((wa.share(emp) - 0.749).abs() < 0.02, "employment rate 16-64 {}", wa.share(emp));

    // FRS 2022-23 disability prevalence: children 11%, working age 23%, 66+ 45% (±3 points)
    let prev = |lo: u32, hi: u32| {
        let ids: Vec<usize> = (0..n).filter(|&i| (lo..=hi).contains(&(p.age_months[i] / 12))).collect();
        ids.iter().filter(|&&i| health(p.status[i]) != GOOD).count() as f64 / ids.len() as f64
    };
    assert!((prev(0, 15) - 0.11).abs() < 0.03, "children {}", prev(0, 15));
    assert!((prev(16, 65) - 0.23).abs() < 0.03, "working age {}", prev(16, 65));
    assert!((prev(66, 110) - 0.45).abs() < 0.04, "pension age {}", prev(66, 110));

    // every child under 16 lives with someone aged 18 or over
    for k in 0..hh.count() {
        let (s, l) = (hh.start[k] as usize, hh.len[k] as usize);
        let has_child = (s..s + l).any(|i| p.age_months[i] < 16 * 12);
        let has_adult = (s..s + l).any(|i| p.age_months[i] >= 18 * 12);
        assert!(!has_child || has_adult, "household {k} has a child and no adult");
    }
    // weights as asked
    assert!(hh.weight.iter().all(|&w| w == 3));
}

#[test]
fn synthesis_is_deterministic_and_seeded() {
    let (a, b, c) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    util::synth_into(a.path(), 5_000, 42, 1);
    util::synth_into(b.path(), 5_000, 42, 1);
    util::synth_into(c.path(), 5_000, 43, 1);
    for f in ["persons.parquet", "households.parquet"] {
        let (x, y, z) = (std::fs::read(a.path().join(f)).unwrap(), std::fs::read(b.path().join(f)).unwrap(), std::fs::read(c.path().join(f)).unwrap());
        assert!(x == y, "{f}: same seed, same bytes");
        assert!(x != z, "{f}: another seed, another population");
    }
}
