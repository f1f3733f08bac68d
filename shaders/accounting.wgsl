// accounting.wgsl: weighted sums into cells. Twin of src/cpu/accounting.rs, plus the reduce
// pass that sums the accumulator replicas (the CPU path sums per-chunk accumulators instead).
//
// One workgroup sums a block of ACC_BLOCK persons. The person measures that every person or
// many persons add (the 13 counts, earnings, tax, NI, state pension and disability benefit)
// are summed first in workgroup memory (`lacc`: the low words, per local measure and cell),
// then added to the block's replica once per block; the rest go to the replica directly. The
// sums stay exact u64: a product's high word, and the carry out of a low word in `lacc`
// (seen from the value the workgroup atomic returns), go straight to the replica's high word.
// This cut the global atomics from about seven a person to about two (the first version added
// each person's measures to the replica one by one: 26% of the device time on an H200).

const EMP_M = array<u32, 6>(M_CHILD, M_IN_EDUCATION, M_EMPLOYED, M_UNEMPLOYED, M_INACTIVE, M_RETIRED);
const HEALTH_M = array<u32, 3>(M_HEALTH_GOOD, M_HEALTH_LIMITING, M_HEALTH_SEVERE);
const CARE_M = array<u32, 3>(M_CARE_NONE, M_CARE_MODERATE, M_CARE_SUBSTANTIAL);

const ACC_BLOCK: u32 = 4096u;
// The accounting pass's own workgroup size, whatever WG is: the workgroup-memory table is
// 15 KB a workgroup, so at 64 invocations too few run at once (an H200 took 24 ms a month
// at national scale with 64 and 6 ms with 256).
const ACC_WG: u32 = 256u;
// local measures: 0 population, 1-6 employment, 7-9 health, 10-12 care, then these
const L_EARNINGS: u32 = 13u;
const L_INCOME_TAX: u32 = 14u;
const L_NI: u32 = 15u;
const L_SP_CASELOAD: u32 = 16u;
const L_SP_PENCE: u32 = 17u;
const L_DIS_CASELOAD: u32 = 18u;
const L_DIS_PENCE: u32 = 19u;
const N_LOCAL: u32 = 20u;
const LOCAL_M = array<u32, 20>(
    M_POPULATION,
    M_CHILD, M_IN_EDUCATION, M_EMPLOYED, M_UNEMPLOYED, M_INACTIVE, M_RETIRED,
    M_HEALTH_GOOD, M_HEALTH_LIMITING, M_HEALTH_SEVERE,
    M_CARE_NONE, M_CARE_MODERATE, M_CARE_SUBSTANTIAL,
    M_EARNINGS_PENCE, M_INCOME_TAX_PENCE, M_NATIONAL_INSURANCE_PENCE,
    M_STATE_PENSION_CASELOAD, M_STATE_PENSION_PENCE,
    M_DISABILITY_BENEFIT_CASELOAD, M_DISABILITY_BENEFIT_PENCE,
);

// 20 x 192 low words: 15,360 bytes, under the 16,352 bytes of workgroup memory every adapter has
var<workgroup> lacc: array<atomic<u32>, N_LOCAL * N_CELLS>;

// Add w * v to local measure l of cell c (exact: high words and carries to the replica).
fn local_add(copy: u32, c: u32, l: u32, w: u32, v: u32) {
    let p = mul64(w, v);
    if (p.x == 0u && p.y == 0u) { return; }
    let hi = ((copy * N_CELLS + c) * N_MEASURES + LOCAL_M[l]) * 2u + 1u;
    if (p.y != 0u) { atomicAdd(&acc[hi], p.y); }
    let old = atomicAdd(&lacc[l * N_CELLS + c], p.x);
    if (old > 0xffffffffu - p.x) { atomicAdd(&acc[hi], 1u); }
}

