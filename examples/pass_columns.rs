//! What each GPU pass would move if it streamed every person and household column it binds:
//! for each entry point (the shaders as the engine assembles them, workgroup 256), the
//! storage buffers it binds, the per-person and per-household columns it reads and writes (naga's usage of each global),
//! and the bytes a person-step that makes at the population's households per person. With a
//! `twin bench --gpu-profile` JSON, each pass's device time turns that into GB/s: against
//! the copy bandwidth, a pass near it is bound by its bytes, one far below by something else
//! (its instructions, its atomics, the latency of its gathers). An upper bound on a pass's
//! bytes where it touches only some persons (the list passes, the apply over requests), and
//! not a count of cache lines (a gather by household reads whole lines).
//!
//! Then the month's sweeps under the default options and with every fusion on, summed from
//! those bytes: the passes over lists at the share of persons on them, and the columns a
//! pass binds but reads only for rare cases (`RARE`) left out (a skipped read saves traffic
//! only where all eight persons of a 32-byte sector skip, so only rare cases count).
//!
//!     cargo run --release --example pass_columns -- [BENCH_JSON]
use policy_twin::gpu::engine::{column_kind, ColumnKind};
use std::collections::HashMap;

/// Columns an entry point binds but reads only for a rare case, and the case (the shares
/// measured on the shipped sample's first months, benches/README.md).
const RARE: &[(&str, &[&str], &str)] = &[
    ("demography", &["household", "hh_info", "hh_weight", "svc_wait"], "a death or a birth: about one person in 600 a month"),
    ("person_policy", &["wealth"], "care eligibility: 1,575 of 99,971 persons"),
    ("person_stages_pass", &["wealth"], "care eligibility"),
    ("person_month", &["wealth"], "care eligibility"),
    ("accounting", &["care_tariff"], "council-funded care: 889 of 99,971 persons"),
    ("services_demand", &["hh_start"], "temporary accommodation or homelessness: about one household in 200"),
    ("services_demand_listing", &["hh_start"], "the same"),
    ("services_hist", &["hh_start"], "the same"),
    ("services_hist_requests", &["hh_start"], "the same"),
    ("services_hist_list", &["hh_start"], "the same"),
    ("services_apply", &["hh_start"], "the same"),
    ("services_apply_requests", &["hh_start"], "the same"),
];

/// Shares of the persons a pass over a list goes through: the request list (37.5-40.1% of
/// persons asked for a service in a month on lavapipe, twelfth session) and each of radix
/// passes 2-4's lists (an assumption: run 8's 16,618 GB/s "if streamed" for them says they
/// touch few).
const REQUEST_SHARE: f64 = 0.38;
const RADIX_LIST_SHARE: f64 = 0.05;

