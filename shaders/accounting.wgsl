// accounting.wgsl: weighted sums into cells. Twin of src/cpu/accounting.rs, plus the reduce
// pass that sums the accumulator replicas (the CPU path sums per-chunk accumulators instead).
//
// Two passes: `accounting` over persons and `accounting_households` over households (a
// household counts in its first member's cell, as on the CPU path). Each workgroup sums a
// block of d.block persons or households (engine.rs sum_block). The measures that every person or household or
// many of them add are summed first in workgroup memory (the low words, per local measure and
// cell), then added to the block's replica once per block; the rest go to the replica
// directly. The sums stay exact u64: a product's high word, and the carry out of a low word in
// workgroup memory (seen from the value the workgroup atomic returns), go straight to the
// replica's high word. (The first version added each person's measures to the replica one by
// one, about seven global atomics a person: 26% of the device time on an H200.)
//
// A third pass, `person_month`, runs labour, health and person policy before each person's
// measures, in the same blocks: the four person passes as one (GpuOptions::fuse_persons), as
// the CPU path's fused pass. A fourth, `household_month`, runs household policy and housing
// before each household's measures (GpuOptions::fuse_households). src/gpu/wgsl.rs assembles
// labour.wgsl, health.wgsl, person_policy.wgsl, household_policy.wgsl and housing.wgsl
// before this file for them. A fifth, `births_scatter_month`, is the births' scatter with the
// person stages and the persons' measures (GpuOptions::fuse_persons scatter-all), from
// births.wgsl's functions, assembled before this file too.

// The accounting pass's own workgroup size, whatever WG is: the workgroup-memory table is
// 13 KB a workgroup (15 KB until the twentieth session), so at 64 invocations too few run at once (an H200 took 24 ms a month
// at national scale with 64 and 6 ms with 256).
const ACC_WG: u32 = 256u;
// Local measures: 0-5 employment, 6-7 health limiting and severe, 8-9 care moderate and
// substantial, then these. The population, good health and no care need are not summed
// here: each is a sum or difference of the others (every person has one employment state,
// one health state and one care need), derived on the host after the read-back
// (measures::derive_person_counts): three workgroup atomics a person fewer than adding
// them, or about two and three quarters, since most persons' health is good and care need
// none (the table had 20 rows, 15,360 bytes, until the twentieth session).
const L_EARNINGS: u32 = 10u;
const L_INCOME_TAX: u32 = 11u;
const L_NI: u32 = 12u;
const L_SP_CASELOAD: u32 = 13u;
const L_SP_PENCE: u32 = 14u;
const L_DIS_CASELOAD: u32 = 15u;
const L_DIS_PENCE: u32 = 16u;
const N_LOCAL: u32 = 17u;
// Local measure l is measure local_measure(l): the 19 measures from M_CHILD on, in the order
// the measures have (asserted here), less M_HEALTH_GOOD and M_CARE_NONE. Computed, not looked
// up in a constant array: SPIR-V indexes a constant array by a value only through a copy of
// it in the invocation's own memory, made at every lookup (naga writes it so, inside
// local_add: at each of a person's adds; a driver that inlines local_add can fold the copy
// where the index is a constant, but not for the adds by value, the employment, health and
// care states).
const_assert M_IN_EDUCATION == M_CHILD + 1u && M_EMPLOYED == M_CHILD + 2u && M_UNEMPLOYED == M_CHILD + 3u;
const_assert M_INACTIVE == M_CHILD + 4u && M_RETIRED == M_CHILD + 5u;
const_assert M_HEALTH_GOOD == M_CHILD + 6u && M_HEALTH_LIMITING == M_CHILD + 7u && M_HEALTH_SEVERE == M_CHILD + 8u;
const_assert M_CARE_NONE == M_CHILD + 9u && M_CARE_MODERATE == M_CHILD + 10u && M_CARE_SUBSTANTIAL == M_CHILD + 11u;
const_assert M_EARNINGS_PENCE == M_CHILD + 2u + L_EARNINGS && M_INCOME_TAX_PENCE == M_CHILD + 2u + L_INCOME_TAX;
const_assert M_NATIONAL_INSURANCE_PENCE == M_CHILD + 2u + L_NI;
const_assert M_STATE_PENSION_CASELOAD == M_CHILD + 2u + L_SP_CASELOAD && M_STATE_PENSION_PENCE == M_CHILD + 2u + L_SP_PENCE;
const_assert M_DISABILITY_BENEFIT_CASELOAD == M_CHILD + 2u + L_DIS_CASELOAD && M_DISABILITY_BENEFIT_PENCE == M_CHILD + 2u + L_DIS_PENCE;
const_assert L_DIS_PENCE + 1u == N_LOCAL;
const_assert GOOD == 0u && LIMITING == 1u && SEVERE == 2u && CARE_NONE == 0u && CARE_MODERATE == 1u && CARE_SUBSTANTIAL == 2u;
fn local_measure(l: u32) -> u32 {
    return M_CHILD + l + select(0u, 1u, l >= 6u) + select(0u, 1u, l >= 8u);
}

