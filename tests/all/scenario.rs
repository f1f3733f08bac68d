//! Scenario files: the baseline is complete and valid; broken files are refused with the key
//! named; reforms override only what they change.

use crate::util;
use policy_twin::month::Month;
use policy_twin::scenario::Scenario;
use std::path::{Path, PathBuf};

/// The baseline's text with data paths made absolute, so a copy works from any directory.
fn baseline_text() -> String {
    std::fs::read_to_string(util::root().join("scenarios/baseline.toml")).unwrap().replace("\"../data/", &format!("\"{}/data/", util::root().display()))
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn refused(text: &str, fragments: &[&str]) {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "s.toml", text);
    let err = Scenario::load(&p).expect_err("must be refused").to_string();
    for f in fragments {
        assert!(err.contains(f), "error `{err}` lacks `{f}`");
    }
}

#[test]
fn baseline_resolves_every_month_of_the_run() {
    let s = util::baseline();
    assert_eq!(s.name, "baseline");
    assert_eq!(s.months(), 120);
    for m in 0..s.months() {
        s.resolve(s.start.add(m), m).unwrap();
    }
    let p0 = s.resolve(Month::new(2024, 6), 0).unwrap();
    let p1 = s.resolve(Month::new(2025, 6), 0).unwrap();
    assert_eq!(p0.sp_full, 95_853, "221.20 * 52 / 12 = 958.53");
    assert_eq!(p1.sp_full, 99_775, "230.25 * 52 / 12 = 997.75");
    assert_eq!(p1.pa, 1_257_000, "annual pence");
    assert_eq!(p1.uc_taper_bp, 5_500);
    assert_eq!(p1.cap_family_london, 211_025);
}

#[test]
fn unknown_keys_are_named() {
    refused(&baseline_text().replace("[income_tax.basic_rate]", "[income_tax.basic_rte]"), &["`income_tax.basic_rte`", "unknown parameter", "income_tax.basic_rate"]);
    refused(&format!("{}\n[nonsense]\nvalue = 1\nunit = \"count\"\n", baseline_text()), &["`nonsense`", "unknown parameter"]);
    refused(&baseline_text().replace("seed = 20250401", "seed = 20250401\nsed = 4"), &["`scenario.sed`", "unknown key"]);
    refused(&baseline_text().replace("life_table_period = \"2022-2024\"", "life_table_period = \"2022-2024\"\nmortality = \"x.csv\""), &["`data.mortality`", "unknown data table"]);
    let t = baseline_text();
    let typo = t.replacen("reference = \"uk_tax_benefit_params.csv income_tax.ruk.basic_rate\"", "refrence = \"x\"", 1);
    assert_ne!(typo, t, "the test must change something");
    refused(&typo, &["`income_tax.basic_rate.refrence`", "unknown key"]);
}

#[test]
fn wrong_units_and_bad_values_are_named() {
    let t = baseline_text();
    refused(
        &t.replace("[income_tax.basic_rate]\nunit = \"fraction\"", "[income_tax.basic_rate]\nunit = \"percent\""),
        &["`income_tax.basic_rate.unit`", "wrong unit `percent`", "fraction"],
    );
    refused(&t.replace("values = { 2024-04 = 0.20 }", "values = { 2024-04 = 20 }"), &["income_tax.basic_rate (2024-04)", "outside the valid range"]);
    refused(&t.replace("values = { 2024-04 = 0.20 }", "values = { 2024-04 = 0.20005 }"), &["income_tax.basic_rate", "basis points"]);
    refused(&t.replace("values = { 2024-04 = 0.20 }", "values = { 2024-04 = \"high\" }"), &["income_tax.basic_rate", "expected a number"]);
    refused(&t.replace("values = { 2024-04 = 0.20 }", "values = { 2024-13 = 0.2 }"), &["income_tax.basic_rate.values.2024-13", "not a date"]);
    refused(&t.replace("values = { 2024-04 = 0.20 }", "values = { 2024-04 = 0.2, 2024-04-06 = 0.25 }"), &["a second value for 2024-04"]);
    refused(&t.replace("values = { 2024-04 = 0.20 }", "values = { 2026-04 = 0.2 }"), &["income_tax.basic_rate", "after the run starts"]);
    refused(&t.replace("values = { 2024-04 = 14250 }", "values = { 2024-04 = 30000 }"), &["social_care.lower_capital_limit", "above the upper limit"]);
    refused(&t.replace("start = \"2025-04\"", "start = \"April 2025\""), &["scenario.start", "not a month"]);
    refused(&t.replace("years = 10", "years = 0"), &["scenario.years"]);
}

