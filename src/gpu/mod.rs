//! The GPU path: wgpu device selection, shader assembly and the checks that make a GPU run
//! trustworthy. The stages' WGSL twins live in `shaders/`; `src/gpu/wgsl.rs` assembles them.
//!
//! Faults end with a clear [`Error::Gpu`]: no adapter, an adapter without a needed limit, a
//! shader that fails validation, out of memory, a lost device. wgpu's default of panicking on
//! validation errors is replaced by an error handler that records the error for the next check.

pub mod engine;
pub mod selftest;
#[cfg(not(any(target_vendor = "apple", target_arch = "wasm32")))]
pub mod stats;
pub mod wgsl;

use crate::error::{Error, Result};
use std::sync::{Arc, Mutex};

/// How wgpu compiles the engine's shaders. The results do not depend on it (tested); the
/// speed does a little: on the H200 (run 6, `benches/device/2026-12-01-h200-run6`) the
/// national decade took 2.237 s trusted against 2.304 s checked, and trusted is part of the
/// combination made the default after it (run 7).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ShaderChecks {
    /// wgpu's defaults for any shader (`create_shader_module`), as runs 1-6 on the H200
    /// compiled them: among them a 64-bit counter in every loop that breaks out after 2^64
    /// rounds (since wgpu 25), and a guard that makes every integer division by zero a
    /// division by one.
    Checked,
    /// Without those two guards, which wgpu adds for shaders it cannot trust (the default
    /// since run 7). An upstream report (gfx-rs/wgpu#7698) measured a pass 100 times slower
    /// with the loop counter; on lavapipe, leaving it out made the radix select's
    /// `services_cut` pass 1.68 times as slow. Sound for these shaders: every loop counts
    /// over a range that cannot wrap, and every divisor is a constant or a value that cannot
    /// be zero (shaders/README.md). Array and buffer bounds checks stay as wgpu has them.
    #[default]
    Trusted,
}

impl ShaderChecks {
    fn runtime_checks(self) -> wgpu::ShaderRuntimeChecks {
        match self {
            ShaderChecks::Checked => wgpu::ShaderRuntimeChecks::checked(),
            ShaderChecks::Trusted => wgpu::ShaderRuntimeChecks { force_loop_bounding: false, int_div_checks: false, ..wgpu::ShaderRuntimeChecks::checked() },
        }
    }
}

/// Which engine runs the month step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A hardware GPU when there is one, else the CPU path (a software adapter is slower than
    /// the CPU path, so `auto` does not take it).
    Auto,
    /// Any adapter, software included; an error when there is none.
    Gpu,
    /// The CPU path.
    Cpu,
}

impl std::str::FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "auto" => Ok(Backend::Auto),
            "gpu" => Ok(Backend::Gpu),
            "cpu" => Ok(Backend::Cpu),
            _ => Err(format!("`{s}`: expected auto, gpu or cpu")),
        }
    }
}

/// Storage buffers a shader stage must be able to bind: the widest entry point that every
/// run may use, `household_policy`, binds 20 (`examples/pass_columns.rs` counts them); three
/// that only an option runs bind more, `births_scatter_stages` (`--gpu-fuse-persons
/// scatter`) 27, `household_month` (`--gpu-fuse-households`) 26 and `births_scatter_month`
/// (`--gpu-fuse-persons scatter-all`) 29: each is left unbuilt on an adapter with fewer, and
/// only a run with its option is refused (engine.rs).
pub const NEEDED_STORAGE_BUFFERS: u32 = 24;

/// What the user sees of an adapter.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    pub driver_info: String,
    pub software: bool,
    pub max_storage_buffer_binding_size: u64,
    pub max_buffer_size: u64,
    pub max_storage_buffers_per_shader_stage: u32,
    pub max_compute_workgroups_per_dimension: u32,
    /// The largest device-local memory heap, in bytes (Vulkan adapters; `None` elsewhere).
    pub device_memory: Option<u64>,
}

/// The storage buffers a shader stage may bind, as asked of the device: what the adapter has,
/// or in tests as little as `POLICY_TWIN_TEST_MAX_STORAGE_BUFFERS` says (an adapter with too
/// few for an option's entry point, on any machine).
fn storage_limit(have: u32) -> u32 {
    std::env::var("POLICY_TWIN_TEST_MAX_STORAGE_BUFFERS").ok().and_then(|v| v.parse().ok()).map_or(have, |t: u32| t.clamp(NEEDED_STORAGE_BUFFERS, have))
}

