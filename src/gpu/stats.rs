//! What the device's own compiler made of each entry point (`twin devices --shader-stats`):
//! the statistics a Vulkan driver reports for a compiled pipeline through
//! `VK_KHR_pipeline_executable_properties` (on NVIDIA the registers a thread, on Mesa's
//! drivers instruction and spill counts), beside what the shader asks for itself (its
//! workgroup size and workgroup memory, from naga). The registers and the workgroup memory
//! decide how many workgroups a GPU core keeps resident, which the device time of a pass
//! cannot show: run 6 timed the households' accounting 42% slower than run 5 with no change
//! to its work, and the fused person passes slower than apart, and neither was explained.
//!
//! wgpu does not ask for the extension, nor compile its pipelines for statistics, so this
//! opens a second Vulkan device on the adapter the runs use, with the extension, and builds
//! each entry point there from SPIR-V that naga writes with the options wgpu-hal 30 uses
//! (`wgpu-hal/src/vulkan/adapter.rs` `naga_options`, with the runtime checks the engine asks
//! for: `ShaderChecks`). A pipeline layout is made from the buffers each entry point uses.
//! Nothing is dispatched.

use super::ShaderChecks;
use crate::error::{Error, Result};
use ash::vk;
use wgpu::naga;

/// One entry point: what the shader asks for, and what the driver reports.
#[derive(Clone, Debug, serde::Serialize)]
pub struct EntryStats {
    /// The stage whose shader defines it (`shaders/<stage>.wgsl`).
    pub stage: String,
    pub entry_point: String,
    /// Invocations a workgroup.
    pub workgroup_size: u32,
    /// Bytes of workgroup memory its workgroups use (naga's layout of the `var<workgroup>`
    /// it uses).
    pub workgroup_bytes: u32,
    /// Storage buffers bound.
    pub storage_buffers: u32,
    /// The driver's statistics, over the pipeline's executables (one for a compute pipeline
    /// on the drivers seen), each as (name, value, description).
    pub statistics: Vec<(String, String, String)>,
    /// Workgroups one streaming multiprocessor keeps resident, and the limit that sets it, if
    /// the device were NVIDIA sm_90 (H100, H200): 65,536 registers (allocated 256 a warp), 64
    /// warps, 32 workgroups, 228 KiB of shared memory with 1 KiB reserved a workgroup. Only
    /// where the driver reports a register count and the vendor is NVIDIA; for another
    /// NVIDIA generation the figures differ.
    pub sm90_resident: Option<(u32, String)>,
}

/// The report for one adapter.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ShaderStats {
    pub adapter: String,
    pub driver: String,
    pub checks: ShaderChecks,
    pub entries: Vec<EntryStats>,
}

const NVIDIA: u32 = 0x10de;

/// Workgroups of `threads` invocations, `regs` registers each and `smem` bytes of workgroup
/// memory an sm_90 streaming multiprocessor keeps resident (NVIDIA's occupancy rules for
/// compute capability 9.0), and the limit that binds.
pub fn sm90_resident(threads: u32, regs: u32, smem: u32) -> (u32, String) {
    let warps = threads.div_ceil(32).max(1);
    let by_warps = 64 / warps;
    // registers are allocated a warp at a time, in units of 256
    let regs_warp = (regs.max(1) * 32).div_ceil(256) * 256;
    let by_regs = 65_536 / (regs_warp * warps);
    let by_smem = if smem == 0 { u32::MAX } else { (228 * 1024) / (smem.div_ceil(128) * 128 + 1024) };
    let limits = [(by_warps, "warps"), (by_regs, "registers"), (by_smem, "workgroup memory"), (32, "workgroups")];
    let (n, why) = limits.iter().min_by_key(|l| l.0).expect("four limits");
    (*n, why.to_string())
}

/// The statistics of every entry point the engine builds, compiled by the driver of the
/// adapter `twin run --backend gpu` picks, at `workgroup_size` and with `checks`.
pub fn shader_stats(workgroup_size: u32, checks: ShaderChecks) -> Result<ShaderStats> {
    let adapter = super::pick_adapter()?;
    let info = adapter.get_info();
    if info.backend != wgpu::Backend::Vulkan {
        return Err(Error::Gpu(format!("--shader-stats needs a Vulkan adapter; `{}` is {:?}", info.name, info.backend)));
    }
    // SAFETY: the adapter outlives `hal`; the instance and physical device are only used to
    // create a device of our own (destroyed before returning) and to read properties.
    let stats = unsafe {
        let hal = adapter.as_hal::<wgpu::hal::api::Vulkan>().ok_or_else(|| Error::Gpu("not a Vulkan adapter".into()))?;
        let shared = hal.shared_instance();
        collect(shared.raw_instance(), shared.instance_api_version(), hal.raw_physical_device(), info.vendor, workgroup_size, checks)
    }?;
    Ok(ShaderStats { adapter: info.name.clone(), driver: format!("{} {}", info.driver, info.driver_info), checks, entries: stats })
}

