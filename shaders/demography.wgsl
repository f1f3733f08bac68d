// demography.wgsl: ageing, mortality, fertility. Twin of src/cpu/demography.rs.

fn baby_sex(s: Stream) -> u32 {
    return select(FEMALE, MALE, draw(s, SALT_BIRTH_SEX) < MALE_BIRTH_THRESHOLD);
}

struct Demography { age_months: u32, status: u32 }

fn demography_person(id_lo_: u32, id_hi_: u32, age_months_: u32, status_: u32, info: u32, weight: u32, svc_wait_: u32, copy: u32) -> Demography {
    var s = status_ & ~EVENT_FLAGS;
    let age_m = min(age_months_ + 1u, MAX_AGE_MONTHS);
    let age = age_m / 12u;
    let sx = st_sex(s);
    let st = stream(d.keys, id_lo_, id_hi_);
    let region = hh_region(info);
    if (draw(st, SALT_DEATH) < t_death(sx, age, st_health(s))) {
        s |= DEAD;
        let c = cell(region, age_band(age), sx);
        acc_add(copy, c, M_DEATHS, weight, 1u);
        for (var svc = 0u; svc < N_PERSON_SERVICES; svc++) {
            let k = wait_of(svc_wait_, svc);
            if (k != 0u && k != IN_PACKAGE) {
                acc_add(copy, c, service_measure(svc, SM_DIED), weight, 1u);
            }
        }
    } else if (sx == FEMALE && age >= 15u && age <= 49u && draw(st, SALT_BIRTH) < t_birth(age)) {
        s |= GIVES_BIRTH;
        acc_add(copy, cell(region, 0u, baby_sex(st)), M_BIRTHS, weight, 1u);
    }
    return Demography(age_m, s);
}

@compute @workgroup_size(WG)
fn demography(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let j = linear(gid, nwg);
    if (j >= d.n) { return; }
    let i = d.p_skip + j;
    let h = household[i] - d.h_base;
    let o = demography_person(id_lo[i], id_hi[i], age_months[i], status[i], hh_info[h], hh_weight[h], svc_wait[i], acc_copy(wid, nwg));
    age_months[i] = o.age_months;
    status[i] = o.status;
    // the births' count of the person's block (births.wgsl): its slots are its persons, less
    // its deaths, plus its births, so only a death or a birth adds (about one person in 600 a
    // month: the shipped sample's first year, 918 births and 1,033 deaths among 99,885
    // persons, `twin summary`), and no pass reads every status again to count them (births_count, which did,
    // runs only where demography runs on the CPU)
    let b = d.blk_skip + 2u * (j / BLOCK);
    if ((o.status & DEAD) != 0u) {
        atomicAdd(&block_events[b], 0xffffffffu);
    } else if ((o.status & GIVES_BIRTH) != 0u) {
        atomicAdd(&block_events[b], 1u);
        atomicAdd(&block_events[b + 1u], 1u);
    }
}