/// The largest device-local memory heap of a Vulkan adapter (its video memory; on lavapipe,
/// the host's). `POLICY_TWIN_TEST_DEVICE_MEMORY` replaces it in tests.
fn device_memory(a: &wgpu::Adapter) -> Option<u64> {
    if let Some(v) = std::env::var("POLICY_TWIN_TEST_DEVICE_MEMORY").ok().and_then(|v| v.parse().ok()) {
        return Some(v);
    }
    #[cfg(not(any(target_vendor = "apple", target_arch = "wasm32")))]
    {
        // SAFETY: the adapter is alive for the call, and the instance and physical device
        // handles are only used to read the memory properties, which changes nothing.
        unsafe {
            let hal = a.as_hal::<wgpu::hal::api::Vulkan>()?;
            let props = hal.shared_instance().raw_instance().get_physical_device_memory_properties(hal.raw_physical_device());
            let heaps = &props.memory_heaps[..(props.memory_heap_count as usize).min(props.memory_heaps.len())];
            heaps.iter().filter(|h| h.flags.contains(ash::vk::MemoryHeapFlags::DEVICE_LOCAL)).map(|h| h.size).max()
        }
    }
    #[cfg(any(target_vendor = "apple", target_arch = "wasm32"))]
    {
        let _ = a;
        None
    }
}

fn summary(a: &wgpu::Adapter) -> AdapterSummary {
    let i = a.get_info();
    let l = a.limits();
    AdapterSummary {
        name: i.name.clone(),
        backend: format!("{:?}", i.backend),
        device_type: format!("{:?}", i.device_type),
        driver: i.driver.clone(),
        driver_info: i.driver_info.clone(),
        software: i.device_type == wgpu::DeviceType::Cpu,
        max_storage_buffer_binding_size: l.max_storage_buffer_binding_size,
        max_buffer_size: l.max_buffer_size,
        max_storage_buffers_per_shader_stage: l.max_storage_buffers_per_shader_stage,
        max_compute_workgroups_per_dimension: l.max_compute_workgroups_per_dimension,
        device_memory: device_memory(a),
    }
}

fn instance() -> wgpu::Instance {
    // WGPU_BACKEND=vulkan|gl|metal|dx12 narrows the search (wgpu's own variable)
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle().with_env();
    if std::env::var_os("WGPU_BACKEND").is_none() {
        desc.backends = wgpu::Backends::all();
    }
    wgpu::Instance::new(desc)
}

fn all_adapters() -> Vec<wgpu::Adapter> {
    let inst = instance();
    pollster::block_on(inst.enumerate_adapters(wgpu::Backends::all()))
}

/// The adapter `--backend gpu` opens: the first by [`rank`], software included.
pub(crate) fn pick_adapter() -> Result<wgpu::Adapter> {
    let mut adapters = all_adapters();
    adapters.sort_by_key(rank);
    adapters.into_iter().next().ok_or_else(|| Error::Gpu("no GPU adapter found".into()))
}

/// Every adapter wgpu finds, for `twin devices`.
pub fn list_adapters() -> Vec<AdapterSummary> {
    all_adapters().iter().map(summary).collect()
}

/// Refuse an adapter without the limits the engine needs, naming the limit.
pub fn check_limits(s: &AdapterSummary) -> Result<()> {
    if s.max_storage_buffers_per_shader_stage < NEEDED_STORAGE_BUFFERS {
        return Err(Error::Gpu(format!(
            "adapter `{}` lacks a needed limit: max_storage_buffers_per_shader_stage is {}, the engine needs {NEEDED_STORAGE_BUFFERS}",
            s.name, s.max_storage_buffers_per_shader_stage
        )));
    }
    Ok(())
}

/// Order of preference: hardware kinds first, then backends.
fn rank(a: &wgpu::Adapter) -> (u32, u32) {
    let i = a.get_info();
    let kind = match i.device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    };
    let backend = match i.backend {
        wgpu::Backend::Vulkan => 0,
        wgpu::Backend::Metal => 1,
        wgpu::Backend::Dx12 => 2,
        _ => 3,
    };
    (kind, backend)
}

/// An open device and what it can do.
pub struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter: AdapterSummary,
    pub limits: wgpu::Limits,
    errors: Arc<Mutex<Vec<String>>>,
    lost: Arc<Mutex<Option<String>>>,
}

