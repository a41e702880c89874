// SPDX-License-Identifier: GPL-2.0

//! KUnit suites written in Rust, for Linux 6.12.
//!
//! 6.12 has no `#[kunit_tests]` (it arrived in 6.15), only the assertion
//! macros used by the doctests. This file provides the missing piece:
//!
//! - [`kunit_suite!`] declares a suite from a list of plain `fn(&mut Test)`
//!   functions. It emits a static `kunit_case` array, a static `kunit_suite`
//!   and a pointer to it in the `.kunit_test_suites` section. The module
//!   loader collects that section into `mod->kunit_suites`, and KUnit's module
//!   notifier runs the suites when the module is loaded (with
//!   `CONFIG_KUNIT=y` and `kunit.enable=1`, the default), exactly as for a C
//!   module that uses `kunit_test_suite()`. Results appear as KTAP in the
//!   kernel log and in `/sys/kernel/debug/kunit/<suite>/results`.
//! - [`Test`] wraps the running `struct kunit` and reports failed
//!   expectations with [`kunit_expect!`] / [`kunit_expect_eq!`]. An
//!   expectation marks the case failed and carries on; it does not abort the
//!   case (KUnit aborts by exiting the kthread, which would skip Rust
//!   destructors and leak).
//!
//! Test cases never run outside KUnit: this file only compiles the suites in.

use kernel::bindings;
use kernel::str::CStr;

/// A running KUnit test case.
pub(crate) struct Test {
    raw: *mut bindings::kunit,
}

impl Test {
    /// Wraps the test pointer KUnit passes to a case.
    ///
    /// # Safety
    ///
    /// `raw` must be the `struct kunit` of the currently running case, valid
    /// for the lifetime of the returned value.
    pub(crate) unsafe fn from_raw(raw: *mut bindings::kunit) -> Self {
        Self { raw }
    }

    /// Records a failed expectation with its location and a description.
    ///
    /// Called by the `kunit_expect*` macros only when the check failed.
    pub(crate) fn fail(&mut self, loc: &'static Location, message: core::fmt::Arguments<'_>) {
        // `loc.condition` and `loc.file` are static C strings (`c_str!`).
        let assert = bindings::kunit_unary_assert {
            assert: bindings::kunit_assert {},
            condition: loc.condition.as_char_ptr(),
            expected_true: true,
        };
        let kloc = bindings::kunit_loc {
            file: loc.file.as_char_ptr(),
            line: loc.line as i32,
        };
        // SAFETY: `self.raw` is the running test (type invariant of `from_raw`);
        // `kloc` and `assert` live across the call; the format string is a
        // static C string whose `%pA` consumes exactly one `fmt::Arguments`
        // pointer, which we pass.
        unsafe {
            bindings::__kunit_do_failed_assertion(
                self.raw,
                &kloc,
                bindings::kunit_assert_type_KUNIT_EXPECTATION,
                &assert.assert,
                Some(bindings::kunit_unary_assert_format),
                c"%pA".as_ptr().cast(),
                &message as *const core::fmt::Arguments<'_> as *const core::ffi::c_void,
            );
        }
    }
}

/// Where an expectation is written, for the KUnit failure report.
pub(crate) struct Location {
    /// Source file.
    pub(crate) file: &'static CStr,
    /// Source line.
    pub(crate) line: u32,
    /// The expression that was expected to hold.
    pub(crate) condition: &'static CStr,
}

/// Expects `cond` to be true; on failure, marks the case failed and logs the
/// expression, its location and the optional message.
macro_rules! kunit_expect {
    ($test:expr, $cond:expr $(,)?) => {
        $crate::kunit::kunit_expect!($test, $cond, "")
    };
    ($test:expr, $cond:expr, $($msg:tt)+) => {
        if !$cond {
            static LOC: $crate::kunit::Location = $crate::kunit::Location {
                file: kernel::c_str!(file!()),
                line: line!(),
                condition: kernel::c_str!(stringify!($cond)),
            };
            $test.fail(&LOC, format_args!($($msg)+));
        }
    };
}
pub(crate) use kunit_expect;

/// Expects `left == right`; on failure, logs both values with `{:?}`.
macro_rules! kunit_expect_eq {
    ($test:expr, $left:expr, $right:expr $(,)?) => {
        match (&$left, &$right) {
            (l, r) => {
                if !(*l == *r) {
                    static LOC: $crate::kunit::Location = $crate::kunit::Location {
                        file: kernel::c_str!(file!()),
                        line: line!(),
                        condition: kernel::c_str!(concat!(
                            stringify!($left),
                            " == ",
                            stringify!($right)
                        )),
                    };
                    $test.fail(&LOC, format_args!("left: {:?}, right: {:?}", l, r));
                }
            }
        }
    };
}
pub(crate) use kunit_expect_eq;

/// Copies a suite name into the fixed-size `name` field of `kunit_suite`.
///
/// Evaluated at compile time; a name that does not fit (including its NUL)
/// is a build error, not a truncation.
pub(crate) const fn suite_name(name: &str) -> [u8; 256] {
    let bytes = name.as_bytes();
    assert!(bytes.len() < 256, "KUnit suite name too long");
    let mut out = [0u8; 256];
    let mut i = 0;
    while i < bytes.len() {
        out[i] = bytes[i];
        i += 1;
    }
    out
}

/// Declares a KUnit suite that runs when the module is loaded.
///
/// ```ignore
/// kunit_suite!(fuse_fsnotify_mask, [translate_drops_permission_events, ...]);
/// ```
///
/// Each case is a `fn(&mut Test)` in scope of the invocation. The suite name
/// is the identifier; by convention it starts with `fuse_fsnotify_`.
macro_rules! kunit_suite {
    ($suite:ident, [$($case:ident),+ $(,)?]) => {
        #[allow(non_snake_case)]
        mod $suite {
            use kernel::bindings;

            mod trampolines {
                $(
                    /// KUnit entry point of the case.
                    ///
                    /// # Safety
                    ///
                    /// `raw` must be the running test; only KUnit calls this.
                    pub(super) unsafe extern "C" fn $case(raw: *mut kernel::bindings::kunit) {
                        // SAFETY: KUnit calls a case with its running test.
                        let mut test = unsafe { $crate::kunit::Test::from_raw(raw) };
                        super::super::$case(&mut test);
                    }
                )+
            }

            const N: usize = [$(stringify!($case)),+].len();

            // KUnit writes each case's status and log here: must be `mut`.
            static mut CASES: [bindings::kunit_case; N + 1] = [
                $(
                    bindings::kunit_case {
                        run_case: Some(trampolines::$case),
                        name: kernel::c_str!(stringify!($case)).as_char_ptr(),
                        // SAFETY: all-zero is the C initialiser for the
                        // remaining (private) fields.
                        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
                    },
                )+
                // SAFETY: an all-zero case terminates the array.
                unsafe { core::mem::MaybeUninit::zeroed().assume_init() },
            ];

            static mut SUITE: bindings::kunit_suite = bindings::kunit_suite {
                name: $crate::kunit::suite_name(stringify!($suite)),
                // Only the address is taken; KUnit is the only user of `CASES`.
                test_cases: core::ptr::addr_of_mut!(CASES).cast(),
                // SAFETY: all-zero is the C initialiser for the rest.
                ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
            };

            #[used]
            #[link_section = ".kunit_test_suites"]
            static mut ENTRY: *const bindings::kunit_suite = core::ptr::addr_of!(SUITE);
        }
    };
}
pub(crate) use kunit_suite;