// 17 x 192 low words: 13,056 bytes, under the 16,352 bytes of workgroup memory every adapter has
// (each pass has its own table)
var<workgroup> lacc: array<atomic<u32>, N_LOCAL * N_CELLS>;

// Add w * v to local measure l of cell c (exact: high words and carries to the replica).
fn local_add(copy: u32, c: u32, l: u32, w: u32, v: u32) {
    let p = mul64(w, v);
    if (p.x == 0u && p.y == 0u) { return; }
    acc_high(copy, c, local_measure(l), p, atomicAdd(&lacc[l * N_CELLS + c], p.x));
}

// The household measures, all summed in workgroup memory by accounting_households: the
// table has a row for each measure from M_HOUSEHOLDS to M_TEMPORARY_ACCOMMODATION_COST_PENCE
// but the homelessness applications, which the housing pass adds (measure m in row
// hrow(m), computed as local_measure is). Every measure added here lies in that range
// (asserted: one moved before M_HOUSEHOLDS would wrap to about 2^32). From the sixteenth
// session to the nineteenth the table kept a row for the applications, never added (17
// rows, 13,056 bytes, flushed every block); the pass went from 1.11 to 1.58 ms a month on the
// H200 between runs 5 and 6, when that row came, for reasons not found (benches/README.md).
const N_HLOCAL: u32 = M_TEMPORARY_ACCOMMODATION_COST_PENCE - M_HOUSEHOLDS;
const_assert N_HLOCAL == 16u; // every row is a household measure (a new one: check)
const_assert M_HOMELESSNESS_APPLICATIONS > M_HOUSEHOLDS && M_HOMELESSNESS_APPLICATIONS < M_TEMPORARY_ACCOMMODATION_COST_PENCE;
const_assert M_HOUSEHOLD_NET_INCOME_PENCE - M_HOUSEHOLDS <= N_HLOCAL && M_UNIVERSAL_CREDIT_CASELOAD - M_HOUSEHOLDS <= N_HLOCAL;
const_assert M_UNIVERSAL_CREDIT_PENCE - M_HOUSEHOLDS <= N_HLOCAL && M_PENSION_CREDIT_CASELOAD - M_HOUSEHOLDS <= N_HLOCAL;
const_assert M_PENSION_CREDIT_PENCE - M_HOUSEHOLDS <= N_HLOCAL && M_CHILD_BENEFIT_CASELOAD - M_HOUSEHOLDS <= N_HLOCAL;
const_assert M_CHILD_BENEFIT_PENCE - M_HOUSEHOLDS <= N_HLOCAL && M_BENEFIT_CAP_CASELOAD - M_HOUSEHOLDS <= N_HLOCAL;
const_assert M_BENEFIT_CAP_REDUCTION_PENCE - M_HOUSEHOLDS <= N_HLOCAL && M_CHILD_BENEFIT_CHARGE_PENCE - M_HOUSEHOLDS <= N_HLOCAL;
const_assert M_HOUSEHOLDS_IN_ARREARS - M_HOUSEHOLDS <= N_HLOCAL && M_RENT_ARREARS_PENCE - M_HOUSEHOLDS <= N_HLOCAL;
const_assert M_HOMELESS_HOUSEHOLDS - M_HOUSEHOLDS <= N_HLOCAL && M_TEMPORARY_ACCOMMODATION_HOUSEHOLDS - M_HOUSEHOLDS <= N_HLOCAL;

