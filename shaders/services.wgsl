// services.wgsl: service demand, capacity and waiting lists served longest-waiting first by a
// radix select over weighted histograms. Twin of src/cpu/services.rs (read its header for the
// rules). Entry points, per month:
//   services_demand : per person, this month's priorities, then histogram pass 0 (the
//                     GP's bins summed in workgroup memory first)
//   services_cut    : per queue, sum its histogram's replicas and narrow the cut after a
//                     pass (d.hpass)
//   services_hist   : per person, histogram pass 1 of the key bytes, listing who takes part
//   services_list_args : per list, its length and the workgroup counts of the passes over it
//   services_hist_list : per listed person, histogram passes 2..4 (d.hpass); passes 2 and 3
//                     list who took part again, so each pass reads only the persons
//                     that matched the key bytes chosen before it
//   services_apply  : per person, who is served, new waits, household moves, measures
// With GpuOptions::services_list, services_demand_listing, services_hist_requests and
// services_apply_requests replace services_demand, services_hist and services_apply: the
// same work, pass 1 and apply over the persons the demand pass lists as having a request.

// ---- 64-bit helpers on (lo, hi) ----
fn add64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let lo = a.x + b.x;
    return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}
fn sub64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    return vec2<u32>(a.x - b.x, a.y - b.y - select(0u, 1u, a.x < b.x));
}
fn gt64(a: vec2<u32>, b: vec2<u32>) -> bool {
    return a.y > b.y || (a.y == b.y && a.x > b.x);
}

fn queue_base(id_lo_: u32, id_hi_: u32) -> u32 {
    return draw(stream(d.keys, id_lo_, id_hi_), SALT_QUEUE);
}
fn key_of(base: u32, service: u32) -> u32 {
    return mix32(base ^ ((service + 1u) * 0x9e3779b9u));
}

fn length_of_stay(id_lo_: u32, id_hi_: u32, req_step: u32, mean: u32, delayed: bool) -> u32 {
    let ps = stream(d.persistent, id_lo_, id_hi_);
    let x = mix32(mix32(ps.l ^ (SALT_LENGTH_OF_STAY ^ mix32(req_step))) ^ ps.r);
    let los = 1u + x % (2u * mean - 1u);
    if (delayed) {
        return max(mul_mult(los, params.sp_care_stay_bp), 1u);
    }
    return los;
}

fn care_waiting(w: u32) -> bool {
    let k = wait_of(w, S_CARE);
    return k >= 2u && k <= 30u;
}

fn care_hours(s: u32) -> u32 {
    return select(params.care_hours_moderate, params.care_hours_substantial, st_care(s) == CARE_SUBSTANTIAL);
}

fn service_units(service: u32, prio: u32, i: u32, w: u32) -> u32 {
    if (service == S_HOSPITAL) {
        let req_step = params.step - (prio - 1u);
        let mean = t_stay(age_band(age_months[i] / 12u));
        return length_of_stay(id_lo[i], id_hi[i], req_step, mean, care_waiting(w));
    }
    if (service == S_CARE) {
        return care_hours(status[i]);
    }
    return 1u;
}

fn max_wait(service: u32) -> u32 {
    switch service {
        case 0u: { return params.max_wait_gp; }
        case 1u: { return params.max_wait_ae; }
        case 2u: { return params.max_wait_hospital; }
        case 3u: { return params.max_wait_care; }
        case 4u: { return params.max_wait_homeless; }
        default: { return params.max_wait_employment; }
    }
}

fn unit_cost(service: u32) -> u32 {
    switch service {
        case 0u: { return params.cost_gp; }
        case 1u: { return params.cost_ae; }
        case 2u: { return params.cost_hospital; }
        case 3u: { return params.cost_care; }
        case 4u: { return params.cost_homeless; }
        case 5u: { return params.cost_employment; }
        default: { return params.cost_lettings; }
    }
}

fn sel_word(q: u32, k: u32) -> u32 { return qsel[q * SEL_WORDS + k]; }

