//! The GPU path's checks. Shader validation and struct layouts run everywhere (naga, no
//! device). Tests that need an adapter run on whatever wgpu finds (lavapipe in CI); with
//! `POLICY_TWIN_REQUIRE_GPU=1` (set by .ci/run) a missing adapter is a failure, not a skip.

use policy_twin::gpu::{self, Backend, Gpu};
use policy_twin::params::StepParams;

fn parse(stage: &str, wg: u32) -> naga::Module {
    let src = gpu::wgsl::source(stage, wg).unwrap();
    match naga::front::wgsl::parse_str(&src) {
        Ok(m) => m,
        Err(e) => panic!("shaders/{stage}.wgsl does not parse:\n{}", e.emit_to_string(&src)),
    }
}

#[test]
fn every_shader_parses_and_validates() {
    for (stage, _) in gpu::wgsl::STAGES {
        for wg in [64, 256] {
            let m = parse(stage, wg);
            let mut v = naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::all());
            if let Err(e) = v.validate(&m) {
                panic!("shaders/{stage}.wgsl (workgroup {wg}) does not validate: {e:?}");
            }
        }
    }
}

/// Structs shared with WGSL have the same size on both sides (naga's layout).
#[test]
fn shared_struct_sizes_match_naga() {
    let m = parse("selftest", 64);
    let mut layouter = naga::proc::Layouter::default();
    layouter.update(m.to_ctx()).unwrap();
    let (h, _) = m.types.iter().find(|(_, t)| t.name.as_deref() == Some("StepParams")).expect("StepParams in the prelude");
    assert_eq!(layouter[h].size as usize, std::mem::size_of::<StepParams>(), "StepParams: WGSL vs Rust");
}

/// The adapter to test on, or None (a skip) when there is none and none is required.
pub fn test_gpu() -> Option<Gpu> {
    match Gpu::open(Backend::Gpu) {
        Ok((Some(g), _)) => {
            eprintln!("GPU tests on `{}` ({}, {})", g.adapter.name, g.adapter.backend, g.adapter.device_type);
            Some(g)
        }
        other => {
            let why = match other {
                Err(e) => e.to_string(),
                _ => "no adapter".into(),
            };
            if std::env::var("POLICY_TWIN_REQUIRE_GPU").as_deref() == Ok("1") {
                panic!("POLICY_TWIN_REQUIRE_GPU=1 but no GPU adapter: {why}");
            }
            eprintln!("skipping GPU test: {why}");
            None
        }
    }
}

#[test]
fn integer_hash_and_fixed_point_match_the_cpu_on_the_adapter() {
    let Some(g) = test_gpu() else { return };
    gpu::selftest::run(&g, 200_000, 64).unwrap();
    gpu::selftest::run(&g, 70_000, 256).unwrap();
}