fn accounting_person(i: u32, copy: u32) {
    let h = household[i] - d.h_base;
    let w = hh_weight[h];
    let s = status[i];
    let c = cell(hh_region(hh_info[h]), age_band(age_months[i] / 12u), st_sex(s));
    local_add(copy, c, 0u, w, 1u);
    local_add(copy, c, 1u + st_employment(s), w, 1u);
    local_add(copy, c, 7u + st_health(s), w, 1u);
    local_add(copy, c, 10u + st_care(s), w, 1u);
    local_add(copy, c, L_EARNINGS, w, earnings[i]);
    local_add(copy, c, L_INCOME_TAX, w, income_tax[i]);
    local_add(copy, c, L_NI, w, ni[i]);
    if (state_pension[i] > 0u) {
        local_add(copy, c, L_SP_CASELOAD, w, 1u);
        local_add(copy, c, L_SP_PENCE, w, state_pension[i]);
    }
    if (disability[i] > 0u) {
        local_add(copy, c, L_DIS_CASELOAD, w, 1u);
        local_add(copy, c, L_DIS_PENCE, w, disability[i]);
    }
    let funding = st_care_funding(s);
    if (funding != FUNDING_NONE) {
        acc_add(copy, c, M_SOCIAL_CARE_ELIGIBLE, w, 1u);
        if (funding == FUNDING_SELF) {
            acc_add(copy, c, M_SOCIAL_CARE_SELF_FUNDER_CASELOAD, w, 1u);
        } else {
            acc_add(copy, c, M_SOCIAL_CARE_COUNCIL_FUNDED_CASELOAD, w, 1u);
            acc_add(copy, c, M_SOCIAL_CARE_TARIFF_INCOME_PENCE, w, care_tariff[i]);
        }
    }
    if (hh_start[h] == d.p_base + i) {
        acc_add(copy, c, M_HOUSEHOLDS, w, 1u);
        acc_add(copy, c, M_HOUSEHOLD_NET_INCOME_PENCE, w, net_income[h]);
        if (universal_credit[h] > 0u) {
            acc_add(copy, c, M_UNIVERSAL_CREDIT_CASELOAD, w, 1u);
            acc_add(copy, c, M_UNIVERSAL_CREDIT_PENCE, w, universal_credit[h]);
        }
        if (pension_credit[h] > 0u) {
            acc_add(copy, c, M_PENSION_CREDIT_CASELOAD, w, 1u);
            acc_add(copy, c, M_PENSION_CREDIT_PENCE, w, pension_credit[h]);
        }
        if (child_benefit[h] > 0u) {
            acc_add(copy, c, M_CHILD_BENEFIT_CASELOAD, w, 1u);
            acc_add(copy, c, M_CHILD_BENEFIT_PENCE, w, child_benefit[h]);
        }
        if (cap_reduction[h] > 0u) {
            acc_add(copy, c, M_BENEFIT_CAP_CASELOAD, w, 1u);
            acc_add(copy, c, M_BENEFIT_CAP_REDUCTION_PENCE, w, cap_reduction[h]);
        }
        acc_add(copy, c, M_CHILD_BENEFIT_CHARGE_PENCE, w, hicbc[h]);
        let ten = hh_tenure(hh_info[h]);
        if ((ten == PRIVATE_RENT || ten == SOCIAL_RENT) && hh_arrears[h] > 0u) {
            acc_add(copy, c, M_HOUSEHOLDS_IN_ARREARS, w, 1u);
            acc_add(copy, c, M_RENT_ARREARS_PENCE, w, hh_arrears[h]);
        } else if (ten == HOMELESS) {
            acc_add(copy, c, M_HOMELESS_HOUSEHOLDS, w, 1u);
        } else if (ten == TEMPORARY) {
            acc_add(copy, c, M_TEMPORARY_ACCOMMODATION_HOUSEHOLDS, w, 1u);
            acc_add(copy, c, M_TEMPORARY_ACCOMMODATION_COST_PENCE, w, params.ta_cost);
        }
    }
}

// One workgroup per block of ACC_BLOCK persons, read in rounds of ACC_WG consecutive persons.
@compute @workgroup_size(ACC_WG)
fn accounting(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let b = wid.x + wid.y * nwg.x;
    if (b >= (d.n + ACC_BLOCK - 1u) / ACC_BLOCK) { return; }
    let copy = acc_copy(wid, nwg);
    for (var r = 0u; r < ACC_BLOCK; r += ACC_WG) {
        let j = b * ACC_BLOCK + r + lid.x;
        if (r + lid.x < ACC_BLOCK && j < d.n) {
            accounting_person(d.p_skip + j, copy);
        }
    }
    workgroupBarrier();
    for (var e = lid.x; e < N_LOCAL * N_CELLS; e += ACC_WG) {
        let v = atomicLoad(&lacc[e]);
        if (v != 0u) { acc_add(copy, e % N_CELLS, LOCAL_M[e / N_CELLS], v, 1u); }
    }
}

// Sum the replicas of each (cell, measure) into replica 0, with carries: exact u64.
@compute @workgroup_size(WG)
fn acc_reduce(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let k = linear(gid, nwg);
    if (k >= N_CELLS * N_MEASURES) { return; }
    var lo = 0u;
    var hi = 0u;
    for (var r = 0u; r < ACC_COPIES; r++) {
        let base = (r * N_CELLS * N_MEASURES + k) * 2u;
        let x = atomicLoad(&acc[base]);
        hi += atomicLoad(&acc[base + 1u]) + select(0u, 1u, lo > 0xffffffffu - x);
        lo += x;
    }
    atomicStore(&acc[2u * k], lo);
    atomicStore(&acc[2u * k + 1u], hi);
}
