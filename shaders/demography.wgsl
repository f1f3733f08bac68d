// demography.wgsl: ageing, mortality, fertility. Twin of src/cpu/demography.rs.

fn baby_sex(s: Stream) -> u32 {
    return select(FEMALE, MALE, draw(s, SALT_BIRTH_SEX) < MALE_BIRTH_THRESHOLD);
}

struct Demography { age_months: u32, status: u32 }

// Person i (in the bound window) this month. The household's region and weight, and the
// person's waits, are read only for a death or a birth (about one person in 600 a month, as
// below): every other person reads its id, age and status alone, where the pass read the
// household (and gathered its info and weight) and the waits for everyone until the
// twenty-first session (35.4 bytes a person bound, examples/pass_columns.rs; 24 read and
// written by most persons now).
fn demography_person(i: u32, copy: u32) -> Demography {
    var s = status[i] & ~EVENT_FLAGS;
    let age_m = min(age_months[i] + 1u, MAX_AGE_MONTHS);
    let age = age_m / 12u;
    let sx = st_sex(s);
    let st = stream(d.keys, id_lo[i], id_hi[i]);
    if (draw(st, SALT_DEATH) < t_death(sx, age, st_health(s))) {
        s |= DEAD;
        let h = household[i] - d.h_base;
        let weight = hh_weight[h];
        let c = cell(hh_region(hh_info[h]), age_band(age), sx);
        acc_add(copy, c, M_DEATHS, weight, 1u);
        let w = svc_wait[i];
        for (var svc = 0u; svc < N_PERSON_SERVICES; svc++) {
            let k = wait_of(w, svc);
            if (k != 0u && k != IN_PACKAGE) {
                acc_add(copy, c, service_measure(svc, SM_DIED), weight, 1u);
            }
        }
    } else if (sx == FEMALE && age >= 15u && age <= 49u && draw(st, SALT_BIRTH) < t_birth(age)) {
        s |= GIVES_BIRTH;
        let h = household[i] - d.h_base;
        acc_add(copy, cell(hh_region(hh_info[h]), 0u, baby_sex(st)), M_BIRTHS, hh_weight[h], 1u);
    }
    return Demography(age_m, s);
}

@compute @workgroup_size(WG)
fn demography(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let j = linear(gid, nwg);
    if (j >= d.n) { return; }
    let i = d.p_skip + j;
    let o = demography_person(i, acc_copy(wid, nwg));
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