#[test]
fn missing_parameter_is_named() {
    let t = baseline_text();
    let cut = t.replace("[universal_credit.taper_rate]\nunit = \"fraction\"\nreference = \"uk_tax_benefit_params.csv uc.taper_rate (55% since 24 Nov 2021)\"\nvalues = { 2024-04 = 0.55 }\n", "");
    assert_ne!(cut, t, "the test must remove something");
    refused(&cut, &["`universal_credit.taper_rate`", "missing"]);
}

#[test]
fn reform_overrides_from_its_date_and_keeps_the_rest() {
    let d = tempfile::tempdir().unwrap();
    let base = write(d.path(), "base.toml", &baseline_text());
    let reform = write(
        d.path(),
        "reform.toml",
        "[scenario]\nname = \"taper50\"\nbaseline = \"base.toml\"\n\n[universal_credit.taper_rate]\nunit = \"fraction\"\nreference = \"test\"\nvalues = { 2026-04 = 0.50 }\n\n[state_pension.full_rate]\nunit = \"GBP/week\"\nreference = \"test\"\nvalues = { 2027-04 = 240 }\n\n[state_pension.basic_rate]\nunit = \"GBP/year\"\nreference = \"a unit other than the baseline's\"\nvalues = { 2028-04 = 10000 }\n",
    );
    let b = Scenario::load(&base).unwrap();
    let r = Scenario::load(&reform).unwrap();
    assert_eq!(r.name, "taper50");
    assert_eq!(r.seed, b.seed);
    assert_eq!(r.start, b.start);
    assert_eq!(r.files.len(), 2);
    let at = |s: &Scenario, y, m| s.resolve(Month::new(y, m), 0).unwrap();
    assert_eq!(at(&r, 2026, 3).uc_taper_bp, 5500, "baseline before the reform date");
    assert_eq!(at(&r, 2026, 4).uc_taper_bp, 5000, "reform from its date");
    assert_eq!(at(&r, 2026, 4).sp_full, at(&b, 2026, 4).sp_full, "baseline's 2025 value kept until the reform's");
    assert_eq!(at(&r, 2027, 4).sp_full, 104_000);
    assert_eq!(at(&r, 2028, 3).sp_basic, 76_462, "baseline's weekly values keep their unit");
    assert_eq!(at(&r, 2028, 4).sp_basic, 83_333, "the reform's yearly value in its own unit");
    // everything not named is the baseline's
    let (rp, bp) = (at(&r, 2025, 6), at(&b, 2025, 6));
    assert_eq!(rp, bp);
    // an identical reform resolves identically in every month
    let same = write(d.path(), "same.toml", "[scenario]\nname = \"same\"\nbaseline = \"base.toml\"\n");
    let s = Scenario::load(&same).unwrap();
    for m in 0..120 {
        assert_eq!(s.resolve(s.start.add(m), m).unwrap(), b.resolve(b.start.add(m), m).unwrap());
    }
    // a reform naming a missing baseline
    let bad = write(d.path(), "bad.toml", "[scenario]\nname = \"bad\"\nbaseline = \"nope.toml\"\n");
    let err = Scenario::load(&bad).unwrap_err().to_string();
    assert!(err.contains("scenario.baseline") && err.contains("does not exist"), "{err}");
}
