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
//!     cargo run --release --example pass_columns -- [BENCH_JSON]
use policy_twin::gpu::engine::{column_kind, ColumnKind};

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
            }
            let bytes = 4.0 * (pr + pw) as f64 + 4.0 * (hr + hw) as f64 * hh_per_person;
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
}
