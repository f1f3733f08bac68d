// common.wgsl: helpers every stage shader uses. Twin of src/rng.rs, src/fixed.rs and the bit
// helpers of src/state.rs; the constants and the StepParams struct come from the prelude that
// src/gpu/wgsl.rs generates from the Rust definitions (so they cannot drift).
// Only 32-bit integer arithmetic: WGSL has no 64-bit integers and real GPUs may fuse float
// multiply-adds, so the per-person loop never touches floats.

// A timing run (twin bench --gpu-ablate) folds the values it stops using into one word and
// adds to a table only when the word equals this: a value no compiler can know, so the loads
// that made the word stay.
const FOLD_KEEP: u32 = 0x9e3779b9u;

// ---- rng.rs ----
fn mix32(x0: u32) -> u32 {
    if ((ABLATE & ABL_CHEAP_HASH) != 0u) {
        // a timing run's cheap hash (twin bench --gpu-ablate cheap-hash), not the model
        return (x0 * 0x9e3779b9u) ^ (x0 >> 16u);
    }
    var x = x0;
    x ^= x >> 16u;
    x *= 0x7feb352du;
    x ^= x >> 15u;
    x *= 0x846ca68bu;
    x ^= x >> 16u;
    return x;
}

struct Stream { l: u32, r: u32 }

// rng.rs's four Feistel rounds (l, r) -> (r, l ^ mix32(r ^ key)), written out: no loop for
// a compiler to bound or unroll, and each key a fixed component.
fn stream(keys: vec4<u32>, id_lo: u32, id_hi: u32) -> Stream {
    let t0 = id_lo ^ mix32(id_hi ^ keys.x);
    let t1 = id_hi ^ mix32(t0 ^ keys.y);
    let t2 = t0 ^ mix32(t1 ^ keys.z);
    let t3 = t1 ^ mix32(t2 ^ keys.w);
    return Stream(t2, t3);
}

fn draw(s: Stream, salt: u32) -> u32 {
    return mix32(mix32(s.l ^ salt) ^ s.r);
}

// ---- fixed.rs ----
// floor(a * b / c) for b <= c <= 32768 (rates in basis points): 16-bit limbs.
fn mul_div_limbs(a: u32, b: u32, c: u32) -> u32 {
    let ah = a >> 16u;
    let al = a & 0xffffu;
    let hb = ah * b;
    let q1 = hb / c;
    let r1 = hb % c;
    let lo = (r1 << 16u) + al * b;
    return (q1 << 16u) + lo / c;
}

fn mul_bp(a: u32, bp: u32) -> u32 {
    return mul_div_limbs(a, bp, BP);
}

// 32 x 32 -> 64-bit product as (lo, hi).
fn mul64(a: u32, b: u32) -> vec2<u32> {
    let a0 = a & 0xffffu; let a1 = a >> 16u;
    let b0 = b & 0xffffu; let b1 = b >> 16u;
    let p00 = a0 * b0; let p01 = a0 * b1; let p10 = a1 * b0; let p11 = a1 * b1;
    let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
    let lo = (p00 & 0xffffu) | (mid << 16u);
    let hi = p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
    return vec2<u32>(lo, hi);
}

// floor(a * b / c) for any c > 0 whose result fits in u32: 64-by-32 restoring division,
// or one 32-bit division when the product fits in 32 bits. The child benefit charge's two
// calls fit at any charge range under about 429,000 pounds (at the data's 20,000: one
// division each instead of 64 rounds of the loop, which a whole group of invocations paid
// whenever one household in it had the charge).
fn mul_div(a: u32, b: u32, c: u32) -> u32 {
    let p = mul64(a, b);
    if (p.y == 0u) { return p.x / c; }
    var rem = 0u;
    var q = 0u;
    for (var i = 0u; i < 64u; i++) {
        var bit: u32;
        if (i < 32u) { bit = (p.y >> (31u - i)) & 1u; } else { bit = (p.x >> (63u - i)) & 1u; }
        // rem = rem * 2 + bit, keeping the bit shifted out (rem < c <= 2^32 - 1)
        let carry = rem >> 31u;
        rem = (rem << 1u) | bit;
        if (carry == 1u || rem >= c) {
            rem = rem - c;
            if (i >= 32u) { q = q | (1u << (63u - i)); }
        }
    }
    return q;
}