impl Gpu {
    /// Open the adapter the choice asks for. `Ok(None)` means: use the CPU path (`cpu`, or
    /// `auto` without a hardware GPU). The reason for a fall-back is in the second value.
    pub fn open(choice: Backend) -> Result<(Option<Gpu>, Option<String>)> {
        if choice == Backend::Cpu {
            return Ok((None, None));
        }
        let mut adapters = all_adapters();
        adapters.sort_by_key(rank);
        let pick = match choice {
            // (tests: POLICY_TWIN_TEST_AUTO_SOFTWARE=1 lets `auto` take a software adapter, to
            // test its fallback on lavapipe)
            Backend::Auto => {
                let software_ok = std::env::var("POLICY_TWIN_TEST_AUTO_SOFTWARE").as_deref() == Ok("1");
                adapters.into_iter().find(|a| software_ok || a.get_info().device_type != wgpu::DeviceType::Cpu)
            }
            _ => adapters.into_iter().next(),
        };
        let Some(adapter) = pick else {
            return match choice {
                Backend::Auto => Ok((None, Some("no hardware GPU adapter found; using the CPU path".into()))),
                _ => Err(Error::Gpu(
                    "no GPU adapter found (install a Vulkan driver; on machines without a GPU, Debian's mesa-vulkan-drivers and libvulkan1 provide the lavapipe software adapter)".into(),
                )),
            };
        };
        match Self::open_adapter(&adapter) {
            Ok(g) => Ok((Some(g), None)),
            Err(e) if choice == Backend::Auto => Ok((None, Some(format!("{e}; using the CPU path")))),
            Err(e) => Err(e),
        }
    }