// The row of household measure m (not the applications), and the measure of a row.
fn hrow(m: u32) -> u32 {
    return m - M_HOUSEHOLDS - select(0u, 1u, m > M_HOMELESSNESS_APPLICATIONS);
}
fn hmeasure(row: u32) -> u32 {
    return M_HOUSEHOLDS + row + select(0u, 1u, M_HOUSEHOLDS + row >= M_HOMELESSNESS_APPLICATIONS);
}

// 16 x 192 low words: 12,288 bytes
var<workgroup> hacc: array<atomic<u32>, N_HLOCAL * N_CELLS>;

// Add w * v to household measure m of cell c (exact, as local_add).
fn hlocal_add(copy: u32, c: u32, m: u32, w: u32, v: u32) {
    let p = mul64(w, v);
    if (p.x == 0u && p.y == 0u) { return; }
    acc_high(copy, c, m, p, atomicAdd(&hacc[hrow(m) * N_CELLS + c], p.x));
}

fn accounting_person(i: u32, copy: u32) -> u32 {
    let h = household[i] - d.h_base;
    let s = status[i];
    let c = cell(hh_region(hh_info[h]), age_band(age_months[i] / 12u), st_sex(s));
    if ((ABLATE & ABL_ACCOUNTING_ADDS) != 0u) {
        // a timing run without the adds: the words read, folded into one (accounting)
        return c ^ hh_weight[h] ^ s ^ earnings[i] ^ income_tax[i] ^ ni[i] ^ state_pension[i] ^ disability[i] ^ care_tariff[i];
    }
    // the care tariff read only where person_measures uses it (council-funded care: 889 of
    // the shipped sample's 99,971 persons in its first month), 4 bytes a person fewer
    var care = 0u;
    if (st_care_funding(s) == FUNDING_COUNCIL) { care = care_tariff[i]; }
    person_measures(copy, c, hh_weight[h], s, earnings[i], PersonPolicy(s, income_tax[i], ni[i], state_pension[i], disability[i], care));
    return 0u;
}

// A person's measures in cell c at weight w, from their status, earnings and policy results.
fn person_measures(copy: u32, c: u32, w: u32, s: u32, earn: u32, o: PersonPolicy) {
    // the population, good health and no care need: derived (local_measure)
    local_add(copy, c, st_employment(s), w, 1u);
    let health = st_health(s);
    if (health != GOOD) {
        local_add(copy, c, 5u + health, w, 1u);
    }
    let care = st_care(s);
    if (care != CARE_NONE) {
        local_add(copy, c, 7u + care, w, 1u);
    }
    local_add(copy, c, L_EARNINGS, w, earn);
    local_add(copy, c, L_INCOME_TAX, w, o.tax);
    local_add(copy, c, L_NI, w, o.ni);
    if (o.sp > 0u) {
        local_add(copy, c, L_SP_CASELOAD, w, 1u);
        local_add(copy, c, L_SP_PENCE, w, o.sp);
    }
    if (o.dis > 0u) {
        local_add(copy, c, L_DIS_CASELOAD, w, 1u);
        local_add(copy, c, L_DIS_PENCE, w, o.dis);
    }
    let funding = st_care_funding(s);
    if (funding != FUNDING_NONE) {
        acc_add(copy, c, M_SOCIAL_CARE_ELIGIBLE, w, 1u);
        if (funding == FUNDING_SELF) {
            acc_add(copy, c, M_SOCIAL_CARE_SELF_FUNDER_CASELOAD, w, 1u);
        } else {
            acc_add(copy, c, M_SOCIAL_CARE_COUNCIL_FUNDED_CASELOAD, w, 1u);
            acc_add(copy, c, M_SOCIAL_CARE_TARIFF_INCOME_PENCE, w, o.care);
        }
    }
}

