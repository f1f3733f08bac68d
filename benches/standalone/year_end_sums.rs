//! The year-end income sums measured apart (twenty-fourth session, benches/README.md): a fresh
//! vector against one zeroed in place, and the GPU path's old and new host work, at 28.6M
//! households on two threads. Not part of the build: `rustc -O benches/standalone/year_end_sums.rs -o /tmp/y && /tmp/y`.

use std::time::Instant;
fn par<T: Send, U: Sync>(a: &mut [T], b: &[U], f: impl Fn(&mut T, &U) + Sync) {
    let n = a.len();
    std::thread::scope(|s| {
        let (a0, a1) = a.split_at_mut(n / 2);
        let (b0, b1) = b.split_at(n / 2);
        let f = &f;
        s.spawn(move || a0.iter_mut().zip(b0).for_each(|(x, y)| f(x, y)));
        s.spawn(move || a1.iter_mut().zip(b1).for_each(|(x, y)| f(x, y)));
    });
}
fn main() {
    let n = 28_600_000usize;
    let net: Vec<u32> = (0..n).map(|i| (i as u32).wrapping_mul(2654435761) >> 12).collect();
    // the mapped read-back: lo then hi, already in memory
    let mapped: Vec<u32> = (0..2 * n).map(|i| (i as u32).wrapping_mul(2246822519) >> 8).collect();
    let pairs: Vec<(u32, u32)> = (0..n).map(|i| (mapped[i], mapped[n + i])).collect();
    for rep in 0..3 {
        // CPU path, a reform's year-end: a fresh vector, then the first month's adds
        let t = Instant::now();
        let mut inc = vec![0u64; n];
        par(&mut inc, &net, |x, &v| *x += v as u64);
        let fresh = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        par(&mut inc, &net, |x, _| *x = 0);
        par(&mut inc, &net, |x, &v| *x += v as u64);
        let reuse = t.elapsed().as_secs_f64() * 1e3;
        // GPU path's year-end: two copies out of the mapping, a collect, an add into a fresh vector, all on one thread
        let t = Instant::now();
        let lo = mapped[..n].to_vec();
        let hi = mapped[n..].to_vec();
        let sums: Vec<u64> = lo.iter().zip(&hi).map(|(&l, &h)| l as u64 | (h as u64) << 32).collect();
        let mut inc2 = vec![0u64; n];
        for (a, v) in inc2.iter_mut().zip(sums) { *a += v; }
        let gpu_old = t.elapsed().as_secs_f64() * 1e3;
        // new: the adds from the mapping on two threads, into a vector zeroed in place
        let t = Instant::now();
        par(&mut inc, &net, |x, _| *x = 0);
        par(&mut inc, &pairs, |x, &(l, h)| *x += l as u64 | (h as u64) << 32);
        let gpu_new = t.elapsed().as_secs_f64() * 1e3;
        println!("{rep}: cpu reform year-end fresh {fresh:.0} ms, in place {reuse:.0} ms; gpu sums old {gpu_old:.0} ms, new {gpu_new:.0} ms ({})", inc[7] + inc2[7]);
    }
}
