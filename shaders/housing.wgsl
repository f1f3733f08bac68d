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

// Rent arrears and eviction of household h (window-relative), whose first member is person
// `first` (window-relative), net income `net` this month, info `info`: what it writes, and
// the household's (arrears, info) after it. Renters alone owe and can be evicted: for the
// rest only the net income is kept (their arrears stay, as arrears_step leaves them).
fn housing_household(h: u32, first: u32, net: u32, info: u32, copy: u32) -> vec2<u32> {
    let tenure = hh_tenure(info);
    var arrears = hh_arrears[h];
    var out_info = info;
    if (tenure == PRIVATE_RENT || tenure == SOCIAL_RENT) {
        let st = stream(d.keys, id_lo[first], id_hi[first]);
        let o = arrears_step(tenure, hh_rent[h], arrears, net, hh_prev_net[h], draw(st, SALT_EVICTION));
        arrears = o.x;
        hh_arrears[h] = arrears;
        if (o.y == 1u) {
            let r = hh_region(info);
            out_info = r | (HOMELESS << TENURE_SHIFT);
            hh_info[h] = out_info;
            let c = cell(r, age_band(age_months[first] / 12u), st_sex(status[first]));
            acc_add(copy, c, M_HOMELESSNESS_APPLICATIONS, hh_weight[h], 1u);
        }
    }
    hh_prev_net[h] = net;
    return vec2<u32>(arrears, out_info);
}

@compute @workgroup_size(WG)
fn housing(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let j = linear(gid, nwg);
    if (j >= d.n) { return; }
    let h = d.h_skip + j;
    if (hh_len[h] == 0u) { return; }
    _ = housing_household(h, hh_start[h] - d.p_base, net_income[h], hh_info[h], acc_copy(wid, nwg));
}