fn is_served(q: u32, prio: u32, key: u32) -> bool {
    let state = sel_word(q, 0u);
    if (state == SEL_ALL) { return true; }
    if (state == SEL_CUT) {
        let p = sel_word(q, 1u);
        return prio > p || (prio == p && key > sel_word(q, 2u));
    }
    return false;
}

fn hist_add(copy: u32, q: u32, bin: u32, w: u32, v: u32) {
    let p = mul64(w, v);
    if (p.x == 0u && p.y == 0u) { return; }
    hist_high(copy, q, bin, p, atomicAdd(&qhist[((copy * N_QUEUES + q) * BINS + bin) * 2u], p.x));
}

// The high word of a histogram sum whose low word went where `old` came from (the replica's,
// or a workgroup's sum first): the product's high word and the carry out of the low word,
// straight to the replica's high word (as common.wgsl acc_high for the measures).
fn hist_high(copy: u32, q: u32, bin: u32, p: vec2<u32>, old: u32) {
    let hi = p.y + select(0u, 1u, old > 0xffffffffu - p.x);
    if (hi != 0u) { atomicAdd(&qhist[((copy * N_QUEUES + q) * BINS + bin) * 2u + 1u], hi); }
}

// The GP's histogram of pass 0 (its 12 queues, priorities below 32: a GP wait is 5 bits)
// summed in workgroup memory first (zeroed at each workgroup's start by wgpu: engine.rs's
// pipelines keep `zero_initialize_workgroup_memory`), as the apply pass sums the GP's measures:
// the GP has most of the requests (80% on the shipped sample), and each was a global atomic
// into a replica. 12 x 32 low words, 1,536 bytes; the high words go straight to the replica.
const GP_BINS0: u32 = 32u;
var<workgroup> gp_hist0: array<atomic<u32>, 384>;
const_assert 12u * GP_BINS0 == 384u;

// hist_add for pass 0: the GP's bins in workgroup memory (flush_hist0 adds them to the
// replica after the workgroup's persons), the rest straight to the replica.
fn hist_add0(copy: u32, q: u32, bin: u32, w: u32, v: u32) {
    if (q >= 12u || bin >= GP_BINS0) {
        hist_add(copy, q, bin, w, v);
        return;
    }
    let p = mul64(w, v);
    if (p.x == 0u && p.y == 0u) { return; }
    hist_high(copy, q, bin, p, atomicAdd(&gp_hist0[q * GP_BINS0 + bin], p.x));
}

// After the workgroup's persons (every invocation calls it: it has a barrier): the GP's
// pass-0 sums added to the replica.
fn flush_hist0(lid: vec3<u32>, copy: u32) {
    workgroupBarrier();
    for (var e = lid.x; e < 12u * GP_BINS0; e += WG) {
        let v = atomicLoad(&gp_hist0[e]);
        if (v != 0u) { hist_add(copy, e / GP_BINS0, e % GP_BINS0, v, 1u); }
    }
}

// (Here and below the tenure is tested before the household's first member is read:
// `&&` does not evaluate its right side when the left is false, so hh_start is read only for
// the households in temporary accommodation or homeless, about one in 200, not for every
// person without a wait.)
fn has_requests(i: u32, w: u32, h: u32) -> bool {
    return w != 0u || (hh_tenure(hh_info[h]) == TEMPORARY && hh_start[h] == d.p_base + i);
}

// The priority of a person's request to service s this month (0: none): for social lettings,
// from the household's wait when the person is a temporary household's reference person;
// for the others, the person's wait.
fn request_prio(s: u32, w0: u32, is_ta_ref: bool, h: u32) -> u32 {
    if (s == S_LETTINGS) {
        if (is_ta_ref) { return min(hh_wait[h] + 1u, MAX_LETTING_PRIORITY); }
        return 0u; // (hh_wait read only for those: a gather saved)
    }
    return wait_of(w0, s);
}