// The fused pass `person_month` (GpuOptions::fuse_persons): labour, health and person
// policy of person i (person_policy.wgsl's person_stages), then their measures, as the CPU
// path's fused pass does (src/cpu/fused.rs): nothing later in the month changes the person's
// status, earnings or policy results, nor their household's region or weight.
fn person_month_person(i: u32, copy: u32) -> u32 {
    return staged_measures(copy, person_stages(i));
}

// The measures of a person whose stages have just run (m: what they gave).
fn staged_measures(copy: u32, m: PersonMonth) -> u32 {
    let c = cell(hh_region(m.info), age_band(m.age / 12u), st_sex(m.o.status));
    if ((ABLATE & ABL_ACCOUNTING_ADDS) != 0u) {
        // a timing run without the adds, as accounting_person
        return c ^ hh_weight[m.h] ^ m.o.status ^ m.earnings ^ m.o.tax ^ m.o.ni ^ m.o.sp ^ m.o.dis ^ m.o.care;
    }
    person_measures(copy, c, hh_weight[m.h], m.o.status, m.earnings, m.o);
    return 0u;
}

// Household h (window-relative) in its first member's cell.
fn accounting_household(h: u32, copy: u32) {
    let n = hh_len[h];
    if (n == 0u) { return; }
    let i = hh_start[h] - d.p_base;
    let info = hh_info[h];
    let c = cell(hh_region(info), age_band(age_months[i] / 12u), st_sex(status[i]));
    let b = Benefits(universal_credit[h], pension_credit[h], child_benefit[h], hicbc[h], cap_reduction[h]);
    household_measures(copy, c, hh_weight[h], net_income[h], b, hh_tenure(info), hh_arrears[h]);
}

// A household's measures in cell c at weight w, from its net income, benefits, tenure and
// arrears (the benefits' struct is household_policy.wgsl's, kept here in its order).
fn household_measures(copy: u32, c: u32, w: u32, net: u32, b: Benefits, tenure: u32, arrears: u32) {
    hlocal_add(copy, c, M_HOUSEHOLDS, w, 1u);
    hlocal_add(copy, c, M_HOUSEHOLD_NET_INCOME_PENCE, w, net);
    if (b.universal_credit > 0u) {
        hlocal_add(copy, c, M_UNIVERSAL_CREDIT_CASELOAD, w, 1u);
        hlocal_add(copy, c, M_UNIVERSAL_CREDIT_PENCE, w, b.universal_credit);
    }
    if (b.pension_credit > 0u) {
        hlocal_add(copy, c, M_PENSION_CREDIT_CASELOAD, w, 1u);
        hlocal_add(copy, c, M_PENSION_CREDIT_PENCE, w, b.pension_credit);
    }
    if (b.child_benefit > 0u) {
        hlocal_add(copy, c, M_CHILD_BENEFIT_CASELOAD, w, 1u);
        hlocal_add(copy, c, M_CHILD_BENEFIT_PENCE, w, b.child_benefit);
    }
    if (b.cap_reduction > 0u) {
        hlocal_add(copy, c, M_BENEFIT_CAP_CASELOAD, w, 1u);
        hlocal_add(copy, c, M_BENEFIT_CAP_REDUCTION_PENCE, w, b.cap_reduction);
    }
    hlocal_add(copy, c, M_CHILD_BENEFIT_CHARGE_PENCE, w, b.hicbc);
    let t = tenure_adds(tenure, arrears);
    if (t.m0 < N_MEASURES) { hlocal_add(copy, c, t.m0, w, t.v0); }
    if (t.m1 < N_MEASURES) { hlocal_add(copy, c, t.m1, w, t.v1); }
}

