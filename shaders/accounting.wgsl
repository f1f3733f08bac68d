// accounting.wgsl: weighted sums into cells. Twin of src/cpu/accounting.rs, plus the reduce
// pass that sums the accumulator replicas (the CPU path sums per-chunk accumulators instead).

const EMP_M = array<u32, 6>(M_CHILD, M_IN_EDUCATION, M_EMPLOYED, M_UNEMPLOYED, M_INACTIVE, M_RETIRED);
const HEALTH_M = array<u32, 3>(M_HEALTH_GOOD, M_HEALTH_LIMITING, M_HEALTH_SEVERE);
const CARE_M = array<u32, 3>(M_CARE_NONE, M_CARE_MODERATE, M_CARE_SUBSTANTIAL);

fn accounting_person(i: u32, copy: u32) {
    let h = household[i] - d.h_base;
    let w = hh_weight[h];
    let s = status[i];
    let c = cell(hh_region(hh_info[h]), age_band(age_months[i] / 12u), st_sex(s));
    acc_add(copy, c, M_POPULATION, w, 1u);
    acc_add(copy, c, EMP_M[st_employment(s)], w, 1u);
    acc_add(copy, c, HEALTH_M[st_health(s)], w, 1u);
    acc_add(copy, c, CARE_M[st_care(s)], w, 1u);
    acc_add(copy, c, M_EARNINGS_PENCE, w, earnings[i]);
    acc_add(copy, c, M_INCOME_TAX_PENCE, w, income_tax[i]);
    acc_add(copy, c, M_NATIONAL_INSURANCE_PENCE, w, ni[i]);
    if (state_pension[i] > 0u) {
        acc_add(copy, c, M_STATE_PENSION_CASELOAD, w, 1u);
        acc_add(copy, c, M_STATE_PENSION_PENCE, w, state_pension[i]);
    }
    if (disability[i] > 0u) {
        acc_add(copy, c, M_DISABILITY_BENEFIT_CASELOAD, w, 1u);
        acc_add(copy, c, M_DISABILITY_BENEFIT_PENCE, w, disability[i]);
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

@compute @workgroup_size(WG)
fn accounting(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let j = linear(gid, nwg);
    if (j >= d.n) { return; }
    accounting_person(d.p_skip + j, acc_copy(wid, nwg));
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