// Pass 0, in the demand passes: a person's requests added to the histogram by priority (the
// GP's in workgroup memory: hist_add0, which those passes flush). `w0`: the waits the demand
// pass has just written (passed, not read back: a load after the invocation's own store to
// the same word, which a compiler may not forward, as buffers can alias).
fn hist_demand(i: u32, h: u32, w0: u32, copy: u32) {
    if (!has_requests(i, w0, h)) { return; }
    let info = hh_info[h];
    let r = hh_region(info);
    let w = hh_weight[h];
    let is_ta_ref = hh_tenure(info) == TEMPORARY && hh_start[h] == d.p_base + i;
    for (var s = 0u; s < N_SERVICES; s++) {
        let prio = request_prio(s, w0, is_ta_ref, h);
        if (prio == 0u) { continue; }
        var u = 1u;
        if (s != S_LETTINGS) { u = service_units(s, prio, i, w0); }
        hist_add0(copy, s * 12u + r, prio, w, u);
    }
}

// A radix pass (hp 1-4): a person's requests at an undecided queue's cut priority, added to
// the histogram by their key's byte hp, in passes 2-4 only those whose key matched the
// bytes chosen so far; whether any of them took part.
fn hist_person(hp: u32, i: u32, h: u32, copy: u32) -> bool {
    let w0 = svc_wait[i];
    if (!has_requests(i, w0, h)) { return false; }
    var took = false;
    let info = hh_info[h];
    let r = hh_region(info);
    let w = hh_weight[h];
    let is_ta_ref = hh_tenure(info) == TEMPORARY && hh_start[h] == d.p_base + i;
    var kbase = 0u;
    var have_base = false;
    for (var s = 0u; s < N_SERVICES; s++) {
        let prio = request_prio(s, w0, is_ta_ref, h);
        if (prio == 0u) { continue; }
        let q = s * 12u + r;
        if (sel_word(q, 0u) != SEL_SEARCH || prio != sel_word(q, 1u)) { continue; }
        if (!have_base) {
            kbase = queue_base(id_lo[i], id_hi[i]);
            have_base = true;
        }
        let key = key_of(kbase, s);
        if (hp > 1u) {
            let shift = 32u - 8u * (hp - 1u);
            if ((key >> shift) != (sel_word(q, 2u) >> shift)) { continue; }
        }
        took = true;
        var u = 1u;
        if (s != S_LETTINGS) { u = service_units(s, prio, i, w0); }
        hist_add(copy, q, (key >> (32u - 8u * hp)) & 0xffu, w, u);
    }
    return took;
}

const_assert S_GP == 0u && S_AE == 1u && S_HOSPITAL == 2u && S_CARE == 3u && S_HOMELESS == 4u && S_EMPLOYMENT == 5u;
fn demand_person(i: u32, h: u32, w0: u32, copy: u32) -> u32 {
    let s = status[i];
    let band = age_band(age_months[i] / 12u);
    let hl = st_health(s);
    let st = stream(d.keys, id_lo[i], id_hi[i]);
    let info = hh_info[h];
    let c = cell(hh_region(info), band, st_sex(s));
    let w = hh_weight[h];
    var out = 0u;
    // care first: its waiting state drives the admission spillover (the order S_CARE, S_GP,
    // S_AE, S_HOSPITAL, S_HOMELESS, S_EMPLOYMENT, computed: a constant array indexed by a
    // value is copied into the invocation's own memory at each lookup)
    for (var o = 0u; o < 6u; o++) {
        let svc = select(select(o - 1u, S_CARE, o == 0u), o, o >= 4u);
        let k = wait_of(w0, svc);
        var need = true;
        var new_draw = false;
        switch svc {
            case 0u: { new_draw = draw(st, SALT_GP_DEMAND) < t_service(band, hl, 0u); }
            case 1u: { new_draw = draw(st, SALT_AE_DEMAND) < t_service(band, hl, 1u); }
            case 2u: {
                var thr = t_service(band, hl, 2u);
                if (care_waiting(out)) {
                    thr = mul_mult(thr, params.sp_care_admission_bp);
                }
                new_draw = draw(st, SALT_HOSPITAL_DEMAND) < thr;
            }
            case 3u: {
                need = st_care_funding(s) == FUNDING_COUNCIL;
                new_draw = need;
            }
            case 4u: {
                need = hh_tenure(info) == HOMELESS && hh_start[h] == d.p_base + i;
                new_draw = need;
            }
            default: {
                need = st_employment(s) == UNEMPLOYED;
                new_draw = need && draw(st, SALT_EMPLOYMENT_DEMAND) % 10000u < params.emp_request_bp;
            }
        }
        var prio = 0u;
        if (k == IN_PACKAGE) {
            prio = select(0u, IN_PACKAGE, need);
        } else if (k != 0u) {
            if (need) {
                prio = min(k + 1u, 30u);
            } else {
                // (demand follows from served + unmet after the month: derive_service_measures)
                acc_add(copy, c, service_measure(svc, SM_UNMET), w, 1u);
                acc_add(copy, c, service_measure(svc, SM_LEFT), w, 1u);
            }
        } else if (new_draw) {
            prio = 1u;
        }
        out = set_wait(out, svc, prio);
    }
    return out;
}