// The households' month in one pass (GpuOptions::fuse_households): household h's benefit
// rules, its rent arrears and eviction, then its measures, from the values in hand (the
// three passes household_policy, housing and accounting_households read them again from
// memory). The measures are those of the households before the services: a change of
// tenure there (a placement, a letting, a household that leaves the homelessness service)
// takes the old tenure's measures away and adds the new one's (services.wgsl retenure, with
// d.hh_delta), which nothing else in the services changes. Needs household_policy.wgsl and
// housing.wgsl assembled before this file (src/gpu/wgsl.rs includes).
fn household_month_household(h: u32, copy: u32) {
    let n = hh_len[h];
    let first = hh_start[h] - d.p_base;
    let info = hh_info[h];
    let rules = household_rules(h, first, n, info);
    if (n == 0u) { return; } // (no housing nor measures: as the passes it replaces)
    let after = housing_household(h, first, rules.net, info, copy);
    let c = cell(hh_region(info), age_band(age_months[first] / 12u), st_sex(status[first]));
    household_measures(copy, c, hh_weight[h], rules.net, rules.b, hh_tenure(after.y), after.x);
}

// One workgroup per block of d.block persons (common.wgsl block_range).
@compute @workgroup_size(ACC_WG)
fn accounting(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let r = block_range(wid, nwg, d.block, d.n);
    if (r.x >= r.y) { return; }
    let copy = acc_copy(wid, nwg);
    var folded = 0u;
    for (var j = r.x + lid.x; j < r.y; j += ACC_WG) {
        folded += accounting_person(d.p_skip + j, copy);
    }
    if ((ABLATE & ABL_ACCOUNTING_ADDS) != 0u && folded == FOLD_KEEP) {
        // keeps the ablated run's reads (common.wgsl FOLD_KEEP)
        atomicAdd(&lacc[0], 1u);
    }
    flush_person_measures(lid, copy);
}

// The fused pass, in the same blocks.
@compute @workgroup_size(ACC_WG)
fn person_month(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let r = block_range(wid, nwg, d.block, d.n);
    if (r.x >= r.y) { return; }
    let copy = acc_copy(wid, nwg);
    var folded = 0u;
    for (var j = r.x + lid.x; j < r.y; j += ACC_WG) {
        folded += person_month_person(d.p_skip + j, copy);
    }
    if ((ABLATE & ABL_ACCOUNTING_ADDS) != 0u && folded == FOLD_KEEP) {
        atomicAdd(&lacc[0], 1u); // as in `accounting`
    }
    flush_person_measures(lid, copy);
}

