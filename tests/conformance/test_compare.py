# SPDX-License-Identifier: GPL-2.0
"""Host-side checks of the comparison rules (`python3 -m unittest`): the
known-limitation rule must accept what the server's fanotify merging does
and nothing else, or it would hide bugs."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402

ACCESS, MODIFY, CLOSE_WRITE, CLOSE_NOWRITE, OPEN = 0x1, 0x2, 0x8, 0x10, 0x20
MOVED_FROM, MOVED_TO, CREATE, DELETE, DELETE_SELF, IGNORED = 0x40, 0x80, 0x100, 0x200, 0x400, 0x8000
ISDIR = 0x40000000


def ev(w, mask, name="", cookie=0):
    return (w, mask, cookie, name)


class MergedOnHost(unittest.TestCase):
    def test_equal_streams(self):
        a = [ev(".", CREATE, "f"), ev(".", MODIFY, "f")]
        self.assertIsNone(compare.merged_on_host(a, list(a)))

    def test_repeated_modify_merged_and_moved_before_another_file(self):
        # append-log: app.log's second MODIFY merged into its first.
        want = [ev(".", CREATE, "b"), ev(".", MODIFY, "a"), ev(".", MODIFY, "b"), ev(".", MODIFY, "a")]
        got = [ev(".", CREATE, "b"), ev(".", MODIFY, "a"), ev(".", MODIFY, "b")]
        self.assertIsNone(compare.merged_on_host(want, got))

    def test_merged_reads_come_out_in_split_order(self):
        want = [ev("d", OPEN | ISDIR), ev("d", ACCESS | ISDIR), ev("d", CLOSE_NOWRITE | ISDIR),
                ev("d", OPEN | ISDIR), ev("d", ACCESS | ISDIR), ev("d", DELETE, "g"),
                ev("d", CLOSE_NOWRITE | ISDIR), ev("d", DELETE_SELF), ev("d", IGNORED)]
        got = [ev("d", OPEN | ISDIR), ev("d", ACCESS | ISDIR), ev("d", CLOSE_NOWRITE | ISDIR),
               ev("d", DELETE, "g"), ev("d", DELETE_SELF), ev("d", IGNORED)]
        self.assertIsNone(compare.merged_on_host(want, got))

    def test_an_event_the_oracle_merged_may_be_two_on_the_mount(self):
        # configmap-swap: the oracle's inotify merged ACCESS ACCESS, the
        # server split them across two merged events.
        I = ISDIR
        want = [ev(".", m | I, "v") for m in (OPEN, ACCESS, CLOSE_NOWRITE, OPEN, ACCESS, CLOSE_NOWRITE, DELETE)]
        got = [ev(".", m | I, "v") for m in (OPEN, ACCESS, OPEN, ACCESS, CLOSE_NOWRITE, ACCESS, CLOSE_NOWRITE, DELETE)]
        self.assertIsNone(compare.merged_on_host(want, got))

    def test_a_lost_event_is_not_merging(self):
        # The entries' DELETEs of rm -rf, lost: a bug, never a limitation.
        want = [ev("d", OPEN | ISDIR), ev("d", DELETE, "g"), ev("d", DELETE_SELF), ev("d", IGNORED)]
        got = [ev("d", OPEN | ISDIR), ev("d", DELETE_SELF), ev("d", IGNORED)]
        self.assertIsNotNone(compare.merged_on_host(want, got))

    def test_a_wrong_name_is_not_merging(self):
        want = [ev(".", OPEN | ISDIR, "side1")]
        got = [ev(".", OPEN | ISDIR, "side1 (deleted)")]
        self.assertIsNotNone(compare.merged_on_host(want, got))

    def test_a_later_event_never_moves_earlier_than_its_first(self):
        want = [ev(".", MODIFY, "f"), ev(".", CLOSE_WRITE, "f")]
        got = [ev(".", CLOSE_WRITE, "f"), ev(".", MODIFY, "f")]
        self.assertIsNotNone(compare.merged_on_host(want, got))

    def test_moves_are_not_merged(self):
        want = [ev(".", MOVED_FROM, "a", 7), ev(".", MOVED_TO, "b", 7)]
        got = [ev(".", MOVED_FROM, "a", 9)]
        self.assertIsNotNone(compare.merged_on_host(want, got))
        # Cookie values differ; the pairing is what counts.
        self.assertIsNone(compare.merged_on_host(want, [ev(".", MOVED_FROM, "a", 9), ev(".", MOVED_TO, "b", 9)]))

    def test_dir_and_file_events_do_not_merge(self):
        want = [ev(".", CREATE | ISDIR, "x"), ev(".", CREATE, "x")]
        got = [ev(".", CREATE | ISDIR, "x")]
        self.assertIsNotNone(compare.merged_on_host(want, got))

    def test_watch_missing(self):
        want = [ev(".", CREATE, "f"), ev("f", MODIFY)]
        self.assertIsNotNone(compare.merged_on_host(want, [ev(".", CREATE, "f")]))


class GoneDirReads(unittest.TestCase):
    def test_reads_of_a_removed_directory_only(self):
        want = [ev(".", OPEN | ISDIR, "d"), ev(".", ACCESS | ISDIR, "d"), ev(".", DELETE | ISDIR, "d")]
        got = [ev(".", DELETE | ISDIR, "d")]
        self.assertIsNotNone(compare.merged_on_host(want, got))
        self.assertIsNone(compare.merged_on_host(compare.drop_gone_dir_reads(want),
                                                 compare.drop_gone_dir_reads(got)))

    def test_other_losses_stay(self):
        want = [ev(".", OPEN | ISDIR, "d"), ev(".", CREATE, "f"), ev(".", DELETE | ISDIR, "d")]
        got = [ev(".", DELETE | ISDIR, "d")]
        self.assertIsNotNone(compare.merged_on_host(compare.drop_gone_dir_reads(want),
                                                    compare.drop_gone_dir_reads(got)))


class ChildGone(unittest.TestCase):
    ROOT = (("dir", ".", "."),)
    NEW = (("dir", "new-dir#0", "."),)
    CREATE = (("dir", ".", "v1"),)

    def test_reported_on_the_parent(self):
        want = {"group": [("CREATE|DELETE|ONDIR", self.CREATE), ("ACCESS|OPEN|ONDIR", self.NEW)]}
        got = {"group": [("CREATE|DELETE|ONDIR", self.CREATE), ("OPEN|ONDIR", self.ROOT)]}
        self.assertIsNone(compare.child_gone(want, got))

    def test_renumbered_and_partly_reported(self):
        new1 = (("dir", "new-dir#1", "."),)
        want = {"group": [("OPEN|ONDIR", self.NEW), ("ACCESS|OPEN|ONDIR", new1)]}
        # new-dir#0 never reached the mount, so the mount calls the second
        # directory new-dir#0; its ACCESS went to the parent too.
        got = {"group": [("ACCESS|OPEN|ONDIR", self.ROOT), ("OPEN|ONDIR", self.NEW)]}
        self.assertIsNone(compare.child_gone(want, got))

    def test_other_differences_are_not(self):
        want = {"group": [("CREATE|DELETE|ONDIR", self.CREATE), ("OPEN|ONDIR", self.NEW)]}
        got = {"group": [("CREATE|ONDIR", self.CREATE), ("OPEN|ONDIR", self.ROOT)]}
        self.assertIsNotNone(compare.child_gone(want, got))

    def test_types_nobody_saw_are_not(self):
        want = {"group": [("OPEN|ONDIR", self.NEW)]}
        got = {"group": [("MODIFY|ONDIR", self.ROOT)]}
        self.assertIsNotNone(compare.child_gone(want, got))

    def test_nothing_missing_is_not(self):
        want = {"group": [("OPEN|ONDIR", self.NEW)]}
        got = {"group": [("OPEN|ONDIR", self.NEW), ("OPEN|ONDIR", self.ROOT)]}
        self.assertIsNotNone(compare.child_gone(want, got))


class RenameGone(unittest.TestCase):
    R = ("RENAME", (("old", ".", "doc"), ("new", ".", "doc~")))
    R2 = ("RENAME", (("old", ".", "a"), ("new", ".", "b")))

    def test_renamed_then_removed(self):
        fan = {"group": [("DELETE", (("dir", ".", "doc~"),))]}
        self.assertIsNone(compare.rename_gone({"group": [self.R, self.R2]}, {"group": [self.R2]}, fan))

    def test_still_there_is_not(self):
        fan = {"group": [("CREATE", (("dir", ".", "doc~"),))]}
        self.assertIsNotNone(compare.rename_gone({"group": [self.R]}, {"group": []}, fan))

    def test_invented_is_not(self):
        fan = {"group": [("DELETE", (("dir", ".", "doc~"),))]}
        self.assertIsNotNone(compare.rename_gone({"group": [self.R]}, {"group": [self.R2]}, fan))


if __name__ == "__main__":
    unittest.main()