// Demand of person j of the chunk (this month's waits, then histogram pass 0); whether the
// person has a request this month.
fn demand_at(j: u32, copy: u32) -> bool {
    let i = d.p_skip + j;
    let h = household[i] - d.h_base;
    let w = demand_person(i, h, svc_wait[i], copy);
    svc_wait[i] = w;
    if ((ABLATE & ABL_DEMAND_HIST) == 0u) {
        hist_demand(i, h, w, copy);
    }
    return has_requests(i, w, h);
}

@compute @workgroup_size(WG)
fn services_demand(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let j = linear(gid, nwg);
    let copy = acc_copy(wid, nwg);
    if (j < d.n) {
        _ = demand_at(j, copy);
    }
    if ((ABLATE & ABL_DEMAND_HIST) == 0u) {
        flush_hist0(lid, copy); // (a constant: uniform)
    }
}

var<workgroup> list_n: atomic<u32>;
var<workgroup> list_base: u32;

// A slot in a list of the chunk, for those invocations that `take` one: one reservation a
// workgroup (counter `counter` of svc_count), then each lister's slot within it; the caller
// writes its list at the slot. A list's order depends on scheduling; the passes that read a
// list sum, so the results do not. Every invocation of the workgroup calls it (it has
// barriers). Each pass writes its own list, so it binds only that one.
fn list_slot(take: bool, lid: vec3<u32>, counter: u32) -> u32 {
    var slot = 0u;
    if (take) { slot = atomicAdd(&list_n, 1u); }
    workgroupBarrier();
    if (lid.x == 0u) {
        let n = atomicLoad(&list_n);
        if (n > 0u) { list_base = atomicAdd(&svc_count[counter], n); }
    }
    workgroupBarrier();
    return d.p_skip + list_base + slot;
}

// With the request list (GpuOptions::services_list): demand as services_demand, and the
// persons with a request listed, so that the first radix pass and the apply pass read the
// list (about two persons in five) instead of every person.
@compute @workgroup_size(WG)
fn services_demand_listing(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let j = linear(gid, nwg);
    let copy = acc_copy(wid, nwg);
    var asks = false;
    if (j < d.n) {
        asks = demand_at(j, copy);
    }
    let at = list_slot(asks, lid, d.chunks + d.chunk);
    if (asks) { req_list[at] = j; }
    if ((ABLATE & ABL_DEMAND_HIST) == 0u) {
        flush_hist0(lid, copy); // (a constant: uniform)
    }
}

// The first radix pass, over every person of the chunk. It also lists the persons that took
// part: a request that takes part in a later pass took part in this one (a queue's cut
// priority is fixed in pass 0 and it stays undecided until pass 4), so passes 2-4 go through
// the lists alone (services_hist_list) instead of every person.
@compute @workgroup_size(WG)
fn services_hist(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let j = linear(gid, nwg);
    var took = false;
    if (j < d.n) {
        let i = d.p_skip + j;
        took = hist_person(d.hpass, i, household[i] - d.h_base, acc_copy(wid, nwg));
    }
    let at = list_slot(took, lid, d.chunk);
    if (took) { svc_list[at] = j; }
}

