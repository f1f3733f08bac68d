// selftest.wgsl: the GPU's integer hash and fixed-point arithmetic against the CPU's.
// `twin devices --selftest` and the tests run it: inputs in, one result per function out.
// Twin: the same functions in src/rng.rs and src/fixed.rs (the check is in src/gpu/selftest.rs).

struct SelfTest { n: u32, pad0: u32, pad1: u32, pad2: u32, keys: vec4<u32> }

@group(0) @binding(40) var<uniform> cfg: SelfTest;
@group(0) @binding(41) var<storage, read> input: array<u32>;     // 4 words per case: a, b, c, id_hi
@group(0) @binding(42) var<storage, read_write> output: array<u32>; // 6 words per case

@compute @workgroup_size(WG)
fn selftest(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= cfg.n) { return; }
    let a = input[4u * i];
    let b = input[4u * i + 1u];
    let c = input[4u * i + 2u];
    let id_hi = input[4u * i + 3u];
    let s = stream(cfg.keys, a, id_hi);
    output[6u * i] = draw(s, SALT_DEATH);
    output[6u * i + 1u] = draw(s, SALT_LABOUR);
    output[6u * i + 2u] = mul_div(a, b, c);
    output[6u * i + 3u] = mul_div_limbs(a, b % 10001u, BP);
    let m = mul64(a, b);
    output[6u * i + 4u] = m.x ^ m.y;
    output[6u * i + 5u] = mul_sat(a >> 8u, b >> 8u);
}