/// A device with the extension, then each entry point built and asked for its statistics.
unsafe fn collect(instance: &ash::Instance, instance_api: u32, pd: vk::PhysicalDevice, vendor: u32, workgroup_size: u32, checks: ShaderChecks) -> Result<Vec<EntryStats>> {
    let exts = instance.enumerate_device_extension_properties(pd).map_err(|e| Error::Gpu(format!("listing the device's extensions: {e}")))?;
    let has = |name: &std::ffi::CStr| exts.iter().any(|e| e.extension_name_as_c_str() == Ok(name));
    let ext = ash::khr::pipeline_executable_properties::NAME;
    // (tests: lavapipe does not offer the extension, up to Mesa 25 at least; with this set
    // the pipelines are built all the same, without statistics, which checks the SPIR-V and
    // the layouts made here against a real driver)
    let capture = has(ext);
    if !capture && std::env::var("POLICY_TWIN_TEST_SHADER_STATS_WITHOUT_EXTENSION").as_deref() != Ok("1") {
        return Err(Error::Gpu("the driver does not offer VK_KHR_pipeline_executable_properties: it reports no statistics of compiled shaders".into()));
    }
    // the version both the instance and the device speak (as wgpu-hal's device)
    let api = instance.get_physical_device_properties(pd).api_version.min(instance_api);
    if api < vk::API_VERSION_1_1 {
        return Err(Error::Gpu("--shader-stats needs Vulkan 1.1 (the device's features are read through vkGetPhysicalDeviceFeatures2)".into()));
    }
    // as wgpu-hal: robust buffer access 2 where offered (then naga leaves buffer indices
    // unchecked), workgroup memory zeroed natively from Vulkan 1.3
    // (each only where the device has the feature, as wgpu-hal asks for them)
    let mut rb2_have = vk::PhysicalDeviceRobustness2FeaturesEXT::default();
    let mut v13_have = vk::PhysicalDeviceVulkan13Features::default();
    let mut have = vk::PhysicalDeviceFeatures2::default();
    if has(ash::ext::robustness2::NAME) {
        have = have.push_next(&mut rb2_have);
    }
    if api >= vk::API_VERSION_1_3 {
        have = have.push_next(&mut v13_have);
    }
    instance.get_physical_device_features2(pd, &mut have);
    let robust = have.features.robust_buffer_access == vk::TRUE;
    // (robust buffer access 2 requires robust buffer access on)
    let robust2 = robust && rb2_have.robust_buffer_access2 == vk::TRUE;
    let native_zero = v13_have.shader_zero_initialize_workgroup_memory == vk::TRUE;
    let families = instance.get_physical_device_queue_family_properties(pd);
    let family = families.iter().position(|f| f.queue_flags.contains(vk::QueueFlags::COMPUTE)).ok_or_else(|| Error::Gpu("no compute queue".into()))? as u32;
    let priorities = [1.0f32];
    let queues = [vk::DeviceQueueCreateInfo::default().queue_family_index(family).queue_priorities(&priorities)];
    let mut names = Vec::new();
    let mut exec = vk::PhysicalDevicePipelineExecutablePropertiesFeaturesKHR::default().pipeline_executable_info(true);
    let mut rb2 = vk::PhysicalDeviceRobustness2FeaturesEXT::default().robust_buffer_access2(true);
    let mut v13 = vk::PhysicalDeviceVulkan13Features::default().shader_zero_initialize_workgroup_memory(true);
    let features = vk::PhysicalDeviceFeatures::default().robust_buffer_access(robust);
    let mut create = vk::DeviceCreateInfo::default().queue_create_infos(&queues).enabled_features(&features);
    if capture {
        names.push(ext.as_ptr());
        create = create.push_next(&mut exec);
    }
    if robust2 {
        names.push(ash::ext::robustness2::NAME.as_ptr());
        create = create.push_next(&mut rb2);
    }
    if native_zero {
        create = create.push_next(&mut v13);
    }
    create = create.enabled_extension_names(&names);
    let device = instance.create_device(pd, &create, None).map_err(|e| Error::Gpu(format!("opening a device for the statistics: {e}")))?;
    let out = entries(instance, &device, vendor, api, robust2, native_zero, capture, workgroup_size, checks);
    device.destroy_device(None);
    out
}