// The first radix pass over the request list (GpuOptions::services_list), dispatched from its
// length.
@compute @workgroup_size(WG)
fn services_hist_requests(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let k = linear(gid, nwg);
    var took = false;
    var j = 0u;
    if (k < svc_len[d.chunks + d.chunk]) {
        j = req_list[d.p_skip + k];
        let i = d.p_skip + j;
        took = hist_person(d.hpass, i, household[i] - d.h_base, acc_copy(wid, nwg));
    }
    let at = list_slot(took, lid, d.chunk);
    if (took) { svc_list[at] = j; }
}

// Before the list passes: the chunk's list length, and workgroups for it (at most
// d.groups_x in x) for their indirect dispatch.
@compute @workgroup_size(WG)
fn services_list_args(@builtin(global_invocation_id) gid: vec3<u32>) {
    if (gid.x != 0u || gid.y != 0u) { return; }
    let n = atomicLoad(&svc_count[d.chunk]);
    svc_len[d.chunk] = n;
    let g = n / WG + select(0u, 1u, n % WG != 0u);
    let x = min(g, d.groups_x);
    svc_args[3u * d.chunk] = x;
    svc_args[3u * d.chunk + 1u] = select(0u, g / d.groups_x + select(0u, 1u, g % d.groups_x != 0u), g > 0u);
    svc_args[3u * d.chunk + 2u] = 1u;
}

// Radix passes 2-4: the persons listed by the pass before (its length in svc_len). Pass 2
// reads the first pass's list (svc_list) and lists who took part in it (svc_list2), pass 3
// reads that and lists again (svc_list), pass 4 reads the last. A request that takes part
// in a pass took part in the one before (it matched one key byte fewer), so each list holds
// everyone the next pass needs, and passes 3 and 4 read far shorter lists than pass 2 (at
// least a person for each queue still searching: on the tests' 40,000 persons, 13,000 to
// 14,000, then about 100, then about 50 a month). src/cpu/services.rs keeps only the counted
// candidates from pass to pass the same way.
@compute @workgroup_size(WG)
fn services_hist_list(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let k = linear(gid, nwg);
    let hp = d.hpass; // uniform: the barriers in list_slot are reached by every invocation
    var took = false;
    var j = 0u;
    if (k < svc_len[d.chunk]) {
        if (hp == 3u) {
            j = svc_list2[d.p_skip + k];
        } else {
            j = svc_list[d.p_skip + k];
        }
        let i = d.p_skip + j;
        took = hist_person(hp, i, household[i] - d.h_base, acc_copy(wid, nwg));
    }
    if (hp < 4u) {
        let at = list_slot(took, lid, d.chunk);
        if (took && hp == 2u) { svc_list2[at] = j; }
        if (took && hp == 3u) { svc_list[at] = j; }
    }
}

// One workgroup per queue, an invocation per bin: the queue's histogram summed over its
// replicas into workgroup memory, the bins summed in 16 segments of 16, then one invocation
// narrows the cut (services.rs select) after a pass (d.hpass): it finds the segment from the
// top, then the bin within it (48 steps, not 512). (Until the thirteenth session this was
// two passes, a reduce into a storage buffer and a select over it: ten passes a month, now
// five.)
const SEG: u32 = 16u; // BINS = SEG * SEG
var<workgroup> red: array<vec2<u32>, BINS>;
var<workgroup> seg: array<vec2<u32>, SEG>;

@compute @workgroup_size(BINS)
fn services_cut(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = wid.x + wid.y * nwg.x;
    if (q >= N_QUEUES) { return; } // uniform across the workgroup
    var v = vec2<u32>(0u, 0u);
    for (var r = 0u; r < ACC_COPIES; r++) {
        let x = ((r * N_QUEUES + q) * BINS + lid.x) * 2u;
        v = add64(v, vec2<u32>(atomicLoad(&qhist[x]), atomicLoad(&qhist[x + 1u])));
    }
    red[lid.x] = v;
    workgroupBarrier();
    if (lid.x < SEG) {
        var s = vec2<u32>(0u, 0u);
        for (var k = 0u; k < SEG; k++) {
            s = add64(s, red[lid.x * SEG + k]);
        }
        seg[lid.x] = s;
    }
    workgroupBarrier();
    if (lid.x == 0u) {
        narrow_cut(q);
    }
}

