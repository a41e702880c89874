// SPDX-License-Identifier: GPL-2.0

//! Rate limiting of the warnings a misbehaving server can trigger.
//!
//! 6.12's `kernel` crate has no `pr_warn_ratelimited!`, and C's
//! `struct ratelimit_state` needs a spinlock initialised at run time. This
//! is the same policy (at most `BURST` messages per `INTERVAL_MS`, then a
//! count of what was suppressed) with two atomics, so that a static can be
//! used from any context. Every rejection is counted in debugfs whether or
//! not its message is printed.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};

/// Messages allowed per interval (as `DEFAULT_RATELIMIT_BURST`).
pub(crate) const BURST: u32 = 10;
/// The interval (as `DEFAULT_RATELIMIT_INTERVAL`).
pub(crate) const INTERVAL_MS: u64 = 5000;

/// One message class's rate limit.
pub(crate) struct RateLimit {
    /// Start of the current interval, in milliseconds (0: none yet).
    start: AtomicU64,
    /// Messages printed in the current interval.
    printed: AtomicU32,
    /// Messages suppressed since the last one printed.
    suppressed: AtomicU32,
}

/// What to do with one message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Print it; `n` messages were suppressed before it.
    Print { suppressed: u32 },
    /// Suppress it.
    Suppress,
}

impl RateLimit {
    /// A limit with nothing printed yet.
    pub(crate) const fn new() -> Self {
        Self {
            start: AtomicU64::new(0),
            printed: AtomicU32::new(0),
            suppressed: AtomicU32::new(0),
        }
    }

    /// Decides about one message at time `now_ms` (racing callers may
    /// print a message or two more than `BURST`; none is lost uncounted).
    pub(crate) fn check(&self, now_ms: u64) -> Verdict {
        let start = self.start.load(Relaxed);
        if start == 0 || now_ms.wrapping_sub(start) >= INTERVAL_MS {
            self.start.store(now_ms.max(1), Relaxed);
            self.printed.store(0, Relaxed);
        }
        if self.printed.fetch_add(1, Relaxed) < BURST {
            Verdict::Print {
                suppressed: self.suppressed.swap(0, Relaxed),
            }
        } else {
            self.suppressed.fetch_add(1, Relaxed);
            Verdict::Suppress
        }
    }
}

/// Milliseconds of the monotonic clock.
pub(crate) fn now_ms() -> u64 {
    kernel::time::Ktime::ktime_get().to_ms().unsigned_abs()
}

/// `pr_warn!` through a per-call-site [`RateLimit`].
macro_rules! warn_ratelimited {
    ($($arg:tt)*) => {{
        static RL: $crate::ratelimit::RateLimit = $crate::ratelimit::RateLimit::new();
        if let $crate::ratelimit::Verdict::Print { suppressed } =
            RL.check($crate::ratelimit::now_ms())
        {
            if suppressed > 0 {
                kernel::pr_warn!("{} similar messages suppressed\n", suppressed);
            }
            kernel::pr_warn!($($arg)*);
        }
    }};
}
pub(crate) use warn_ratelimited;

mod kunit_tests {
    use super::{RateLimit, Verdict, BURST, INTERVAL_MS};
    use crate::kunit::{kunit_expect, kunit_expect_eq, kunit_suite, Test};

    fn burst_then_suppress(test: &mut Test) {
        let rl = RateLimit::new();
        for _ in 0..BURST {
            kunit_expect_eq!(test, rl.check(100), Verdict::Print { suppressed: 0 });
        }
        kunit_expect_eq!(test, rl.check(101), Verdict::Suppress);
        kunit_expect_eq!(test, rl.check(102), Verdict::Suppress);
        // A new interval prints again and says how many were suppressed.
        kunit_expect_eq!(
            test,
            rl.check(100 + INTERVAL_MS),
            Verdict::Print { suppressed: 2 }
        );
        kunit_expect!(test, rl.check(100 + INTERVAL_MS + 1) != Verdict::Suppress);
    }

    fn time_going_backwards_restarts(test: &mut Test) {
        let rl = RateLimit::new();
        for _ in 0..=BURST {
            let _ = rl.check(50_000);
        }
        // jiffies never go backwards, but wrapping arithmetic must not
        // lock the limiter shut if they appear to.
        kunit_expect!(test, rl.check(10) != Verdict::Suppress);
    }

    kunit_suite!(
        fuse_fsnotify_ratelimit,
        [burst_then_suppress, time_going_backwards_restarts]
    );
}