// The births' scatter, the person stages and the persons' measures as one pass
// (GpuOptions::fuse_persons scatter-all): births.wgsl's `births_scatter_stages`, adding each
// person's measures as it writes them, to this file's workgroup table, flushed after the
// block (one block of BLOCK persons a workgroup, WG invocations). A person counts in the month
// once, where the scatter writes them: a survivor at its new slot, a baby at its own. The
// persons' accounting reads nothing the passes between the stages and it change (as
// `person_month`), so the sums are the accounting pass's. A month nobody dies or is born in
// has no scatter and runs `person_month`. Needs births.wgsl assembled before this file.
// Workgroup memory: the table and the scatter's slot words and scan, under the 16,384 bytes
// wgpu's default limits allow a workgroup, at every WG up to 256 (the CLI's bound).
const_assert N_LOCAL * N_CELLS * 4u + 2u * SW * 4u + 256u * 4u <= 16384u;
@compute @workgroup_size(WG)
fn births_scatter_month(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let b = block_index(wid, nwg);
    if (b >= (d.n + BLOCK - 1u) / BLOCK) { return; }
    let copy = acc_copy(wid, nwg);
    let base = count_block(b, lid.x);
    var folded = 0u;
    for (var r = 0u; r < BLOCK; r += WG) {
        let x = scatter_slot(b, base, r + lid.x);
        if (x.alive) {
            let i = x.i;
            folded += staged_measures(copy, put_staged(x.o, id_lo[i], id_hi[i], household[i], age_months[i], x.s & ~GIVES_BIRTH, earnings[i], wealth[i], svc_wait[i]));
            if ((x.s & GIVES_BIRTH) != 0u) {
                let bb = baby_of(i);
                folded += staged_measures(copy, put_staged(x.o + 1u, bb.lo, bb.hi, household[i], 0u, bb.status, 0u, 0u, 0u));
            }
        }
    }
    if ((ABLATE & ABL_ACCOUNTING_ADDS) != 0u && folded == FOLD_KEEP) {
        atomicAdd(&lacc[0], 1u); // as in `accounting`
    }
    flush_person_measures_by(lid, copy, WG);
}

// After a block: the workgroup's sums of the local measures, added to the block's replica.
fn flush_person_measures(lid: vec3<u32>, copy: u32) {
    flush_person_measures_by(lid, copy, ACC_WG);
}

// The same, by a workgroup of `size` invocations.
fn flush_person_measures_by(lid: vec3<u32>, copy: u32, size: u32) {
    workgroupBarrier();
    for (var e = lid.x; e < N_LOCAL * N_CELLS; e += size) {
        let v = atomicLoad(&lacc[e]);
        if (v != 0u) { acc_add(copy, e % N_CELLS, local_measure(e / N_CELLS), v, 1u); }
    }
}

// One workgroup per block of d.block households (d.n households from the window's h_skip).
@compute @workgroup_size(ACC_WG)
fn accounting_households(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let r = block_range(wid, nwg, d.block, d.n);
    if (r.x >= r.y) { return; }
    let copy = acc_copy(wid, nwg);
    for (var j = r.x + lid.x; j < r.y; j += ACC_WG) {
        accounting_household(d.h_skip + j, copy);
    }
    flush_household_measures(lid, copy);
}

// The households' fused pass, in the same blocks.
@compute @workgroup_size(ACC_WG)
fn household_month(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let r = block_range(wid, nwg, d.block, d.n);
    if (r.x >= r.y) { return; }
    let copy = acc_copy(wid, nwg);
    for (var j = r.x + lid.x; j < r.y; j += ACC_WG) {
        household_month_household(d.h_skip + j, copy);
    }
    flush_household_measures(lid, copy);
}

// After a block: the workgroup's sums of the household measures, added to the block's replica.
fn flush_household_measures(lid: vec3<u32>, copy: u32) {
    workgroupBarrier();
    for (var e = lid.x; e < N_HLOCAL * N_CELLS; e += ACC_WG) {
        let v = atomicLoad(&hacc[e]);
        if (v != 0u) { acc_add(copy, e % N_CELLS, hmeasure(e / N_CELLS), v, 1u); }
    }
}

// Add each household's net income this month to its running sum (u64 as a low and a high
// word, two household columns), for the distributional outputs: the host reads the sums
// once a year (GpuEngine::take_income_sums) where it read every household's net income
// every month (115 MB a month at national scale).
@compute @workgroup_size(WG)
fn income_add(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = linear(gid, nwg);
    if (j >= d.n) { return; }
    let h = d.h_skip + j;
    let v = net_income[h];
    let lo = income_lo[h];
    income_lo[h] = lo + v;
    if (lo > 0xffffffffu - v) {
        income_hi[h] += 1u;
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
