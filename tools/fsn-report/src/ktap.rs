//! A KTAP (v1) result parser, as much as `make test` needs.
//!
//! KUnit prints nested KTAP: each suite is a subtest whose cases are indented
//! result lines, followed by the suite's own result line one level out. We
//! count the leaves (cases, or a suite that has no cases because it failed
//! before running any), so a suite of five cases counts five tests. A subtest
//! whose plan (`1..N`) promises more results than were printed is reported as
//! a failure, so a truncated log never passes.

/// The outcome of one test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `ok`
    Pass,
    /// `not ok`
    Fail,
    /// `ok ... # SKIP` (or `not ok ... # SKIP`)
    Skip,
    /// `not ok ... # TODO`: a known, documented failure (TAP's TODO). An
    /// `ok ... # TODO` is a pass.
    Todo,
}

/// One leaf result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResult {
    /// `suite.case`, or just the name at top level.
    pub name: String,
    /// Pass, fail or skip.
    pub outcome: Outcome,
}

struct Line<'a> {
    indent: usize,
    outcome: Outcome,
    name: &'a str,
}

fn parse_result(line: &str) -> Option<Line<'_>> {
    let trimmed = line.trim_start();
    let indent = line.len() - trimmed.len();
    let (failed, rest) = if let Some(r) = trimmed.strip_prefix("not ok ") {
        (true, r)
    } else if let Some(r) = trimmed.strip_prefix("ok ") {
        (false, r)
    } else {
        return None;
    };
    let (num, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (name, directive) = match rest.split_once('#') {
        Some((n, d)) => (n.trim(), d.trim()),
        None => (rest.trim(), ""),
    };
    let word = |w: &str| {
        directive
            .get(..4)
            .is_some_and(|d| d.eq_ignore_ascii_case(w))
    };
    let outcome = match (word("skip"), word("todo"), failed) {
        (true, _, _) => Outcome::Skip,
        (false, true, true) => Outcome::Todo,
        (false, _, true) => Outcome::Fail,
        (false, _, false) => Outcome::Pass,
    };
    Some(Line {
        indent,
        outcome,
        name,
    })
}

/// Strips a kernel log prefix such as `[   12.345678] ` so that KTAP taken
/// from dmesg parses like KTAP from debugfs.
fn strip_printk_time(line: &str) -> &str {
    if let Some(rest) = line.strip_prefix('[') {
        if let Some((ts, after)) = rest.split_once("] ") {
            if ts.trim().bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                return after;
            }
        }
    }
    line
}

/// Parses KTAP text into its leaf results, in order.
pub fn parse(text: &str) -> Vec<TestResult> {
    let mut results = Vec::new();
    // Open subtests: (indent of their contents, name, plan, leaves seen).
    let mut subtests: Vec<(usize, String, Option<usize>, usize)> = Vec::new();
    let mut prev_indent: Option<usize> = None;
    let mut expect_plan_at: Option<usize> = None;

    for raw in text.lines() {
        let line = strip_printk_time(raw);
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();

        if let Some(name) = trimmed.strip_prefix("# Subtest:") {
            subtests.retain(|s| s.0 < indent);
            subtests.push((indent, name.trim().to_string(), None, 0));
            expect_plan_at = Some(indent);
            continue;
        }
        if let Some(plan) = trimmed.strip_prefix("1..") {
            if expect_plan_at == Some(indent) {
                if let (Some(s), Ok(n)) = (subtests.last_mut(), plan.trim().parse()) {
                    s.2 = Some(n);
                }
            }
            expect_plan_at = None;
            continue;
        }
        let Some(r) = parse_result(line) else {
            continue;
        };
        let is_parent = prev_indent.is_some_and(|p| p > r.indent);
        prev_indent = Some(r.indent);

        // Close subtests deeper than this line; check their plans.
        while let Some(s) = subtests.last() {
            if s.0 <= r.indent {
                break;
            }
            let (_, name, plan, seen) = subtests.pop().unwrap_or_default();
            if let Some(plan) = plan {
                if seen < plan {
                    results.push(TestResult {
                        name: format!("{name}.<{} of {plan} results missing>", plan - seen),
                        outcome: Outcome::Fail,
                    });
                }
            }
        }
        if is_parent {
            continue;
        }
        let name = match subtests.last_mut() {
            Some(s) if s.0 == r.indent => {
                s.3 += 1;
                format!("{}.{}", s.1, r.name)
            }
            _ => r.name.to_string(),
        };
        results.push(TestResult {
            name,
            outcome: r.outcome,
        });
    }
    // Subtests still open at the end of the text were truncated.
    for (_, name, plan, seen) in subtests {
        if let Some(plan) = plan {
            if seen < plan {
                results.push(TestResult {
                    name: format!("{name}.<{} of {plan} results missing>", plan - seen),
                    outcome: Outcome::Fail,
                });
            }
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUNIT: &str = "KTAP version 1
1..2
    KTAP version 1
    # Subtest: fuse_fsnotify_layout
    # module: fuse_fsnotify
    1..3
    ok 1 forwarded_bits_match_uapi
    not ok 2 distinct
    ok 3 control # SKIP not today
ok 1 fuse_fsnotify_layout
    KTAP version 1
    # Subtest: fuse_fsnotify_other
    1..1
    ok 1 only
ok 2 fuse_fsnotify_other
";

    #[test]
    fn counts_cases_not_suites() {
        let r = parse(KUNIT);
        let names: Vec<_> = r.iter().map(|t| (t.name.as_str(), t.outcome)).collect();
        assert_eq!(
            names,
            [
                (
                    "fuse_fsnotify_layout.forwarded_bits_match_uapi",
                    Outcome::Pass
                ),
                ("fuse_fsnotify_layout.distinct", Outcome::Fail),
                ("fuse_fsnotify_layout.control", Outcome::Skip),
                ("fuse_fsnotify_other.only", Outcome::Pass),
            ]
        );
    }

    #[test]
    fn reads_dmesg_timestamps() {
        let text: String = KUNIT
            .lines()
            .map(|l| format!("[   12.345678] {l}\n"))
            .collect();
        assert_eq!(parse(&text), parse(KUNIT));
    }

    #[test]
    fn truncated_suite_fails() {
        let text = "    # Subtest: s\n    1..3\n    ok 1 a\n";
        let r = parse(text);
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].outcome, Outcome::Fail);
        assert!(r[1].name.contains("2 of 3"), "{}", r[1].name);
    }

    #[test]
    fn suite_without_cases_is_a_leaf() {
        let text = "1..1\nnot ok 1 broken_suite # suite init failed\n";
        assert_eq!(
            parse(text),
            [TestResult {
                name: "broken_suite".into(),
                outcome: Outcome::Fail
            }]
        );
    }

    #[test]
    fn flat_tap() {
        let r = parse("ok 1 a\nnot ok 2 b\nok 3 c # skip no fuse\nnoise ok 4\n");
        assert_eq!(
            parse("not ok 1 x # TODO known\nok 2 y # TODO fixed\n")
                .iter()
                .map(|t| t.outcome)
                .collect::<Vec<_>>(),
            [Outcome::Todo, Outcome::Pass]
        );
        let o: Vec<_> = r.iter().map(|t| t.outcome).collect();
        assert_eq!(o, [Outcome::Pass, Outcome::Fail, Outcome::Skip]);
    }

    #[test]
    fn rejects_lines_that_only_look_like_results() {
        assert!(parse("okay 1 x\nok x y\nnot ok\n").is_empty());
    }
}