#[allow(clippy::too_many_arguments)]
unsafe fn entries(instance: &ash::Instance, device: &ash::Device, vendor: u32, api: u32, robust2: bool, native_zero: bool, capture: bool, workgroup_size: u32, checks: ShaderChecks) -> Result<Vec<EntryStats>> {
    let exec = ash::khr::pipeline_executable_properties::Device::new(instance, device);
    let target = SpirvTarget { api, robust2, native_zero };
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (stage, body) in super::wgsl::STAGES.iter().filter(|(s, _)| *s != "selftest") {
        let src = super::wgsl::source(stage, workgroup_size).expect("listed");
        let module = naga::front::wgsl::parse_str(&src).map_err(|e| Error::Gpu(format!("shaders/{stage}.wgsl: {}", e.emit_to_string(&src))))?;
        let info = naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::all())
            .validate(&module)
            .map_err(|e| Error::Gpu(format!("shaders/{stage}.wgsl does not validate: {e:?}")))?;
        let mut layouter = naga::proc::Layouter::default();
        layouter.update(module.to_ctx()).map_err(|e| Error::Gpu(format!("shaders/{stage}.wgsl: {e:?}")))?;
        for (k, ep) in module.entry_points.iter().enumerate() {
            if !super::wgsl::defines(body, &ep.name) || !seen.insert(ep.name.clone()) {
                continue; // an entry point of a stage this one includes (the engine's rule)
            }
            let fi = info.get_entry_point(k);
            let mut bindings = Vec::new();
            let mut workgroup_bytes = 0u32;
            for (h, var) in module.global_variables.iter() {
                if fi[h].is_empty() {
                    continue;
                }
                match (&var.binding, var.space) {
                    (Some(rb), naga::AddressSpace::Storage { .. }) => bindings.push((rb.group, rb.binding, vk::DescriptorType::STORAGE_BUFFER)),
                    (Some(rb), naga::AddressSpace::Uniform) => bindings.push((rb.group, rb.binding, vk::DescriptorType::UNIFORM_BUFFER)),
                    (None, naga::AddressSpace::WorkGroup) => workgroup_bytes += layouter[var.ty].size,
                    _ => {}
                }
            }
            let spv = spirv(&module, &info, &ep.name, target, checks).map_err(|e| Error::Gpu(format!("shaders/{stage}.wgsl `{}`: {e}", ep.name)))?;
            let statistics = pipeline_statistics(device, capture.then_some(&exec), &spv, &ep.name, &bindings).map_err(|e| Error::Gpu(format!("shaders/{stage}.wgsl `{}`: {e}", ep.name)))?;
            let threads = ep.workgroup_size.iter().product::<u32>();
            let regs = register_count(&statistics);
            out.push(EntryStats {
                stage: stage.to_string(),
                entry_point: ep.name.clone(),
                workgroup_size: threads,
                workgroup_bytes,
                storage_buffers: bindings.iter().filter(|b| b.2 == vk::DescriptorType::STORAGE_BUFFER).count() as u32,
                sm90_resident: regs.filter(|_| vendor == NVIDIA).map(|r| sm90_resident(threads, r, workgroup_bytes)),
                statistics,
            });
        }
    }
    Ok(out)
}

/// The registers a thread among a driver's statistics: the one named "register count"
/// (NVIDIA's name, in any case), else the only one whose name speaks of registers and not of
/// spills; None if neither.
fn register_count(statistics: &[(String, String, String)]) -> Option<u32> {
    let name = |s: &(String, String, String)| s.0.to_ascii_lowercase();
    let exact = statistics.iter().find(|s| name(s) == "register count");
    let loose: Vec<_> = statistics.iter().filter(|s| name(s).contains("register") && !name(s).contains("spill")).collect();
    exact.or(if loose.len() == 1 { Some(loose[0]) } else { None }).and_then(|s| s.1.trim().parse().ok())
}