// floor(a * m / 10000), saturating, for multipliers m <= 100000 (fixed.rs mul_mult)
fn mul_mult(a: u32, m: u32) -> u32 {
    return sat_add(mul_sat(a / BP, m), (a % BP) * m / BP);
}

fn ceil_div(a: u32, b: u32) -> u32 {
    return a / b + select(0u, 1u, a % b != 0u);
}

fn mul_sat(a: u32, b: u32) -> u32 {
    // a < 2^(32 - clz a) and b < 2^(32 - clz b), so the product fits when the two counts
    // add up to 32 or more: no division then (most calls: small tariffs, units, costs)
    if (countLeadingZeros(a) + countLeadingZeros(b) >= 32u) { return a * b; }
    if (b != 0u && a > 0xffffffffu / b) { return 0xffffffffu; }
    return a * b;
}

fn sat_add(a: u32, b: u32) -> u32 {
    return select(a + b, 0xffffffffu, a > 0xffffffffu - b);
}

fn sat_sub(a: u32, b: u32) -> u32 {
    return select(0u, a - b, a > b);
}

// ---- state.rs bit helpers ----
fn st_sex(s: u32) -> u32 { return (s >> SEX_SHIFT) & 1u; }
fn st_employment(s: u32) -> u32 { return (s >> EMPLOYMENT_SHIFT) & 7u; }
fn st_health(s: u32) -> u32 { return (s >> HEALTH_SHIFT) & 3u; }
fn st_care(s: u32) -> u32 { return (s >> CARE_SHIFT) & 3u; }
fn st_care_funding(s: u32) -> u32 { return (s >> CARE_FUNDING_SHIFT) & 3u; }
fn set_field(s: u32, shift: u32, mask: u32, v: u32) -> u32 { return (s & ~(mask << shift)) | (v << shift); }
fn pack_status(sex: u32, employment: u32, health: u32, care: u32) -> u32 {
    return (sex << SEX_SHIFT) | (employment << EMPLOYMENT_SHIFT) | (health << HEALTH_SHIFT) | (care << CARE_SHIFT);
}
fn hh_region(info: u32) -> u32 { return info & REGION_MASK; }
fn hh_tenure(info: u32) -> u32 { return (info >> TENURE_SHIFT) & 7u; }
fn wait_of(w: u32, service: u32) -> u32 { return (w >> (service * WAIT_BITS)) & WAIT_MASK; }
fn set_wait(w: u32, service: u32, v: u32) -> u32 { return set_field(w, service * WAIT_BITS, WAIT_MASK, v); }
fn is_dependent_child(age_years: u32, employment: u32) -> bool {
    return age_years < 16u || (age_years < 20u && employment == IN_EDUCATION);
}

// ---- codes.rs ----
fn age_band(age_years: u32) -> u32 {
    return select(0u, 1u, age_years >= 16u) + select(0u, 1u, age_years >= 25u) + select(0u, 1u, age_years >= 35u)
        + select(0u, 1u, age_years >= 50u) + select(0u, 1u, age_years >= 65u) + select(0u, 1u, age_years >= 75u)
        + select(0u, 1u, age_years >= 85u);
}

fn cell(region: u32, band: u32, sex: u32) -> u32 {
    return (region * 8u + band) * 2u + sex;
}

