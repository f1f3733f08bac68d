// births.wgsl: remove the dead, insert babies after their mothers, by a deterministic prefix
// sum, and the household index. Twin of src/cpu/births.rs (there: per rayon chunk; here: per
// block of BLOCK persons, one workgroup a block, scanned by one workgroup per chunk).
//
// births_count  : per block, survivors + babies and babies alone, less the block's persons
//                 (only where demography ran on the CPU: the GPU's demography pass counts
//                 each block's deaths and births as it draws them, demography.wgsl)
// births_scan   : per chunk, exclusive prefix over its blocks (each block's persons added to
//                 what its events left in `blocks`); chunk totals to `totals`
// births_scatter: per block, copy survivors and write babies to their final slots; each
//                 household's first member writes the household's index (first output slot
//                 and output count; Households::index_members, births.rs update_index)
// births_scatter_stages: the scatter, with labour, health and person policy run on each
//                 person it writes (GpuOptions::fuse_persons scatter; src/gpu/wgsl.rs
//                 assembles labour.wgsl, health.wgsl and person_policy.wgsl before this file)
// (accounting.wgsl's births_scatter_month adds the persons' measures to that scatter, from
// the functions here: FusePersons::ScatterAll)
//
// A block's persons are written in rounds of WG consecutive persons, one per invocation, so
// that neighbouring invocations touch neighbouring words (the first version gave each
// invocation a block of its own, and its strided reads took 55% of the device's time on an
// H200). Each person's output slot comes from the block's slots, counted and summed first
// (count_block).

// (BLOCK, the persons of a block: the generated prelude's, engine.rs's)

var<workgroup> block_out: atomic<u32>;
var<workgroup> block_babies: atomic<u32>;

// The block a workgroup works on (uniform across the workgroup).
fn block_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + wid.y * nwg.x;
}

// The output slots a person takes: 1 if alive, plus 1 for a baby (as src/cpu/births.rs).
fn births_slots(s: u32) -> u32 {
    return select(1u, 0u, (s & DEAD) != 0u) + select(0u, 1u, (s & GIVES_BIRTH) != 0u);
}

@compute @workgroup_size(WG)
fn births_count(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let b = block_index(wid, nwg);
    let nblocks = (d.n + BLOCK - 1u) / BLOCK;
    if (b >= nblocks) { return; }
    var out = 0u;
    var babies = 0u;
    for (var r = 0u; r < BLOCK; r += WG) {
        let j = b * BLOCK + r + lid.x;
        if (r + lid.x < BLOCK && j < d.n) {
            let s = status[d.p_skip + j];
            out += births_slots(s);
            babies += select(0u, 1u, (s & GIVES_BIRTH) != 0u);
        }
    }
    atomicAdd(&block_out, out);
    atomicAdd(&block_babies, babies);
    workgroupBarrier();
    if (lid.x == 0u) {
        // as the demography pass leaves it: births less deaths (mod 2^32), and births
        blocks[d.blk_skip + 2u * b] = atomicLoad(&block_out) - block_len(b);
        blocks[d.blk_skip + 2u * b + 1u] = atomicLoad(&block_babies);
    }
}

// The persons of block b of the chunk.
fn block_len(b: u32) -> u32 {
    return min(BLOCK, d.n - b * BLOCK);
}

var<workgroup> part_out: array<u32, WG>;
var<workgroup> part_babies: array<u32, WG>;

@compute @workgroup_size(WG)
fn births_scan(@builtin(local_invocation_id) lid: vec3<u32>) {
    let t = lid.x;
    let nblocks = (d.n + BLOCK - 1u) / BLOCK;
    let per = (nblocks + WG - 1u) / WG;
    let lo = min(t * per, nblocks);
    let hi = min(lo + per, nblocks);
    var s_out = 0u;
    var s_babies = 0u;
    for (var b = lo; b < hi; b++) {
        s_out += blocks[d.blk_skip + 2u * b] + block_len(b);
        s_babies += blocks[d.blk_skip + 2u * b + 1u];
    }
    part_out[t] = s_out;
    part_babies[t] = s_babies;
    workgroupBarrier();
    if (t == 0u) {
        var a = 0u;
        var c = 0u;
        for (var k = 0u; k < WG; k++) {
            let x = part_out[k];
            let y = part_babies[k];
            part_out[k] = a;
            part_babies[k] = c;
            a += x;
            c += y;
        }
        totals[2u * d.chunk] = a;
        totals[2u * d.chunk + 1u] = c;
    }
    workgroupBarrier();
    var a = part_out[t];
    var c = part_babies[t];
    for (var b = lo; b < hi; b++) {
        let x = blocks[d.blk_skip + 2u * b] + block_len(b);
        let y = blocks[d.blk_skip + 2u * b + 1u];
        blocks[d.blk_skip + 2u * b] = a;
        blocks[d.blk_skip + 2u * b + 1u] = c;
        a += x;
        c += y;
    }
}