    fn open_adapter(adapter: &wgpu::Adapter) -> Result<Gpu> {
        let s = summary(adapter);
        let have = adapter.limits();
        check_limits(&s)?;
        let limits = wgpu::Limits {
            // what the adapter has (at least NEEDED_STORAGE_BUFFERS, checked): an entry point
            // that binds more is left unbuilt (engine.rs), and only an option that needs it fails
            max_storage_buffers_per_shader_stage: storage_limit(have.max_storage_buffers_per_shader_stage),
            max_buffers_and_acceleration_structures_per_shader_stage: have.max_buffers_and_acceleration_structures_per_shader_stage,
            max_storage_buffer_binding_size: have.max_storage_buffer_binding_size,
            max_buffer_size: have.max_buffer_size,
            max_compute_workgroups_per_dimension: have.max_compute_workgroups_per_dimension,
            max_compute_invocations_per_workgroup: have.max_compute_invocations_per_workgroup,
            max_compute_workgroup_size_x: have.max_compute_workgroup_size_x,
            ..wgpu::Limits::downlevel_defaults()
        };
        // timestamp queries, where the adapter has them, for `twin bench --gpu-profile`
        let features = adapter.features() & wgpu::Features::TIMESTAMP_QUERY;
        let desc = wgpu::DeviceDescriptor { label: Some("policy-twin"), required_features: features, required_limits: limits.clone(), ..Default::default() };
        let (device, queue) = pollster::block_on(adapter.request_device(&desc)).map_err(|e| Error::Gpu(format!("adapter `{}`: cannot open a device: {e}", s.name)))?;
        let errors = Arc::new(Mutex::new(Vec::new()));
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            sink.lock().unwrap().push(e.to_string());
        }));
        let lost = Arc::new(Mutex::new(None));
        let lost_sink = lost.clone();
        device.set_device_lost_callback(move |reason, msg| {
            *lost_sink.lock().unwrap() = Some(format!("{reason:?}: {msg}"));
        });
        Ok(Gpu { device, queue, adapter: s, limits, errors, lost })
    }

    /// Fail with the first recorded validation or out-of-memory error, or a lost device.
    pub fn check(&self, doing: &str) -> Result<()> {
        if let Some(l) = self.lost.lock().unwrap().clone() {
            return Err(Error::Gpu(format!("device lost while {doing}: {l}")));
        }
        let mut errs = self.errors.lock().unwrap();
        if let Some(e) = errs.first().cloned() {
            errs.clear();
            return Err(Error::Gpu(format!("while {doing}: {e}")));
        }
        Ok(())
    }

    /// Compile one stage's shader (this crate's, from [`wgsl::source`]) as `checks` says,
    /// checking it validates.
    pub fn module(&self, stage: &str, workgroup_size: u32, checks: ShaderChecks) -> Result<wgpu::ShaderModule> {
        let src = wgsl::source(stage, workgroup_size).ok_or_else(|| Error::Gpu(format!("no shader for stage `{stage}`")))?;
        self.compile(&format!("shaders/{stage}.wgsl"), &src, checks)
    }

    /// Compile WGSL source with all of wgpu's runtime checks; a shader that does not compile
    /// is an error naming it, not a panic.
    pub fn module_from_source(&self, label: &str, src: &str) -> Result<wgpu::ShaderModule> {
        self.compile(label, src, ShaderChecks::Checked)
    }

    /// Compile this crate's shader source (`wgsl::source`, `wgsl::source_with`) as `checks`
    /// says: `ShaderChecks::Trusted` only for it, whose loops and divisors are as that
    /// variant says (shaders/README.md).
    pub(crate) fn compile(&self, label: &str, src: &str, checks: ShaderChecks) -> Result<wgpu::ShaderModule> {
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let desc = wgpu::ShaderModuleDescriptor { label: Some(label), source: wgpu::ShaderSource::Wgsl(src.into()) };
        // SAFETY: `ShaderChecks::Trusted` leaves out only the loop bound and the zero-divisor
        // guard, which this crate's shaders do not need (every loop ends, no divisor can be
        // zero: shaders/README.md); only they come here with it (`module_from_source`, the
        // public way in for other source, passes `Checked`). wgpu validates either way.
        let m = unsafe { self.device.create_shader_module_trusted(desc, checks.runtime_checks()) };
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Gpu(format!("{label} does not compile on `{}`: {e}", self.adapter.name)));
        }
        self.check(&format!("compiling {label}"))?;
        Ok(m)
    }

    /// Wait for all submitted work.
    pub fn wait(&self, doing: &str) -> Result<()> {
        self.device
            .poll(wgpu::PollType::Wait { submission_index: None, timeout: None })
            .map_err(|e| Error::Gpu(format!("while {doing}: {e}")))?;
        self.check(doing)
    }

    /// A storage buffer initialised from words.
    pub fn buffer_from(&self, label: &str, words: &[u32], extra_usage: wgpu::BufferUsages) -> wgpu::Buffer {
        use wgpu::util::DeviceExt;
        let bytes: &[u8] = if words.is_empty() { &[0u8; 4] } else { bytemuck::cast_slice(words) };
        self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST | extra_usage,
        })
    }

    /// Read a buffer's first `words` u32 back to the host.
    pub fn read(&self, buf: &wgpu::Buffer, offset_words: u64, words: usize) -> Result<Vec<u32>> {
        if words == 0 {
            return Ok(Vec::new());
        }
        let staging = self.staging(words as u64 * 4);
        let mut enc = self.device.create_command_encoder(&Default::default());
        enc.copy_buffer_to_buffer(buf, offset_words * 4, &staging, 0, words as u64 * 4);
        self.queue.submit([enc.finish()]);
        self.map_read(&staging, words)
    }

    /// A buffer to read back through: `bytes` long, mappable, a copy's destination.
    pub fn staging(&self, bytes: u64) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: bytes.max(4),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    /// The first `words` of a staging buffer once the work submitted so far is done (a copy
    /// into it must have been submitted); it is unmapped again, ready for the next copy, on
    /// an error too.
    pub fn map_read(&self, staging: &wgpu::Buffer, words: usize) -> Result<Vec<u32>> {
        self.map_with(staging, words, |w| w.to_vec())
    }

    /// [`Gpu::map_read`], with `f` given the mapped words in place of a copy of them.
    pub fn map_with<T>(&self, staging: &wgpu::Buffer, words: usize, f: impl FnOnce(&[u32]) -> T) -> Result<T> {
        if words == 0 {
            return Ok(f(&[]));
        }
        let slice = staging.slice(..words as u64 * 4);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        if let Err(e) = self.wait("reading results back") {
            staging.unmap(); // mapped, or a pending map cancelled
            return Err(e);
        }
        match rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(Error::Gpu(format!("readback: {e}"))), // not mapped
            Err(e) => {
                staging.unmap();
                return Err(Error::Gpu(format!("readback: {e}")));
            }
        }
        let out = slice.get_mapped_range().map(|view| f(bytemuck::cast_slice::<u8, u32>(&view)));
        staging.unmap();
        out.map_err(|e| Error::Gpu(format!("readback: {e:?}")))
    }

    /// Workgroups to launch for `n` invocations: (x, y), x at most the adapter's limit.
    pub fn groups(&self, n: u32, workgroup_size: u32) -> (u32, u32) {
        self.groups_within(n, workgroup_size, self.limits.max_compute_workgroups_per_dimension)
    }

    /// [`Gpu::groups`] with at most `max` workgroups in x.
    pub fn groups_within(&self, n: u32, workgroup_size: u32, max: u32) -> (u32, u32) {
        let g = n.div_ceil(workgroup_size).max(1);
        let max = max.max(1);
        if g <= max {
            (g, 1)
        } else {
            (max, g.div_ceil(max))
        }
    }
}
