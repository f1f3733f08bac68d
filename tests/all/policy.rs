//! Hand-computed policy cases from tests/cases/policy.toml, run through the real stages
//! (`person_policy` then `household_policy`) on a one-household population.

use crate::util;
use policy_twin::codes;
use policy_twin::cpu::{household_policy, person_policy, Ctx};
use policy_twin::month::Month;
use policy_twin::rng::{StepKeys, PERSISTENT_STEP};
use policy_twin::scenario::Value;
use policy_twin::state::*;
use policy_twin::tables::Tables;

fn num(v: &toml::Value) -> f64 {
    v.as_float().or_else(|| v.as_integer().map(|i| i as f64)).expect("number")
}

fn run_case(case: &toml::Table) -> Vec<String> {
    let name = case["name"].as_str().unwrap();
    let month = Month::parse(case["month"].as_str().unwrap()).unwrap();
    let mut scenario = util::baseline();
    if let Some(o) = case.get("overrides").and_then(|o| o.as_table()) {
        for (k, v) in o {
            let val = match v {
                toml::Value::Boolean(b) => Value::Bool(*b),
                toml::Value::String(s) => Value::Text(s.clone()),
                other => Value::Num(num(other)),
            };
            let param = scenario.params.get_mut(k).unwrap_or_else(|| panic!("{name}: unknown override {k}"));
            let unit = param.points[0].2.clone();
            param.points = vec![(Month(0), val, unit)];
        }
    }
    let p = scenario.resolve(month, 0).unwrap();
    let tables = Tables::build(&scenario).unwrap();
    let h = case["household"].as_table().unwrap();
    let mut hh = Households::default();
    hh.id.push(1);
    let region = codes::region_code(h["region"].as_str().unwrap()).unwrap();
    let tenure = codes::lookup(&codes::TENURE, h["tenure"].as_str().unwrap()).unwrap();
    hh.info.push(pack_info(region, tenure));
    hh.rent.push((num(&h["rent"]) * 100.0).round() as u32);
    hh.weight.push(1);
    let mut persons = Persons::default();
    for (i, m) in case["person"].as_array().unwrap().iter().enumerate() {
        let m = m.as_table().unwrap();
        let get = |k: &str, d: &str| m.get(k).and_then(|v| v.as_str()).unwrap_or(d).to_string();
        let age_months = m.get("age_months").map(|v| v.as_integer().unwrap() as u32).unwrap_or_else(|| m["age"].as_integer().unwrap() as u32 * 12);
        let status = pack_status(
            codes::lookup(&codes::SEX, &get("sex", "female")).unwrap(),
            codes::lookup(&codes::EMPLOYMENT, &get("employment", "inactive")).unwrap(),
            codes::lookup(&codes::HEALTH, &get("health", "good")).unwrap(),
            codes::lookup(&codes::CARE_NEED, &get("care_need", "none")).unwrap(),
        );
        let earnings = m.get("earnings").map(num).unwrap_or(0.0);
        let wealth = m.get("wealth").map(num).unwrap_or(0.0);
        persons.push(100 + i as u64, 0, age_months, status, (earnings * 100.0).round() as u32, wealth.round() as u32);
    }
    hh.index_members(&persons.household);
    let ctx = Ctx { p: &p, t: &tables, keys: StepKeys::new(1, 0), persistent: StepKeys::new(1, PERSISTENT_STEP) };
    let mut pout = PersonOut::default();
    person_policy::person_policy(&ctx, &mut persons, &mut pout);
    let mut hout = HouseholdOut::default();
    household_policy::household_policy(&ctx, &persons, &pout, &hh, &mut hout);

    let mut failures = Vec::new();
    let mut check = |what: &str, got: u64, want: u64| {
        if got != want {
            failures.push(format!("{name}: {what}: got {got}, expected {want}"));
        }
    };
    for (k, v) in case["expect"].as_table().unwrap() {
        match v {
            toml::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if k == "care_funding" {
                        let want = match item.as_str().unwrap() {
                            "none" => FUNDING_NONE,
                            "council" => FUNDING_COUNCIL,
                            "self" => FUNDING_SELF,
                            other => panic!("{other}"),
                        };
                        check(&format!("{k}[{i}]"), care_funding(persons.status[i]) as u64, want as u64);
                        continue;
                    }
                    let col = match k.as_str() {
                        "income_tax" => &pout.income_tax,
                        "ni" => &pout.ni,
                        "state_pension" => &pout.state_pension,
                        "disability" => &pout.disability,
                        "care_tariff" => &pout.care_tariff,
                        other => panic!("{name}: unknown person output {other}"),
                    };
                    check(&format!("{k}[{i}]"), col[i] as u64, item.as_integer().unwrap() as u64);
                }
            }
            v => {
                let col = match k.as_str() {
                    "universal_credit" => &hout.universal_credit,
                    "pension_credit" => &hout.pension_credit,
                    "child_benefit" => &hout.child_benefit,
                    "hicbc" => &hout.hicbc,
                    "cap_reduction" => &hout.cap_reduction,
                    "net_income" => &hout.net_income,
                    other => panic!("{name}: unknown household output {other}"),
                };
                check(k, col[0] as u64, v.as_integer().unwrap() as u64);
            }
        }
    }
    failures
}

#[test]
fn hand_computed_cases() {
    let text = std::fs::read_to_string(util::root().join("tests/cases/policy.toml")).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    let cases = doc["case"].as_array().unwrap();
    assert!(cases.len() >= 10);
    let failures: Vec<String> = cases.iter().flat_map(|c| run_case(c.as_table().unwrap())).collect();
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}