// ---- bindings: every buffer of the engine, by the name of its Rust field (src/state.rs) ----
// Each entry point binds only what it uses (the Rust side reads that from naga and binds by
// name), so one declaration here serves every stage.
struct Dispatch {
    n: u32,        // elements (persons or households) in this chunk
    p_skip: u32,   // first person of the chunk within the bound person window
    h_skip: u32,   // first household of the chunk within the bound household window
    h_base: u32,   // global index of the bound household window's first household
    p_base: u32,   // global index of the bound person window's first person
    out_skip: u32, // births: first output slot within the bound output window
    blk_skip: u32, // births: first block word within the bound block window
    chunk: u32,    // births, services: index of this chunk (totals, lists)
    hpass: u32,    // services: histogram pass (0 priorities, 1..4 key bytes)
    block: u32,    // accounting, services_apply: persons (households) a workgroup sums
    groups_x: u32, // most workgroups in x of a dispatch (device-written dispatch arguments)
    chunks: u32,   // services: number of chunks (the request lists' counts follow the cut lists')
    keys: vec4<u32>,
    persistent: vec4<u32>,
    baby_keys: vec4<u32>, // births: keys of the month's baby-id permutation (rng.rs baby_keys)
    out_base: u32, // births: global index of the bound output window's first person
    hh_delta: u32, // apply: 1 when the households were counted before the services (a change of tenure corrects them)
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> d: Dispatch;
@group(0) @binding(1) var<storage, read> params: StepParams;
@group(0) @binding(2) var<storage, read> tables: array<u32>;
@group(0) @binding(3) var<storage, read_write> id_lo: array<u32>;
@group(0) @binding(4) var<storage, read_write> id_hi: array<u32>;
@group(0) @binding(5) var<storage, read_write> household: array<u32>;
@group(0) @binding(6) var<storage, read_write> age_months: array<u32>;
@group(0) @binding(7) var<storage, read_write> status: array<u32>;
@group(0) @binding(8) var<storage, read_write> earnings: array<u32>;
@group(0) @binding(9) var<storage, read_write> wealth: array<u32>;
@group(0) @binding(10) var<storage, read_write> new_id_lo: array<u32>;
@group(0) @binding(11) var<storage, read_write> new_id_hi: array<u32>;
@group(0) @binding(12) var<storage, read_write> new_household: array<u32>;
@group(0) @binding(13) var<storage, read_write> new_age_months: array<u32>;
@group(0) @binding(14) var<storage, read_write> new_status: array<u32>;
@group(0) @binding(15) var<storage, read_write> new_earnings: array<u32>;
@group(0) @binding(16) var<storage, read_write> new_wealth: array<u32>;
@group(0) @binding(17) var<storage, read_write> income_tax: array<u32>;
@group(0) @binding(18) var<storage, read_write> ni: array<u32>;
@group(0) @binding(19) var<storage, read_write> state_pension: array<u32>;
@group(0) @binding(20) var<storage, read_write> disability: array<u32>;
@group(0) @binding(21) var<storage, read_write> care_tariff: array<u32>;
@group(0) @binding(22) var<storage, read_write> hh_info: array<u32>;
@group(0) @binding(23) var<storage, read_write> hh_rent: array<u32>;
@group(0) @binding(24) var<storage, read_write> hh_weight: array<u32>;
@group(0) @binding(25) var<storage, read_write> hh_start: array<u32>;
@group(0) @binding(26) var<storage, read_write> hh_len: array<u32>;
@group(0) @binding(27) var<storage, read_write> universal_credit: array<u32>;
@group(0) @binding(28) var<storage, read_write> pension_credit: array<u32>;
@group(0) @binding(29) var<storage, read_write> child_benefit: array<u32>;
@group(0) @binding(30) var<storage, read_write> hicbc: array<u32>;
@group(0) @binding(31) var<storage, read_write> cap_reduction: array<u32>;
@group(0) @binding(32) var<storage, read_write> net_income: array<u32>;
@group(0) @binding(33) var<storage, read_write> acc: array<atomic<u32>>;
@group(0) @binding(34) var<storage, read_write> blocks: array<u32>;
@group(0) @binding(35) var<storage, read_write> totals: array<u32>;
// demography: the same buffer as `blocks`, each block's births less deaths and births added
// by the persons that die or give birth (engine.rs binds it at the chunk's block window)
@group(0) @binding(36) var<storage, read_write> block_events: array<atomic<u32>>;
// (bindings 40-42: selftest.wgsl)
@group(0) @binding(43) var<storage, read_write> svc_wait: array<u32>;
@group(0) @binding(44) var<storage, read_write> new_svc_wait: array<u32>;
@group(0) @binding(45) var<storage, read_write> hh_arrears: array<u32>;
@group(0) @binding(46) var<storage, read_write> hh_wait: array<u32>;
@group(0) @binding(47) var<storage, read_write> hh_prev_net: array<u32>;
// services: weighted histograms [copy][queue][bin] as u64 (lo, hi), and each queue's cut
@group(0) @binding(48) var<storage, read_write> qhist: array<atomic<u32>>;
@group(0) @binding(49) var<storage, read_write> qsel: array<u32>;
// services: the persons (chunk-relative indices) with a request at an undecided queue's cut
// priority, listed by the first radix pass for the other three; each chunk's list length as
// counted (atomic) and as read by the list passes, and their workgroup counts (x, y, z)
@group(0) @binding(50) var<storage, read_write> svc_list: array<u32>;
@group(0) @binding(51) var<storage, read_write> svc_count: array<atomic<u32>>;
@group(0) @binding(52) var<storage, read_write> svc_len: array<u32>;
@group(0) @binding(53) var<storage, read_write> svc_args: array<u32>;
// services: the persons (chunk-relative) with a request this month, listed by the demand pass
// with GpuOptions::services_list (counts and lengths after the cut lists', at chunks + chunk)
@group(0) @binding(55) var<storage, read_write> req_list: array<u32>;
// services: who took part in radix pass 2, listed for pass 3 (kept, like req_list, in a
// spare copy of a person column the births' scatter leaves free until the next month)
@group(0) @binding(56) var<storage, read_write> svc_list2: array<u32>;
// births_scatter_stages: the five outputs, bound at the scatter's output window (the same
// buffers as income_tax and the rest, which other passes bind at the chunk's persons)
@group(0) @binding(57) var<storage, read_write> out_income_tax: array<u32>;
@group(0) @binding(58) var<storage, read_write> out_ni: array<u32>;
@group(0) @binding(59) var<storage, read_write> out_state_pension: array<u32>;
@group(0) @binding(60) var<storage, read_write> out_disability: array<u32>;
@group(0) @binding(61) var<storage, read_write> out_care_tariff: array<u32>;
// each household's net income summed over the months since the host last took the sums
// (`income_add`; the distributional outputs of `twin run` with reforms): low and high words
@group(0) @binding(62) var<storage, read_write> income_lo: array<u32>;
@group(0) @binding(63) var<storage, read_write> income_hi: array<u32>;

// linear invocation index over a 2D grid of workgroups
fn linear(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}

// ---- tables.rs accessors ----
fn t_death(sex: u32, age: u32, health: u32) -> u32 { return tables[T_DEATH + (sex * AGES + age) * 3u + health]; }
fn t_birth(age: u32) -> u32 { return tables[T_BIRTH + age]; }
fn t_health(band: u32, i: u32) -> u32 { return tables[T_HEALTH + band * 4u + i]; }
fn t_care(band: u32, i: u32) -> u32 { return tables[T_CARE + band * 4u + i]; }
fn t_labour(band: u32, health: u32, i: u32) -> u32 { return tables[T_LABOUR + (band * 3u + health) * 8u + i]; }
fn t_edu_leave(age: u32) -> u32 { return tables[T_EDU_LEAVE + age]; }
fn t_retire(age: u32) -> u32 { return tables[T_RETIRE + age]; }
fn t_earnings(band: u32, sex: u32, q: u32) -> u32 { return tables[T_EARNINGS + (band * 2u + sex) * EARN_Q + q]; }
fn t_growth_noise(q: u32) -> i32 { return bitcast<i32>(tables[T_GROWTH_NOISE + q]); }
fn t_service(band: u32, health: u32, k: u32) -> u32 { return tables[T_SERVICE + (band * 3u + health) * 3u + k]; }
fn t_stay(band: u32) -> u32 { return tables[T_STAY + band]; }
fn service_measure(service: u32, k: u32) -> u32 { return SERVICE_BASE + service * SERVICE_MEASURES + k; }
fn t_spa(birth_month: u32) -> u32 {
    let i = min(sat_sub(birth_month, SPA_FROM_MONTH), SPA_LEN - 1u);
    return tables[T_SPA + i];
}

// The block-wise passes (accounting, accounting_households, services_apply; engine.rs
// sum_block): workgroup b takes elements [b * block, (b + 1) * block) of n, read in rounds of
// its workgroup's size, consecutive invocations on consecutive elements. The range, empty
// for a workgroup past the last block (uniform across the workgroup when n and block are).
fn block_range(wid: vec3<u32>, nwg: vec3<u32>, block: u32, n: u32) -> vec2<u32> {
    let first = min((wid.x + wid.y * nwg.x) * block, n);
    return vec2<u32>(first, min(first + block, n));
}

// ---- measures.rs Acc: exact u64 sums as (lo, hi) u32 pairs, in ACC_COPIES replicas to
// spread atomic contention (summed by accounting.wgsl's reduce pass) ----
fn acc_copy(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return (wid.x + wid.y * nwg.x) % ACC_COPIES;
}

// The high word of a sum kept first in workgroup memory (its low words there): the product's
// high word and the carry out of the low word the workgroup atomic returned (`old`) go
// straight to the replica's high word of (cell c, measure m), so the sum stays exact.
fn acc_high(copy: u32, c: u32, m: u32, p: vec2<u32>, old: u32) {
    let h = p.y + select(0u, 1u, old > 0xffffffffu - p.x);
    if (h != 0u) { atomicAdd(&acc[((copy * N_CELLS + c) * N_MEASURES + m) * 2u + 1u], h); }
}

fn acc_add(copy: u32, c: u32, m: u32, w: u32, v: u32) {
    acc_add64(copy, c, m, mul64(w, v));
}

// Take w * v from (cell c, measure m): its two's complement added, so the sum over the
// replicas (u64, wrapping) loses it. Exact wherever the true total is a count or an amount
// (0 to 2^64 - 1), whatever a replica holds on the way (the households' tenure measures
// corrected after the services, GpuOptions::fuse_households).
fn acc_sub(copy: u32, c: u32, m: u32, w: u32, v: u32) {
    let p = mul64(w, v);
    let lo = ~p.x + 1u;
    acc_add64(copy, c, m, vec2<u32>(lo, ~p.y + select(0u, 1u, lo == 0u)));
}

fn acc_add64(copy: u32, c: u32, m: u32, p: vec2<u32>) {
    if (p.x == 0u && p.y == 0u) { return; }
    let k = ((copy * N_CELLS + c) * N_MEASURES + m) * 2u;
    let old = atomicAdd(&acc[k], p.x);
    let hi = p.y + select(0u, 1u, old > 0xffffffffu - p.x);
    if (hi != 0u) { atomicAdd(&acc[k + 1u], hi); }
}

// The measures a household's tenure adds (at most two (measure, value) pairs at its weight,
// N_MEASURES for none): rent arrears for renters who owe, homelessness, temporary
// accommodation and its cost. One definition for the households' accounting and for the
// correction after a change of tenure in the services (services.wgsl retenure).
struct TenureAdds { m0: u32, v0: u32, m1: u32, v1: u32 }
fn tenure_adds(tenure: u32, arrears: u32) -> TenureAdds {
    if ((tenure == PRIVATE_RENT || tenure == SOCIAL_RENT) && arrears > 0u) {
        return TenureAdds(M_HOUSEHOLDS_IN_ARREARS, 1u, M_RENT_ARREARS_PENCE, arrears);
    }
    if (tenure == HOMELESS) {
        return TenureAdds(M_HOMELESS_HOUSEHOLDS, 1u, N_MEASURES, 0u);
    }
    if (tenure == TEMPORARY) {
        return TenureAdds(M_TEMPORARY_ACCOMMODATION_HOUSEHOLDS, 1u, M_TEMPORARY_ACCOMMODATION_COST_PENCE, params.ta_cost);
    }
    return TenureAdds(N_MEASURES, 0u, N_MEASURES, 0u);
}