var<workgroup> wscan: array<u32, WG>;

// Inclusive prefix sum of `v` over the workgroup (Hillis-Steele); every invocation calls it.
// On return wscan[WG - 1] holds the workgroup's total.
fn workgroup_scan(t: u32, v: u32) -> u32 {
    wscan[t] = v;
    workgroupBarrier();
    for (var off = 1u; off < WG; off = off << 1u) {
        let x = select(0u, wscan[select(0u, t - off, t >= off)], t >= off);
        workgroupBarrier();
        wscan[t] += x;
        workgroupBarrier();
    }
    return wscan[t];
}

// Person j of the chunk (i in the bound window), at output slot o with n_slots slots: if
// the household's first member (chunks begin on a household's first member), the
// household's outputs start where this person's do, and number the slots of its members,
// which it walks to the last (households are a few persons). A household left without
// members gets start 0 and length 0, as on the CPU; one without members before has none in
// the input and keeps its 0 and 0.
fn index_household(j: u32, i: u32, o: u32, n_slots: u32) {
    if (j == 0u || household[i - 1u] != household[i]) {
        let h = household[i];
        var len = n_slots;
        var e = j + 1u;
        while (e < d.n && household[d.p_skip + e] == h) {
            len += births_slots(status[d.p_skip + e]);
            e++;
        }
        hh_start[h - d.h_base] = select(0u, d.out_base + o, len > 0u);
        hh_len[h - d.h_base] = len;
    }
}

// Person i's baby: its id (2^63 + the mother's id under the month's permutation, rng.rs
// baby_id) and status.
struct Baby { lo: u32, hi: u32, status: u32 }

fn baby_of(i: u32) -> Baby {
    let st = stream(d.keys, id_lo[i], id_hi[i]);
    let bb = stream(d.baby_keys, id_lo[i], id_hi[i]);
    let sx = select(FEMALE, MALE, draw(st, SALT_BIRTH_SEX) < MALE_BIRTH_THRESHOLD);
    return Baby(bb.l, (bb.r & 0x7fffffffu) | 0x80000000u, pack_status(sx, CHILD, GOOD, CARE_NONE) | BORN);
}

// A person's state at output slot o.
fn put_person(o: u32, lo: u32, hi: u32, hh: u32, age: u32, s: u32, earn: u32, wealth_: u32, wait: u32) {
    new_id_lo[o] = lo;
    new_id_hi[o] = hi;
    new_household[o] = hh;
    new_age_months[o] = age;
    new_status[o] = s;
    new_earnings[o] = earn;
    new_wealth[o] = wealth_;
    new_svc_wait[o] = wait;
}

// The scatter with the three person stages run on each person it writes (GpuOptions::
// fuse_persons scatter): what `births_scatter` then `person_stages_pass` give, in one pass
// over the persons. The stages read only the person's own state and its household's info,
// which the scatter does not change, so a person's stages give the same here, on the state
// the scatter would have written, as in their own pass (src/cpu/fused.rs). Binds the five
// outputs at the output window (out_income_tax and the rest: engine.rs binding). Returns what
// the persons' measures need (accounting.wgsl `births_scatter_month`; ignored here).
fn put_staged(o: u32, lo: u32, hi: u32, hh: u32, age: u32, s: u32, earn: u32, wealth_: u32, wait: u32) -> PersonMonth {
    let h = hh - d.h_base;
    let info = hh_info[h];
    let lab = labour_person(lo, hi, age, s, earn);
    let pp = person_policy_person(lo, hi, age, health_person(lo, hi, age, lab.status, info), lab.earnings, wealth_);
    put_person(o, lo, hi, hh, age, pp.status, lab.earnings, wealth_, wait);
    out_income_tax[o] = pp.tax;
    out_ni[o] = pp.ni;
    out_state_pension[o] = pp.sp;
    out_disability[o] = pp.dis;
    out_care_tariff[o] = pp.care;
    return PersonMonth(age, lab.earnings, info, h, pp);
}

