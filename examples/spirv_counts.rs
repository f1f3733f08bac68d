//! How much code wgpu's guards for untrusted shaders add to each entry point: every stage's
//! WGSL (as the engine assembles it, workgroup size 64) compiled to SPIR-V by naga with the
//! options wgpu-hal's Vulkan backend sets for `--gpu-shader-checks checked` (a 64-bit counter
//! in every loop, a guard on every integer division) and for `trusted` (neither), as far as
//! those two go (array index checks `Restrict`, buffer checks left to the driver's robust
//! access, SPIR-V 1.6, workgroup memory zeroed by the driver, the module cut down to what the
//! entry point reaches: `gpu::stats::spirv`, what `twin devices --shader-stats` hands the
//! driver, for a Vulkan 1.3 device). Static counts: the instructions in the module, not those run; and
//! the arrays each entry point's functions keep in an invocation's own memory.
//!
//!     cargo run --release --example spirv_counts
use policy_twin::gpu::stats::SpirvTarget;
use policy_twin::gpu::ShaderChecks;

// as wgpu-hal does, for a Vulkan 1.3 device (the H200's driver, lavapipe): stats::spirv, the
// function `twin devices --shader-stats` hands the driver
fn spirv(module: &naga::Module, info: &naga::valid::ModuleInfo, ep: &str, guards: bool) -> Vec<u32> {
    let checks = if guards { ShaderChecks::Checked } else { ShaderChecks::Trusted };
    policy_twin::gpu::stats::spirv(module, info, ep, SpirvTarget::VULKAN_1_3, checks).expect("SPIR-V")
}

/// (instructions, loops, arrays in an invocation's own memory) of a SPIR-V module: its words
/// after the 5-word header, in instructions whose first word holds their length. A loop is an
/// OpLoopMerge (246); an array is an OpVariable (59) in the Function storage class (7) whose
/// type points (OpTypePointer, 32) to an OpTypeArray (28), such as the copy naga makes of a
/// constant array to index it by a value.
fn count(words: &[u32]) -> (usize, usize, usize) {
    let (mut n, mut loops, mut arrays, mut i) = (0, 0, 0, 5);
    let mut array_types = std::collections::HashSet::new();
    let mut array_ptrs = std::collections::HashSet::new();
    while i < words.len() {
        let (op, len) = (words[i] & 0xffff, ((words[i] >> 16) as usize).max(1));
        let w = &words[i..(i + len).min(words.len())];
        n += 1;
        match op {
            246 => loops += 1,
            28 => drop(array_types.insert(w[1])),
            32 if w[2] == 7 && array_types.contains(&w[3]) => drop(array_ptrs.insert(w[1])),
            59 if w[3] == 7 && array_ptrs.contains(&w[1]) => arrays += 1,
            _ => {}
        }
        i += len;
    }
    (n, loops, arrays)
}

fn main() {
    println!("{:<26} {:>6} {:>7} {:>8} {:>8} {:>6}", "entry point", "loops", "arrays", "checked", "trusted", "added");
    let mut seen = std::collections::HashSet::new();
    for (stage, _) in policy_twin::gpu::wgsl::STAGES {
        let src = policy_twin::gpu::wgsl::source(stage, 64).expect("listed");
        let module = naga::front::wgsl::parse_str(&src).expect("parses");
        let info = naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::all()).validate(&module).expect("validates");
        for ep in &module.entry_points {
            if !seen.insert(ep.name.clone()) {
                continue; // an entry point of a stage this one includes
            }
            let (checked, loops, arrays) = count(&spirv(&module, &info, &ep.name, true));
            let (trusted, _, _) = count(&spirv(&module, &info, &ep.name, false));
            println!("{:<26} {:>6} {:>7} {:>8} {:>8} {:>6}", ep.name, loops, arrays, checked, trusted, checked - trusted);
        }
    }
}
