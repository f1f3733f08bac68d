// births.wgsl: remove the dead, insert babies after their mothers, by a deterministic prefix
// sum. Twin of src/cpu/births.rs (there: per rayon chunk; here: per block of BLOCK persons,
// scanned by one workgroup per chunk). Then the household index (Households::index_members).
//
// births_count  : per block, survivors + babies and babies alone
// births_scan   : per chunk, exclusive prefix over its blocks; chunk totals to `totals`
// births_scatter: per block, copy survivors and write babies to their final slots
// index_start / index_len: first member and member count of each household

const BLOCK: u32 = 64u;

@compute @workgroup_size(WG)
fn births_count(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let b = linear(gid, nwg);
    let nblocks = (d.n + BLOCK - 1u) / BLOCK;
    if (b >= nblocks) { return; }
    var out = 0u;
    var babies = 0u;
    for (var k = 0u; k < BLOCK; k++) {
        let j = b * BLOCK + k;
        if (j >= d.n) { break; }
        let s = status[d.p_skip + j];
        out += select(1u, 0u, (s & DEAD) != 0u) + select(0u, 1u, (s & GIVES_BIRTH) != 0u);
        babies += select(0u, 1u, (s & GIVES_BIRTH) != 0u);
    }
    blocks[d.blk_skip + 2u * b] = out;
    blocks[d.blk_skip + 2u * b + 1u] = babies;
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

@compute @workgroup_size(WG)
fn births_scatter(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let b = linear(gid, nwg);
    let nblocks = (d.n + BLOCK - 1u) / BLOCK;
    if (b >= nblocks) { return; }
    var o = d.out_skip + blocks[d.blk_skip + 2u * b];
    for (var k = 0u; k < BLOCK; k++) {
        let j = b * BLOCK + k;
        if (j >= d.n) { break; }
        let i = d.p_skip + j;
        let s = status[i];
        if ((s & DEAD) != 0u) { continue; }
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
            let b = stream(d.baby_keys, id_lo[i], id_hi[i]);
            new_id_lo[o] = b.l;
            new_id_hi[o] = (b.r & 0x7fffffffu) | 0x80000000u;
            new_household[o] = household[i];
            new_age_months[o] = 0u;
            new_status[o] = pack_status(select(FEMALE, MALE, draw(st, SALT_BIRTH_SEX) < MALE_BIRTH_THRESHOLD), CHILD, GOOD, CARE_NONE) | BORN;
            new_earnings[o] = 0u;
            new_wealth[o] = 0u;
            new_svc_wait[o] = 0u;
            o += 1u;
        }
    }
}

// Households::index_members: start = global index of the first member, len = members.
// Chunks begin and end on household boundaries, so the chunk's first and last persons are a
// household's first and last members.
@compute @workgroup_size(WG)
fn index_start(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = linear(gid, nwg);
    if (j >= d.n) { return; }
    let i = d.p_skip + j;
    let h = household[i];
    if (j == 0u || household[i - 1u] != h) {
        hh_start[h - d.h_base] = d.p_base + i;
    }
}

@compute @workgroup_size(WG)
fn index_len(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = linear(gid, nwg);
    if (j >= d.n) { return; }
    let i = d.p_skip + j;
    let h = household[i];
    if (j + 1u == d.n || household[i + 1u] != h) {
        hh_len[h - d.h_base] = d.p_base + i + 1u - hh_start[h - d.h_base];
    }
}