fn narrow_cut(q: u32) {
    let hp = d.hpass;
    var total = vec2<u32>(0u, 0u);
    for (var g = 0u; g < SEG; g++) {
        total = add64(total, seg[g]);
    }
    let base = q * SEL_WORDS;
    var limit: vec2<u32>;
    if (hp == 0u) {
        limit = vec2<u32>(params.capacity[q], 0u);
        if (!gt64(total, limit)) {
            qsel[base] = SEL_ALL;
            return;
        }
        qsel[base] = SEL_SEARCH;
        qsel[base + 2u] = 0u;
    } else {
        if (qsel[base] != SEL_SEARCH) { return; }
        limit = vec2<u32>(qsel[base + 3u], qsel[base + 4u]);
    }
    // from the top: the first segment whose bins take the sum past the limit holds the first
    // bin that does
    var cum = vec2<u32>(0u, 0u);
    for (var k = 0u; k < SEG; k++) {
        let g = SEG - 1u - k;
        let next = add64(cum, seg[g]);
        if (!gt64(next, limit)) {
            cum = next;
            continue;
        }
        for (var m = 0u; m < SEG; m++) {
            let b = g * SEG + SEG - 1u - m;
            let after = add64(cum, red[b]);
            if (gt64(after, limit)) {
                let rem = sub64(limit, cum);
                if (hp == 0u) {
                    qsel[base + 1u] = b;
                } else {
                    qsel[base + 2u] = qsel[base + 2u] | (b << (32u - 8u * hp));
                    if (hp == 4u) { qsel[base] = SEL_CUT; }
                }
                qsel[base + 3u] = rem.x;
                qsel[base + 4u] = rem.y;
                return;
            }
            cum = after;
        }
        return; // not reached: the segment's bins sum past the limit
    }
}

// The apply pass sums the GP's measures (most requests are to the GP: 4.3 of 5.1 million
// in a year at 1M persons) in workgroup memory first, as accounting.wgsl does for the person
// measures: one workgroup per block of d.block persons (engine.rs sum_block), the low words per (measure, cell)
// added to the block's replica once per block, high words and carries straight to it.
const APPLY_WG: u32 = 256u;
// SERVICE_MEASURES (10) x 192 low words: 7,680 bytes
var<workgroup> gacc: array<atomic<u32>, SERVICE_MEASURES * N_CELLS>;

// Add w * v to the service's measure k of cell c: the GP's in workgroup memory, the rest to
// the replica.
fn svc_add(copy: u32, c: u32, svc: u32, k: u32, w: u32, v: u32) {
    if ((ABLATE & ABL_APPLY_ADDS) != 0u) {
        // a timing run without the adds: the values folded into one word (flush_gp)
        folded ^= w ^ v;
        return;
    }
    if (svc != S_GP) {
        acc_add(copy, c, service_measure(svc, k), w, v);
        return;
    }
    let p = mul64(w, v);
    if (p.x == 0u && p.y == 0u) { return; }
    acc_high(copy, c, service_measure(S_GP, k), p, atomicAdd(&gacc[k * N_CELLS + c], p.x));
}

@compute @workgroup_size(APPLY_WG)
fn services_apply(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let r = block_range(wid, nwg, d.block, d.n);
    if (r.x >= r.y) { return; }
    let copy = acc_copy(wid, nwg);
    for (var j = r.x + lid.x; j < r.y; j += APPLY_WG) {
        apply_person(d.p_skip + j, copy);
    }
    flush_gp(lid, copy);
}

var<workgroup> apply_n: u32;

