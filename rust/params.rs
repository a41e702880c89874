// SPDX-License-Identifier: GPL-2.0

//! Module parameters.
//!
//! 6.12's `module!` macro has no parameters, so [`module_param_uint!`]
//! emits what C's `module_param()` and `MODULE_PARM_DESC()` do: a
//! `struct kernel_param` in the `__param` section, which the module loader
//! parses the `insmod` arguments into and exposes in
//! `/sys/module/fuse_fsnotify/parameters/`, and the `parm`/`parmtype`
//! strings in `.modinfo` that `modinfo` prints. Values are read with
//! [`UintParam::get`] at the point of use, so a change through sysfs
//! applies to the next use.

use crate::bindings as b;
use core::sync::atomic::{AtomicU32, Ordering::Relaxed};

/// The value of a `uint` module parameter.
pub(crate) struct UintParam {
    value: AtomicU32,
}

impl UintParam {
    /// A parameter with its default value.
    pub(crate) const fn new(default: u32) -> Self {
        Self {
            value: AtomicU32::new(default),
        }
    }

    /// The current value.
    pub(crate) fn get(&self) -> u32 {
        self.value.load(Relaxed)
    }

    /// Where `param_ops_uint` stores the value.
    pub(crate) const fn as_ptr(&self) -> *mut u32 {
        self.value.as_ptr()
    }
}

/// A `struct kernel_param` that may be a static.
#[repr(transparent)]
pub(crate) struct KernelParam(pub(crate) b::kernel_param);

// SAFETY: the loader and sysfs read the descriptor and write the value it
// points to under `kernel_param_lock`; the module itself only reads the
// value, atomically, through `UintParam`.
unsafe impl Sync for KernelParam {}

// Only the address is used (as `module!`'s `THIS_MODULE` does), so the
// layout of `struct module` does not matter here.
#[allow(improper_ctypes)]
extern "C" {
    /// This module, defined by modpost's `.mod.c`.
    pub(crate) static __this_module: kernel::types::Opaque<b::module>;
}

/// `s` as a byte array of its exact length, for `.modinfo` strings.
pub(crate) const fn bytes<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [0u8; N];
    let s = s.as_bytes();
    let mut i = 0;
    while i < N && i < s.len() {
        out[i] = s[i];
        i += 1;
    }
    out
}

/// `module_param_uint!(STATIC, "name", default, perm, "description")`:
/// a `uint` module parameter read through `STATIC.get()`.
macro_rules! module_param_uint {
    ($(#[$m:meta])* $static:ident, $name:literal, $default:expr, $perm:expr, $desc:literal) => {
        $(#[$m])*
        pub(crate) static $static: $crate::params::UintParam =
            $crate::params::UintParam::new($default);

        const _: () = {
            #[link_section = "__param"]
            #[used(compiler)]
            static PARAM: $crate::params::KernelParam =
                $crate::params::KernelParam($crate::bindings::kernel_param {
                    name: concat!($name, "\0").as_ptr().cast(),
                    // SAFETY: only the address of the module's own
                    // `struct module` is taken.
                    mod_: unsafe { $crate::params::__this_module.get() },
                    // Taking the address of an extern static is safe.
                    ops: &raw const $crate::bindings::param_ops_uint,
                    perm: $perm,
                    level: -1,
                    flags: 0,
                    __bindgen_anon_1: $crate::bindings::kernel_param__bindgen_ty_1 {
                        arg: $static.as_ptr().cast(),
                    },
                });
            const PARMTYPE: &str = concat!("parmtype=", $name, ":uint\0");
            #[link_section = ".modinfo"]
            #[used(compiler)]
            static PARMTYPE_INFO: [u8; PARMTYPE.len()] = $crate::params::bytes(PARMTYPE);
            const PARM: &str = concat!("parm=", $name, ":", $desc, "\0");
            #[link_section = ".modinfo"]
            #[used(compiler)]
            static PARM_INFO: [u8; PARM.len()] = $crate::params::bytes(PARM);
        };
    };
}

module_param_uint!(
    /// Most inodes in limbo per connection; past it the oldest dies
    /// locally (`DELETE_SELF` + `IN_IGNORED`, counted in `limbo_evicted`).
    /// 0 disables limbo: an unlinked watched inode dies at once, as
    /// without the module.
    LIMBO_MAX,
    "limbo_max",
    1024,
    0o644,
    "Most unlinked watched inodes kept per connection until the server reports them dead (0: no limbo)"
);

module_param_uint!(
    /// How long `inotify_add_watch()`/`fanotify_mark()` wait for the server
    /// to arm a remote watch before they return anyway (counted in
    /// `arm_timeouts`); at most [`ARM_TIMEOUT_MAX_MS`], 0 does not wait.
    ARM_TIMEOUT_MS,
    "arm_timeout_ms",
    5000,
    0o644,
    "Most milliseconds a mark syscall waits for the server to arm the remote watch (0: no wait, at most 60000)"
);

/// Upper bound of `arm_timeout_ms`: a mark syscall never waits longer.
pub(crate) const ARM_TIMEOUT_MAX_MS: u32 = 60_000;