/// What wgpu-hal's Vulkan backend writes SPIR-V for: the Vulkan version both the instance
/// and the device speak, and whether the device runs with robust buffer access 2 (then naga
/// leaves buffer indices unchecked) and zeroes workgroup memory itself.
#[derive(Clone, Copy, Debug)]
pub struct SpirvTarget {
    pub api: u32,
    pub robust2: bool,
    pub native_zero: bool,
}

impl SpirvTarget {
    /// A Vulkan 1.3 device with both (the H200's driver, lavapipe).
    pub const VULKAN_1_3: SpirvTarget = SpirvTarget { api: vk::API_VERSION_1_3, robust2: true, native_zero: true };
}

/// The SPIR-V wgpu-hal 30 hands the driver for compute entry point `ep` of a validated
/// module, with the runtime checks the engine asks for (`wgpu-hal/src/vulkan/adapter.rs`
/// `naga_options`, `device.rs` `compile_stage`): the module cut down to what the entry point
/// reaches, then written at the SPIR-V version the Vulkan version allows.
pub fn spirv(module: &naga::Module, info: &naga::valid::ModuleInfo, ep: &str, target: SpirvTarget, checks: ShaderChecks) -> std::result::Result<Vec<u32>, String> {
    use naga::back::spv;
    let lang_version = match target.api {
        a if a >= vk::API_VERSION_1_3 => (1, 6),
        a if a >= vk::API_VERSION_1_2 => (1, 5),
        a if a >= vk::API_VERSION_1_1 => (1, 3),
        _ => (1, 0),
    };
    let unchecked = naga::proc::BoundsCheckPolicy::Unchecked;
    let restrict = naga::proc::BoundsCheckPolicy::Restrict;
    let options = spv::Options {
        lang_version,
        flags: spv::WriterFlags::LABEL_VARYINGS | spv::WriterFlags::FORCE_POINT_SIZE,
        bounds_check_policies: naga::proc::BoundsCheckPolicies { index: restrict, buffer: if target.robust2 { unchecked } else { restrict }, image_load: restrict, binding_array: unchecked },
        zero_initialize_workgroup_memory: if target.native_zero { spv::ZeroInitializeWorkgroupMemoryMode::Native } else { spv::ZeroInitializeWorkgroupMemoryMode::Polyfill },
        // the two guards `ShaderChecks::Trusted` leaves out (ShaderChecks::runtime_checks)
        force_loop_bounding: checks == ShaderChecks::Checked,
        emit_int_div_checks: checks == ShaderChecks::Checked,
        ..spv::Options::default()
    };
    let (cut, cut_info) = naga::back::pipeline_constants::process_overrides(module, info, Some((naga::ShaderStage::Compute, ep)), &Default::default()).map_err(|e| e.to_string())?;
    spv::write_vec(&cut, &cut_info, &options, Some(&spv::PipelineOptions { shader_stage: naga::ShaderStage::Compute, entry_point: ep.to_string() })).map_err(|e| format!("to SPIR-V: {e}"))
}

/// Build one compute pipeline for statistics and read them; everything made is destroyed.
unsafe fn pipeline_statistics(device: &ash::Device, exec: Option<&ash::khr::pipeline_executable_properties::Device>, spv: &[u32], entry_point: &str, bindings: &[(u32, u32, vk::DescriptorType)]) -> std::result::Result<Vec<(String, String, String)>, vk::Result> {
    let groups = bindings.iter().map(|b| b.0 + 1).max().unwrap_or(0);
    let mut set_layouts = Vec::new();
    let mut made = Ok(());
    for g in 0..groups {
        let b: Vec<_> = bindings
            .iter()
            .filter(|b| b.0 == g)
            .map(|b| vk::DescriptorSetLayoutBinding::default().binding(b.1).descriptor_type(b.2).descriptor_count(1).stage_flags(vk::ShaderStageFlags::COMPUTE))
            .collect();
        match device.create_descriptor_set_layout(&vk::DescriptorSetLayoutCreateInfo::default().bindings(&b), None) {
            Ok(l) => set_layouts.push(l),
            Err(e) => {
                made = Err(e);
                break;
            }
        }
    }
    let result = made.and_then(|()| {
        let layout = device.create_pipeline_layout(&vk::PipelineLayoutCreateInfo::default().set_layouts(&set_layouts), None)?;
        let r = device.create_shader_module(&vk::ShaderModuleCreateInfo::default().code(spv), None).and_then(|module| {
            // (naga names the SPIR-V entry point as the WGSL one)
            let name = std::ffi::CString::new(entry_point).expect("a WGSL name has no NUL");
            let stage = vk::PipelineShaderStageCreateInfo::default().stage(vk::ShaderStageFlags::COMPUTE).module(module).name(&name);
            let flags = if exec.is_some() { vk::PipelineCreateFlags::CAPTURE_STATISTICS_KHR } else { vk::PipelineCreateFlags::empty() };
            let create = [vk::ComputePipelineCreateInfo::default().stage(stage).layout(layout).flags(flags)];
            let r = device.create_compute_pipelines(vk::PipelineCache::null(), &create, None).map_err(|(_, e)| e).and_then(|p| {
                let r = exec.map_or(Ok(Vec::new()), |exec| read_statistics(exec, p[0]));
                device.destroy_pipeline(p[0], None);
                r
            });
            device.destroy_shader_module(module, None);
            r
        });
        device.destroy_pipeline_layout(layout, None);
        r
    });
    for l in set_layouts {
        device.destroy_descriptor_set_layout(l, None);
    }
    result
}

