//! `include/fuse_fsnotify.h` must describe exactly the layouts and constants
//! of `rust/wire.rs`: generate C static assertions from the Rust definitions
//! and compile them against the header.

use fsn_wire::*;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

fn layout(c: &mut String, name: &str, fields: &[(&str, usize)], size: usize) {
    let mut off = 0;
    for (field, width) in fields {
        writeln!(
            c,
            "_Static_assert(offsetof(struct {name}, {field}) == {off}, \"{name}.{field} offset\");\n\
             _Static_assert(sizeof(((struct {name} *)0)->{field}) == {width}, \"{name}.{field} size\");"
        )
        .unwrap();
        off += width;
    }
    writeln!(
        c,
        "_Static_assert(sizeof(struct {name}) == {size}, \"{name} size\");"
    )
    .unwrap();
}

macro_rules! structs {
    ($c:expr, $($t:ty),*) => {$(
        layout($c, <$t>::C_NAME, <$t>::FIELDS, <$t>::SIZE);
    )*};
}

#[test]
fn c_header_matches_rust() {
    let mut c = String::from("#include <stddef.h>\n#include \"fuse_fsnotify.h\"\n");
    structs!(
        &mut c,
        MarkIn,
        MarkEntry,
        MarkOut,
        MarkResult,
        PollIn,
        BatchHeader,
        RecordHeader,
        EventBody,
        RenameBody
    );
    let consts: &[(&str, u64)] = &[
        ("FUSE_FSNOTIFY_MARK", FUSE_FSNOTIFY_MARK.into()),
        ("FUSE_FSNOTIFY_POLL", FUSE_FSNOTIFY_POLL.into()),
        ("FUSE_FSNOTIFY_VERSION", VERSION.into()),
        ("FUSE_FSNOTIFY_NAME_MAX", NAME_MAX as u64),
        ("FUSE_FSNOTIFY_MAX_BATCH_SIZE", MAX_BATCH_SIZE as u64),
        ("FUSE_FSNOTIFY_ACCESS", mask::ACCESS.into()),
        ("FUSE_FSNOTIFY_MODIFY", mask::MODIFY.into()),
        ("FUSE_FSNOTIFY_ATTRIB", mask::ATTRIB.into()),
        ("FUSE_FSNOTIFY_CLOSE_WRITE", mask::CLOSE_WRITE.into()),
        ("FUSE_FSNOTIFY_CLOSE_NOWRITE", mask::CLOSE_NOWRITE.into()),
        ("FUSE_FSNOTIFY_OPEN", mask::OPEN.into()),
        ("FUSE_FSNOTIFY_MOVED_FROM", mask::MOVED_FROM.into()),
        ("FUSE_FSNOTIFY_MOVED_TO", mask::MOVED_TO.into()),
        ("FUSE_FSNOTIFY_CREATE", mask::CREATE.into()),
        ("FUSE_FSNOTIFY_DELETE", mask::DELETE.into()),
        ("FUSE_FSNOTIFY_DELETE_SELF", mask::DELETE_SELF.into()),
        ("FUSE_FSNOTIFY_MOVE_SELF", mask::MOVE_SELF.into()),
        ("FUSE_FSNOTIFY_EVENT_ON_CHILD", mask::EVENT_ON_CHILD.into()),
        ("FUSE_FSNOTIFY_RENAME", mask::RENAME.into()),
        ("FUSE_FSNOTIFY_ISDIR", mask::ISDIR.into()),
        ("FUSE_FSNOTIFY_MARK_RESYNC", MARK_RESYNC.into()),
        ("FUSE_FSNOTIFY_BATCH_OVERFLOW", BATCH_OVERFLOW.into()),
        ("FUSE_FSNOTIFY_RECORD_EVENT", RECORD_EVENT.into()),
        ("FUSE_FSNOTIFY_RECORD_RENAME", RECORD_RENAME.into()),
    ];
    for (name, value) in consts {
        writeln!(c, "_Static_assert({name} == {value}ULL, \"{name}\");").unwrap();
    }

    let dir = std::env::temp_dir().join(format!("fsn-wire-c-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("check.c");
    std::fs::write(&src, &c).unwrap();
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../include");
    let out = Command::new("cc")
        .args(["-std=c11", "-Wall", "-Werror", "-fsyntax-only", "-I"])
        .arg(&include)
        .arg(&src)
        .output()
        .expect("a C compiler (cc) is needed for this test");
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        out.status.success(),
        "include/fuse_fsnotify.h disagrees with rust/wire.rs:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
