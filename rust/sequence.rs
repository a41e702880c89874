// SPDX-License-Identifier: GPL-2.0

//! The sequence numbers of event batches: what a batch's `seq` and flags
//! say about lost events (`Documentation/protocol.rst`, "Overflow and
//! gaps").

use crate::wire::BATCH_OVERFLOW;

/// What to do with a batch.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Deliver it; `lost` if events were lost before it (overflow flag or
    /// a gap), which the watchers are told about.
    Deliver { lost: bool },
    /// A sequence number that does not grow (a replayed or reordered
    /// batch): reject it, count it, report a loss.
    Reject,
}

/// Judges a batch with `seq` and `flags` after the batch `last` (0: none
/// yet, so any first number is accepted). On `Deliver`, `seq` becomes the
/// new `last`; on `Reject`, `last` stays.
pub(crate) fn check(last: u64, seq: u64, flags: u32) -> Verdict {
    let overflow = flags & BATCH_OVERFLOW != 0;
    if last == 0 {
        return Verdict::Deliver { lost: overflow };
    }
    if seq <= last {
        return Verdict::Reject;
    }
    Verdict::Deliver {
        lost: overflow || seq != last + 1,
    }
}

mod kunit_tests {
    use super::{check, Verdict};
    use crate::kunit::{kunit_expect_eq, kunit_suite, Test};
    use crate::wire::BATCH_OVERFLOW;

    fn in_order_gap_and_overflow(test: &mut Test) {
        kunit_expect_eq!(test, check(0, 1, 0), Verdict::Deliver { lost: false });
        kunit_expect_eq!(test, check(0, 7, 0), Verdict::Deliver { lost: false });
        kunit_expect_eq!(
            test,
            check(0, 1, BATCH_OVERFLOW),
            Verdict::Deliver { lost: true }
        );
        kunit_expect_eq!(test, check(1, 2, 0), Verdict::Deliver { lost: false });
        kunit_expect_eq!(test, check(1, 3, 0), Verdict::Deliver { lost: true });
        kunit_expect_eq!(
            test,
            check(4, 5, BATCH_OVERFLOW),
            Verdict::Deliver { lost: true }
        );
        kunit_expect_eq!(
            test,
            check(u64::MAX - 1, u64::MAX, 0),
            Verdict::Deliver { lost: false }
        );
    }

    fn not_growing_is_rejected(test: &mut Test) {
        kunit_expect_eq!(test, check(5, 5, 0), Verdict::Reject);
        kunit_expect_eq!(test, check(5, 4, 0), Verdict::Reject);
        kunit_expect_eq!(test, check(5, 0, BATCH_OVERFLOW), Verdict::Reject);
        kunit_expect_eq!(test, check(u64::MAX, 1, 0), Verdict::Reject);
    }

    kunit_suite!(
        fuse_fsnotify_sequence,
        [in_order_gap_and_overflow, not_growing_is_rejected]
    );
}
