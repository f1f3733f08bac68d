//! A quick check that an adapter computes the integer hash and the fixed-point arithmetic
//! exactly as the CPU does (`twin devices --selftest`, and a test on lavapipe). Twin of
//! `shaders/selftest.wgsl`.

use super::{Gpu, ShaderChecks};
use crate::error::{Error, Result};
use crate::fixed::{mul_div, mul_div_limbs, mul_sat};
use crate::rng::{draw, stream, Process, SplitMix64, StepKeys};

/// Run `n` random cases, the shader compiled as the engine compiles its own by default;
/// `Ok(())` when every result matches, else the first mismatch.
pub fn run(gpu: &Gpu, n: u32, workgroup_size: u32) -> Result<()> {
    run_with(gpu, n, workgroup_size, ShaderChecks::default())
}

/// [`run`] with the shader compiled with `checks`.
pub fn run_with(gpu: &Gpu, n: u32, workgroup_size: u32, checks: ShaderChecks) -> Result<()> {
    let mut r = SplitMix64::new(2024, 11);
    let mut input = Vec::with_capacity(n as usize * 4);
    for k in 0..n {
        // every other case with operands shifted right at random, so that products often fit
        // in 32 bits: the shaders' mul_div and mul_sat take a short way then
        let small = k % 2 == 1;
        let shift = |r: &mut SplitMix64| if small { (r.next_u64() % 32) as u32 } else { 0 };
        let a = (r.next_u64() as u32) >> shift(&mut r);
        let c = 1 + ((r.next_u64() as u32) >> shift(&mut r)) % u32::MAX;
        let b = ((r.next_u64() % (c as u64 + 1)) as u32) >> shift(&mut r);
        input.extend([a, b, c, r.next_u64() as u32]);
    }
    let keys = StepKeys::new(r.next_u64(), 7);
    let cfg: [u32; 8] = [n, 0, 0, 0, keys.0[0], keys.0[1], keys.0[2], keys.0[3]];
    let module = gpu.module("selftest", workgroup_size, checks)?;
    let pipeline = gpu.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("selftest"),
        layout: None,
        module: &module,
        entry_point: Some("selftest"),
        compilation_options: Default::default(),
        cache: None,
    });
    use wgpu::util::DeviceExt;
    let ubuf = gpu.device.create_buffer_init(&wgpu::util::BufferInitDescriptor { label: Some("cfg"), contents: bytemuck::cast_slice(&cfg), usage: wgpu::BufferUsages::UNIFORM });
    let ibuf = gpu.buffer_from("input", &input, wgpu::BufferUsages::empty());
    let obuf = gpu.buffer_from("output", &vec![0u32; n as usize * 6], wgpu::BufferUsages::empty());
    let bind = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[
            wgpu::BindGroupEntry { binding: 40, resource: ubuf.as_entire_binding() },
            wgpu::BindGroupEntry { binding: 41, resource: ibuf.as_entire_binding() },
            wgpu::BindGroupEntry { binding: 42, resource: obuf.as_entire_binding() },
        ],
    });
    let mut enc = gpu.device.create_command_encoder(&Default::default());
    {
        let mut pass = enc.begin_compute_pass(&Default::default());
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind, &[]);
        let (x, y) = gpu.groups(n, workgroup_size);
        pass.dispatch_workgroups(x, y, 1);
    }
    gpu.queue.submit([enc.finish()]);
    gpu.check("running the self-test")?;
    let out = gpu.read(&obuf, 0, n as usize * 6)?;
    for i in 0..n as usize {
        let [a, b, c, id_hi] = [input[4 * i], input[4 * i + 1], input[4 * i + 2], input[4 * i + 3]];
        let s = stream(&keys, a, id_hi);
        let m = a as u64 * b as u64;
        let want = [
            draw(s, Process::Death),
            draw(s, Process::Labour),
            mul_div(a, b, c),
            mul_div_limbs(a, b % 10001, 10_000),
            (m as u32) ^ ((m >> 32) as u32),
            mul_sat(a >> 8, b >> 8),
        ];
        const NAMES: [&str; 6] = ["draw(death)", "draw(labour)", "mul_div", "mul_div_limbs", "mul64", "mul_sat"];
        for k in 0..6 {
            if out[6 * i + k] != want[k] {
                return Err(Error::Gpu(format!(
                    "self-test mismatch on `{}`: case {i} (a={a} b={b} c={c}): {}: GPU {} vs CPU {}",
                    gpu.adapter.name, NAMES[k], out[6 * i + k], want[k]
                )));
            }
        }
    }
    Ok(())
}
