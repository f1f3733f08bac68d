// housing.wgsl: rent arrears and evictions, one invocation per household. Twin of
// src/cpu/housing.rs.

// (new arrears, evicted)
fn arrears_step(tenure: u32, rent: u32, arrears: u32, net: u32, prev_net: u32, eviction_draw: u32) -> vec2<u32> {
    if (tenure != PRIVATE_RENT && tenure != SOCIAL_RENT) {
        return vec2<u32>(arrears, 0u);
    }
    let affordable = mul_bp(net, params.afford_bp);
    let due = sat_add(rent, arrears);
    var next = due - min(due, affordable);
    if (next > arrears && net < prev_net) {
        next = sat_add(arrears, mul_mult(next - arrears, params.sp_income_arrears_bp));
    }
    let at_risk = rent > 0u && next >= mul_sat(rent, params.evict_months);
    let prob = select(params.evict_social_bp, params.evict_private_bp, tenure == PRIVATE_RENT);
    if (at_risk && eviction_draw % 10000u < prob) {
        return vec2<u32>(0u, 1u);
    }
    return vec2<u32>(next, 0u);
}

@compute @workgroup_size(WG)
fn housing(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let j = linear(gid, nwg);
    if (j >= d.n) { return; }
    let h = d.h_skip + j;
    if (hh_len[h] == 0u) { return; }
    let net = net_income[h];
    let first = hh_start[h] - d.p_base;
    let st = stream(d.keys, id_lo[first], id_hi[first]);
    let info = hh_info[h];
    let o = arrears_step(hh_tenure(info), hh_rent[h], hh_arrears[h], net, hh_prev_net[h], draw(st, SALT_EVICTION));
    hh_arrears[h] = o.x;
    hh_prev_net[h] = net;
    if (o.y == 1u) {
        let r = hh_region(info);
        hh_info[h] = r | (HOMELESS << TENURE_SHIFT);
        let c = cell(r, age_band(age_months[first] / 12u), st_sex(status[first]));
        acc_add(acc_copy(wid, nwg), c, M_HOMELESSNESS_APPLICATIONS, hh_weight[h], 1u);
    }
}
