//! Kernel log checks: any of these in the guest's log fails `make test`.
//!
//! The patterns are the headlines the kernel prints for the classes of bugs
//! the debug kernel is configured to catch (see kernel/fuse-fsnotify.config).

/// Headline substrings of kernel splats.
const PATTERNS: &[&str] = &[
    "BUG:",
    "WARNING:",
    "KASAN:",
    "UBSAN:",
    "Oops",
    "kernel BUG at",
    "general protection fault",
    "Kernel panic",
    "possible recursive locking detected",
    "possible circular locking dependency",
    "inconsistent lock state",
    "suspicious RCU usage",
    "rcu: INFO:",
    "detected stall",
    "blocked for more than",
    "unreferenced object",
    "list_add corruption",
    "list_del corruption",
    "refcount_t:",
    "Rust panic",
    "panicked at",
];

/// Returns the lines of `log` that report a kernel splat.
pub fn scan(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| PATTERNS.iter().any(|p| l.contains(p)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::scan;

    #[test]
    fn finds_each_kind() {
        for l in [
            "[    5.1] WARNING: CPU: 0 PID: 1 at fs/notify/mark.c:100 f+0x1/0x2",
            "[    5.1] BUG: KASAN: slab-use-after-free in foo+0x1/0x2",
            "[    5.1] ======================================================\n[    5.1] WARNING: possible circular locking dependency detected",
            "[    5.1] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
            "unreferenced object 0xffff888003b1c000 (size 64):",
            "[   9.9] INFO: task foo:12 blocked for more than 120 seconds.",
            "[   1.0] rust_kernel: panicked at rust/x.rs:1:1:",
        ] {
            assert!(!scan(l).is_empty(), "missed: {l}");
        }
    }

    #[test]
    fn clean_log_is_clean() {
        let log = "[    0.0] Linux version 6.12.117\n[    1.0] fuse_fsnotify: loaded\n\
                   [    1.1]     ok 1 forwarded_bits_match_uapi\n\
                   [    0.2] kmemleak: Kernel memory leak detector initialized (mem pool available: 15751)\n";
        assert!(scan(log).is_empty(), "{:?}", scan(log));
    }
}
