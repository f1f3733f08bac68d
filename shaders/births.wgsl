// births.wgsl: remove the dead, insert babies after their mothers, by a deterministic prefix
// sum, and the household index. Twin of src/cpu/births.rs (there: per rayon chunk; here: per
// block of BLOCK persons, one workgroup a block, scanned by one workgroup per chunk).
//
// births_count  : per block, survivors + babies and babies alone
// births_scan   : per chunk, exclusive prefix over its blocks; chunk totals to `totals`
// births_scatter: per block, copy survivors and write babies to their final slots; each
//                 household's first member writes the household's index (first output slot
//                 and output count; Households::index_members, births.rs update_index)
//
// A block's persons are read in rounds of WG consecutive persons, one per invocation, so that
// neighbouring invocations touch neighbouring words (the first version gave each invocation a
// block of its own, and its strided reads took 55% of the device's time on an H200). Within a
// round, a workgroup prefix sum gives each person its output slot.

const BLOCK: u32 = 4096u;

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
        blocks[d.blk_skip + 2u * b] = atomicLoad(&block_out);
        blocks[d.blk_skip + 2u * b + 1u] = atomicLoad(&block_babies);
    }
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
        s_out += blocks[d.blk_skip + 2u * b];
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
        let x = blocks[d.blk_skip + 2u * b];
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

@compute @workgroup_size(WG)
fn births_scatter(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let b = block_index(wid, nwg);
    let nblocks = (d.n + BLOCK - 1u) / BLOCK;
    if (b >= nblocks) { return; }
    let t = lid.x;
    var base = d.out_skip + blocks[d.blk_skip + 2u * b];
    for (var r = 0u; r < BLOCK; r += WG) {
        // every invocation takes part in every round's scan; those past the end add nothing
        let j = b * BLOCK + r + t;
        let inside = r + t < BLOCK && j < d.n;
        let i = d.p_skip + j;
        var s = 0u;
        if (inside) { s = status[i]; }
        let n_slots = select(0u, births_slots(s), inside);
        let after = workgroup_scan(t, n_slots);
        let total = wscan[WG - 1u];
        workgroupBarrier();
        var o = base + after - n_slots;
        base += total;
        if (inside && (j == 0u || household[i - 1u] != household[i])) {
            // the household's first member (chunks begin on a household's first member):
            // the household's outputs start where this person's do, and number the slots of
            // its members, which it walks to the last (households are a few persons). A
            // household left without members gets start 0 and length 0, as on the CPU; one
            // without members before has none in the input and keeps its 0 and 0.
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
        if (inside && (s & DEAD) == 0u) {
            new_id_lo[o] = id_lo[i];
            new_id_hi[o] = id_hi[i];
            new_household[o] = household[i];
            new_age_months[o] = age_months[i];
            new_status[o] = s & ~GIVES_BIRTH;
            new_earnings[o] = earnings[i];
            new_wealth[o] = wealth[i];
            new_svc_wait[o] = svc_wait[i];
            o += 1u;
            if ((s & GIVES_BIRTH) != 0u) {
                let st = stream(d.keys, id_lo[i], id_hi[i]);
                // baby id: 2^63 + the mother's id under the month's permutation (rng.rs baby_id)
                let bb = stream(d.baby_keys, id_lo[i], id_hi[i]);
                new_id_lo[o] = bb.l;
                new_id_hi[o] = (bb.r & 0x7fffffffu) | 0x80000000u;
                new_household[o] = household[i];
                new_age_months[o] = 0u;
                new_status[o] = pack_status(select(FEMALE, MALE, draw(st, SALT_BIRTH_SEX) < MALE_BIRTH_THRESHOLD), CHILD, GOOD, CARE_NONE) | BORN;
                new_earnings[o] = 0u;
                new_wealth[o] = 0u;
                new_svc_wait[o] = 0u;
            }
        }
    }
}