// The apply pass over the request list (GpuOptions::services_list): the workgroups the host
// dispatched for the chunk's persons share the list, in blocks of a multiple of APPLY_WG.
@compute @workgroup_size(APPLY_WG)
fn services_apply_requests(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    if (lid.x == 0u) { apply_n = svc_len[d.chunks + d.chunk]; }
    let n = workgroupUniformLoad(&apply_n); // uniform, for the barrier after the blocks
    // the list over the dispatched workgroups (groups * block >= n: none past them has work)
    // (a chunk without persons still runs one workgroup: at least one group, never a zero divisor)
    let groups = max(1u, (d.n + d.block - 1u) / d.block);
    let per = (n + groups - 1u) / groups;
    let r = block_range(wid, nwg, max(APPLY_WG, (per + APPLY_WG - 1u) / APPLY_WG * APPLY_WG), n);
    if (r.x >= r.y) { return; }
    let copy = acc_copy(wid, nwg);
    for (var k = r.x + lid.x; k < r.y; k += APPLY_WG) {
        apply_person(d.p_skip + req_list[d.p_skip + k], copy);
    }
    flush_gp(lid, copy);
}

// A timing run's folded values (Ablation::ApplyAdds, Ablation::ApplyScan).
var<private> folded: u32;

// After a block: the workgroup's sums of the GP's measures, added to the block's replica.
fn flush_gp(lid: vec3<u32>, copy: u32) {
    if ((ABLATE & (ABL_APPLY_ADDS | ABL_APPLY_SCAN)) != 0u && folded == FOLD_KEEP) {
        // keeps the values an ablated run computes (a value the compiler cannot know; it
        // lands in the GP's demand of cell 0, which the host derives over: only the add counts)
        atomicAdd(&gacc[0], 1u);
    }
    workgroupBarrier();
    for (var e = lid.x; e < SERVICE_MEASURES * N_CELLS; e += APPLY_WG) {
        let v = atomicLoad(&gacc[e]);
        if (v != 0u) { acc_add(copy, e % N_CELLS, service_measure(S_GP, e / N_CELLS), v, 1u); }
    }
}

// After household h (cell c, weight w) changed tenure from `was` to `now` in the services,
// where its measures were added before them (d.hh_delta: GpuOptions::fuse_households): the
// old tenure's measures taken away and the new one's added (common.wgsl tenure_adds, as
// accounting.wgsl's household_measures adds them). Its reference person asks, so c is the
// household's cell too (a household counts in its first member's).
fn retenure(copy: u32, c: u32, w: u32, h: u32, was: u32, now: u32) {
    if (d.hh_delta == 0u || was == now) { return; }
    let arrears = hh_arrears[h];
    let a = tenure_adds(was, arrears);
    if (a.m0 < N_MEASURES) { acc_sub(copy, c, a.m0, w, a.v0); }
    if (a.m1 < N_MEASURES) { acc_sub(copy, c, a.m1, w, a.v1); }
    let b = tenure_adds(now, arrears);
    if (b.m0 < N_MEASURES) { acc_add(copy, c, b.m0, w, b.v0); }
    if (b.m1 < N_MEASURES) { acc_add(copy, c, b.m1, w, b.v1); }
}