fn main() {
    let json = std::env::args().nth(1);
    // the profile's passes (seconds, dispatches), persons and months, from the GPU row
    let run = json.as_ref().map(|p| {
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).expect("read the JSON")).expect("JSON");
        v["runs"].as_array().expect("runs").iter().find(|r| r["backend"] == "gpu" && r["gpu_profile"].is_object()).expect("a GPU row with a profile").clone()
    });
    // households per person: the run's if given (from its bytes a person-step), else the
    // national synthetic population's (28,644,076 households for 67,600,000 persons)
    let hh_per_person = run
        .as_ref()
        .and_then(|r| r["gpu_profile"]["min_bytes_per_person_step"].as_f64())
        .map_or(28_644_076.0 / 67_600_000.0, |b| {
            let (per_person, per_household) = policy_twin::gpu::engine::min_bytes();
            (b - per_person) / per_household
        });
    println!("households a person: {hh_per_person:.4}");
    println!("{:<26} {:>4} {:>4} {:>4} {:>4} {:>4} {:>9}  {:>9} {:>6} {:>8}", "entry point", "sto", "p r", "p w", "h r", "h w", "B/person", "ms/month", "GB/s", "dispatch");
    let mut seen = std::collections::HashSet::new();
    // each entry point's bytes a person-step if it streamed what it reads for every person
    let mut streamed: HashMap<String, f64> = HashMap::new();
    for (stage, body) in policy_twin::gpu::wgsl::STAGES {
        let src = policy_twin::gpu::wgsl::source(stage, 256).expect("listed");
        let module = naga::front::wgsl::parse_str(&src).expect("parses");
        let info = naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::all()).validate(&module).expect("validates");
        for (k, ep) in module.entry_points.iter().enumerate() {
            if !policy_twin::gpu::wgsl::defines(body, &ep.name) || !seen.insert(ep.name.clone()) {
                continue; // an entry point of a stage this one includes (the engine's rule)
            }
            let fi = info.get_entry_point(k);
            let (mut pr, mut pw, mut hr, mut hw) = (0u32, 0u32, 0u32, 0u32);
            let rare = RARE.iter().find(|r| r.0 == ep.name).map_or(&[][..], |r| r.1);
            let mut rare_bytes = 0.0;
            // storage buffers bound (all but the uniform `d`), against the adapter's limit
            let mut sto = 0u32;
            for (h, var) in module.global_variables.iter() {
                let (Some(_), Some(name)) = (&var.binding, &var.name) else { continue };
                let used = fi[h];
                sto += (!used.is_empty() && name != "d") as u32;
                let (r, w) = (used.contains(naga::valid::GlobalUse::READ) as u32, used.contains(naga::valid::GlobalUse::WRITE) as u32);
                match column_kind(name) {
                    Some(ColumnKind::Person) => (pr, pw) = (pr + r, pw + w),
                    Some(ColumnKind::Household) => (hr, hw) = (hr + r, hw + w),
                    None => {}
                }
                if rare.contains(&name.as_str()) {
                    // read only for the rare case (a write to it, as demography's none, would count)
                    assert!(w == 0, "{}: {name} is written, not only read for a rare case", ep.name);
                    rare_bytes += 4.0 * r as f64 * if column_kind(name) == Some(ColumnKind::Household) { hh_per_person } else { 1.0 };
                }
            }
            let bytes = 4.0 * (pr + pw) as f64 + 4.0 * (hr + hw) as f64 * hh_per_person;
            for c in rare {
                assert!(module.global_variables.iter().any(|(h, v)| v.name.as_deref() == Some(*c) && !fi[h].is_empty()), "{}: RARE names {c}, which it does not bind", ep.name);
            }
            streamed.insert(ep.name.clone(), bytes - rare_bytes);
            let timed = run.as_ref().and_then(|r| {
                let p = &r["gpu_profile"]["passes"][&ep.name];
                let (secs, n) = (p["seconds"].as_f64()?, p["passes"].as_f64()?);
                let (persons, months) = (r["persons"].as_f64()?, r["months"].as_f64()?);
                Some((1000.0 * secs / months, bytes * persons * n / secs / 1e9, n / months))
            });
            match timed {
                Some((ms, gbs, per_month)) => println!("{:<26} {sto:>4} {pr:>4} {pw:>4} {hr:>4} {hw:>4} {bytes:>9.1}  {ms:>9.3} {gbs:>6.0} {per_month:>8.0}", ep.name),
                None => println!("{:<26} {sto:>4} {pr:>4} {pw:>4} {hr:>4} {hw:>4} {bytes:>9.1}", ep.name),
            }
        }
    }
    println!();
    println!("read only for rare cases, left out below:");
    for (ep, cols, case) in RARE {
        println!("  {ep:<26} {:<40} {case}", cols.join(", "));
    }
    // the month's sweeps (the passes that move no person or household column left out)
    let radix = ("services_hist_list", 3.0 * RADIX_LIST_SHARE);
    let list = [("services_demand_listing", 1.0), ("services_hist_requests", REQUEST_SHARE), radix, ("services_apply_requests", REQUEST_SHARE)];
    let default: Vec<(&str, f64)> = [("demography", 1.0), ("births_scatter", 1.0), ("person_stages_pass", 1.0), ("household_policy", 1.0), ("housing", 1.0)]
        .into_iter()
        .chain(list)
        .chain([("accounting", 1.0), ("accounting_households", 1.0)])
        .collect();
    let fused: Vec<(&str, f64)> = [("demography", 1.0), ("births_scatter_month", 1.0), ("household_month", 1.0)].into_iter().chain(list).collect();
    let least = policy_twin::gpu::engine::min_bytes();
    let least = least.0 + least.1 * hh_per_person;
    println!();
    println!("the month's sweeps, bytes a person-step (lists at {REQUEST_SHARE} of the persons for the request list, {RADIX_LIST_SHARE} for each of radix passes 2-4's):");
    for (label, passes) in [("the defaults", &default), ("--gpu-fuse-persons scatter-all --gpu-fuse-households", &fused)] {
        let total: f64 = passes.iter().map(|(ep, share)| streamed[*ep] * share).sum();
        let each: Vec<String> = passes.iter().map(|(ep, share)| format!("{ep} {:.1}", streamed[*ep] * share)).collect();
        println!("  {label}: {total:.1} ({}); the least, {least:.1}, is {:.1}% of it", each.join(", "), 100.0 * least / total);
    }
}