unsafe fn read_statistics(exec: &ash::khr::pipeline_executable_properties::Device, pipeline: vk::Pipeline) -> std::result::Result<Vec<(String, String, String)>, vk::Result> {
    let mut out = Vec::new();
    let executables = exec.get_pipeline_executable_properties(&vk::PipelineInfoKHR::default().pipeline(pipeline))?;
    for index in 0..executables.len() as u32 {
        let info = vk::PipelineExecutableInfoKHR::default().pipeline(pipeline).executable_index(index);
        for s in exec.get_pipeline_executable_statistics(&info)? {
            let value = match s.format {
                vk::PipelineExecutableStatisticFormatKHR::BOOL32 => (s.value.b32 != 0).to_string(),
                vk::PipelineExecutableStatisticFormatKHR::INT64 => s.value.i64.to_string(),
                vk::PipelineExecutableStatisticFormatKHR::UINT64 => s.value.u64.to_string(),
                vk::PipelineExecutableStatisticFormatKHR::FLOAT64 => format!("{:.3}", s.value.f64),
                _ => "?".into(),
            };
            let text = |c: &[std::ffi::c_char]| std::ffi::CStr::from_ptr(c.as_ptr()).to_string_lossy().into_owned();
            out.push((text(&s.name), value, text(&s.description)));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{register_count, sm90_resident};

    #[test]
    fn the_register_count_is_the_one_named_so() {
        let s = |v: &[(&str, &str)]| v.iter().map(|(n, x)| (n.to_string(), x.to_string(), String::new())).collect::<Vec<_>>();
        assert_eq!(register_count(&s(&[("Binary Size", "1000"), ("Register Count", "40")])), Some(40));
        assert_eq!(register_count(&s(&[("Spilled registers", "4"), ("Register count", "64")])), Some(64));
        assert_eq!(register_count(&s(&[("Spilled registers", "4"), ("Registers used", "72")])), Some(72));
        assert_eq!(register_count(&s(&[("Spilled registers", "4")])), None);
        assert_eq!(register_count(&s(&[("Instructions", "900")])), None);
    }

    /// NVIDIA's occupancy rules, on cases worked by hand.
    #[test]
    fn sm90_occupancy_follows_the_binding_limit() {
        // 256 invocations (8 warps), 32 registers, no workgroup memory: 8 workgroups by warps
        assert_eq!(sm90_resident(256, 32, 0), (8, "warps".to_string()));
        // 64 registers: 64 x 32 = 2,048 a warp, 16,384 a workgroup: 4 by registers
        assert_eq!(sm90_resident(256, 64, 0), (4, "registers".to_string()));
        // 40 registers round up to 1,280 a warp, 10,240 a workgroup: 6
        assert_eq!(sm90_resident(256, 40, 0), (6, "registers".to_string()));
        // 13,056 bytes + 1 KiB reserved: 233,472 / 14,080 = 16, so warps bind (8)
        assert_eq!(sm90_resident(256, 32, 13_056), (8, "warps".to_string()));
        // 64 invocations and 40 KiB: (40,960 + 1,024) = 41,984: 5 by workgroup memory
        assert_eq!(sm90_resident(64, 32, 40 * 1024), (5, "workgroup memory".to_string()));
        // 32 invocations, few registers: 32 workgroups at most
        assert_eq!(sm90_resident(32, 16, 0), (32, "workgroups".to_string()));
    }
}