fn apply_person(i: u32, copy: u32) {
    let h = household[i] - d.h_base;
    let wv = svc_wait[i];
    let asks = has_requests(i, wv, h);
    if ((ABLATE & ABL_APPLY_SCAN) != 0u) {
        // a timing run of the scan alone: what it read folded into one word (flush_gp)
        folded ^= wv ^ h ^ select(0u, 1u, asks);
        return;
    }
    if (!asks) { return; }
    let info = hh_info[h];
    let is_ta_ref = hh_tenure(info) == TEMPORARY && hh_start[h] == d.p_base + i;
    let r = hh_region(info);
    let c = cell(r, age_band(age_months[i] / 12u), st_sex(status[i]));
    let w = hh_weight[h];
    var kbase: u32;
    if ((ABLATE & ABL_APPLY_HASH) != 0u) {
        kbase = id_lo[i] ^ id_hi[i];
    } else {
        kbase = queue_base(id_lo[i], id_hi[i]);
    }
    // the household's wait and rent, read where they are used: only a temporary household's
    // reference person asks for a letting (two gathers a requester fewer)
    var old_wait = 0u;
    var old_rent = 0u;
    if (is_ta_ref) {
        old_wait = hh_wait[h];
        old_rent = hh_rent[h];
    }
    var tenure = hh_tenure(info); // as written so far (retenure)
    var out = wv;
    for (var svc = 0u; svc < N_SERVICES; svc++) {
        // this person's request to the service (requests() without the array)
        var prio = 0u;
        if (svc == S_LETTINGS) {
            if (is_ta_ref) { prio = min(old_wait + 1u, MAX_LETTING_PRIORITY); }
        } else {
            prio = wait_of(wv, svc);
        }
        if (prio == 0u) { continue; }
        var u = 1u;
        var key: u32;
        if ((ABLATE & ABL_APPLY_HASH) != 0u) {
            if (svc == S_HOSPITAL) {
                u = t_stay(age_band(age_months[i] / 12u));
            } else if (svc != S_LETTINGS) {
                u = service_units(svc, prio, i, wv); // no hash outside the hospital's
            }
            // one multiply, so the keys still spread over 32 bits like the cut's
            key = (kbase ^ svc) * 0x9e3779b9u;
        } else {
            if (svc != S_LETTINGS) { u = service_units(svc, prio, i, wv); }
            key = key_of(kbase, svc);
        }
        let q = svc * 12u + r;
        // demand, and for one-unit services units and cost, follow from served and unmet
        // after the month (src/measures.rs derive_service_measures, on the host)
        if ((DERIVED_UNITS_DEMANDED >> svc) & 1u) == 0u {
            svc_add(copy, c, svc, SM_UNITS_DEMANDED, w, u);
        }
        var is_new = prio == 1u;
        if (svc == S_LETTINGS) { is_new = old_wait == 0u; }
        if (is_new) {
            svc_add(copy, c, svc, SM_NEW, w, 1u);
        }
        if (is_served(q, prio, key)) {
            svc_add(copy, c, svc, SM_SERVED, w, 1u);
            if ((DERIVED_UNITS >> svc) & 1u) == 0u {
                svc_add(copy, c, svc, SM_UNITS, w, u);
                svc_add(copy, c, svc, SM_COST, w, mul_sat(u, unit_cost(svc)));
            }
            if (svc == S_CARE) {
                out = set_wait(out, svc, IN_PACKAGE);
            } else if (svc == S_HOMELESS) {
                out = set_wait(out, svc, 0u);
                hh_info[h] = r | (TEMPORARY << TENURE_SHIFT);
                hh_rent[h] = params.ta_rent[r];
                hh_wait[h] = 0u;
                retenure(copy, c, w, h, tenure, TEMPORARY);
                tenure = TEMPORARY;
            } else if (svc == S_LETTINGS) {
                hh_info[h] = r | (SOCIAL_RENT << TENURE_SHIFT);
                hh_rent[h] = params.social_rent[r];
                hh_wait[h] = 0u;
                retenure(copy, c, w, h, tenure, SOCIAL_RENT);
                tenure = SOCIAL_RENT;
            } else {
                out = set_wait(out, svc, 0u);
            }
        } else {
            svc_add(copy, c, svc, SM_UNMET, w, 1u);
            if (svc == S_LETTINGS) {
                svc_add(copy, c, svc, SM_WAITING, w, 1u);
                hh_info[h] = info;
                hh_rent[h] = old_rent;
                hh_wait[h] = sat_add(old_wait, 1u);
                retenure(copy, c, w, h, tenure, hh_tenure(info));
                tenure = hh_tenure(info);
                continue;
            }
            let waited = select(prio, 1u, prio == IN_PACKAGE);
            if (waited > max_wait(svc)) {
                svc_add(copy, c, svc, SM_LEFT, w, 1u);
                out = set_wait(out, svc, 0u);
                if (svc == S_HOMELESS) {
                    hh_info[h] = r | (PRIVATE_RENT << TENURE_SHIFT);
                    hh_rent[h] = params.ta_rent[r];
                    hh_wait[h] = 0u;
                    retenure(copy, c, w, h, tenure, PRIVATE_RENT);
                    tenure = PRIVATE_RENT;
                }
            } else {
                svc_add(copy, c, svc, SM_WAITING, w, 1u);
                out = set_wait(out, svc, waited);
            }
        }
    }
    svc_wait[i] = out;
}
