// health.wgsl: health and care-need transitions, with the homelessness and unemployment
// spillovers on deterioration. Twin of src/cpu/health.rs.

fn health_person(id_lo_: u32, id_hi_: u32, age_m: u32, status_: u32, info: u32) -> u32 {
    let s = status_;
    let band = age_band(age_m / 12u);
    let st = stream(d.keys, id_lo_, id_hi_);
    var h = st_health(s);
    let dh = draw(st, SALT_HEALTH);
    let ten = hh_tenure(info);
    var mult = BP;
    if (ten == HOMELESS || ten == TEMPORARY) {
        mult = mul_mult(mult, params.sp_homeless_health_bp);
    }
    if (st_employment(s) == UNEMPLOYED) {
        mult = mul_mult(mult, params.sp_unemployed_health_bp);
    }
    mult = min(mult, MAX_HEALTH_MULT); // the product is capped at 10 (mul_mult's range)
    if (h == GOOD) {
        if (dh < mul_mult(t_health(band, 0u), mult)) {
            h = LIMITING;
        }
    } else if (h == LIMITING) {
        let to_severe = mul_mult(t_health(band, 1u), mult);
        if (dh < to_severe) {
            h = SEVERE;
        } else if (dh - to_severe < t_health(band, 2u)) {
            h = GOOD;
        }
    } else if (dh < t_health(band, 3u)) {
        h = LIMITING;
    }
    var c = st_care(s);
    let dc = draw(st, SALT_CARE);
    if (c == CARE_NONE) {
        if ((h == LIMITING && dc < t_care(band, 0u)) || (h == SEVERE && dc < t_care(band, 1u))) {
            c = CARE_MODERATE;
        }
    } else if (c == CARE_MODERATE) {
        let to_sub = t_care(band, 2u);
        if (dc < to_sub) {
            c = CARE_SUBSTANTIAL;
        } else if (dc - to_sub < t_care(band, 3u)) {
            c = CARE_NONE;
        }
    }
    return set_field(set_field(s, HEALTH_SHIFT, 3u, h), CARE_SHIFT, 3u, c);
}

@compute @workgroup_size(WG)
fn health(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = linear(gid, nwg);
    if (j >= d.n) { return; }
    let i = d.p_skip + j;
    status[i] = health_person(id_lo[i], id_hi[i], age_months[i], status[i], hh_info[household[i] - d.h_base]);
}