// A block's slots, counted and summed before its persons are written: two bits a person
// (0, 1 or 2 slots), sixteen persons to a word, and each word's first slot in the block.
// Then the scatter writes the block's persons in a loop without barriers. (Until the
// nineteenth session each round of WG persons ran its own prefix sum, 18 barriers a round
// at 256, each waiting for the slowest invocation's work of the round before: on lavapipe
// the scatter with the stages took 1.5 times the two passes it replaces that way, and about
// as long as them this way.)
const SW: u32 = BLOCK / 16u;
var<workgroup> bslots: array<u32, SW>;
var<workgroup> bfirst: array<u32, SW>;

// The sum of a word's sixteen two-bit fields.
fn field_sum(w: u32) -> u32 {
    return countOneBits(w & 0x55555555u) + 2u * countOneBits(w & 0xaaaaaaaau);
}

// Fill bslots and bfirst for block b, and return the block's first output slot; every
// invocation calls it, in uniform control flow.
// Each invocation packs a run of words, sixteen consecutive persons each (the words of a
// group of invocations span consecutive cache lines, which the run's later reads find),
// then one prefix sum over the invocations' runs.
fn count_block(b: u32, t: u32) -> u32 {
    let q = (SW + WG - 1u) / WG;
    let k0 = min(t * q, SW);
    let k1 = min(k0 + q, SW);
    var mine = 0u;
    for (var k = k0; k < k1; k++) {
        var w = 0u;
        for (var f = 0u; f < 16u; f++) {
            let j = b * BLOCK + 16u * k + f;
            if (j < d.n) { w |= births_slots(status[d.p_skip + j]) << (2u * f); }
        }
        bslots[k] = w;
        mine += field_sum(w);
    }
    var at = workgroup_scan(t, mine) - mine;
    for (var k = k0; k < k1; k++) {
        bfirst[k] = at;
        at += field_sum(bslots[k]);
    }
    workgroupBarrier();
    return d.out_skip + blocks[d.blk_skip + 2u * b];
}

// The output slot of the block's person u (after count_block), the block's first at base.
fn slot_of(base: u32, u: u32) -> u32 {
    let k = u / 16u;
    return base + bfirst[k] + field_sum(bslots[k] & ((1u << (2u * (u % 16u))) - 1u));
}

// The block's person u, in a round of WG consecutive persons (one an invocation): where it is
// (i in the bound window), its status and output slot, whether it is in the chunk and alive
// (then the caller writes it, and its baby if it gives birth); the household index written.
struct Slot { i: u32, s: u32, o: u32, alive: bool }

fn scatter_slot(b: u32, base: u32, u: u32) -> Slot {
    let j = b * BLOCK + u;
    if (u >= BLOCK || j >= d.n) { return Slot(0u, 0u, 0u, false); }
    let i = d.p_skip + j;
    let s = status[i];
    let o = slot_of(base, u);
    index_household(j, i, o, births_slots(s));
    return Slot(i, s, o, (s & DEAD) == 0u);
}

@compute @workgroup_size(WG)
fn births_scatter(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let b = block_index(wid, nwg);
    if (b >= (d.n + BLOCK - 1u) / BLOCK) { return; }
    let base = count_block(b, lid.x);
    for (var r = 0u; r < BLOCK; r += WG) {
        let x = scatter_slot(b, base, r + lid.x);
        if (x.alive) {
            let i = x.i;
            put_person(x.o, id_lo[i], id_hi[i], household[i], age_months[i], x.s & ~GIVES_BIRTH, earnings[i], wealth[i], svc_wait[i]);
            if ((x.s & GIVES_BIRTH) != 0u) {
                let bb = baby_of(i);
                put_person(x.o + 1u, bb.lo, bb.hi, household[i], 0u, bb.status, 0u, 0u, 0u);
            }
        }
    }
}

// births_scatter with put_staged for put_person (its own entry point, so that the plain
// scatter binds none of the stages' buffers)
@compute @workgroup_size(WG)
fn births_scatter_stages(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let b = block_index(wid, nwg);
    if (b >= (d.n + BLOCK - 1u) / BLOCK) { return; }
    let base = count_block(b, lid.x);
    for (var r = 0u; r < BLOCK; r += WG) {
        let x = scatter_slot(b, base, r + lid.x);
        if (x.alive) {
            let i = x.i;
            _ = put_staged(x.o, id_lo[i], id_hi[i], household[i], age_months[i], x.s & ~GIVES_BIRTH, earnings[i], wealth[i], svc_wait[i]);
            if ((x.s & GIVES_BIRTH) != 0u) {
                let bb = baby_of(i);
                _ = put_staged(x.o + 1u, bb.lo, bb.hi, household[i], 0u, bb.status, 0u, 0u, 0u);
            }
        }
    }
}
