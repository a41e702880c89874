/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-2-Clause) */
/*
 * fuse-fsnotify: remote fsnotify events over FUSE and virtiofs.
 *
 * C view of the wire protocol for servers not written in Rust (libfuse,
 * virtiofsd, ...).  The protocol is defined in rust/wire.rs and specified in
 * Documentation/protocol.rst; this header must describe the same layouts,
 * which tools/fsn-wire's tests check by compiling it against the sizes and
 * offsets of the Rust definitions.
 *
 * All integers are in the byte order of the FUSE connection, as in
 * <linux/fuse.h>.  Every structure is a multiple of 8 bytes with naturally
 * aligned fields and no implicit padding.
 */
#ifndef _FUSE_FSNOTIFY_H
#define _FUSE_FSNOTIFY_H

#include <stdint.h>

/* Opcodes: far above mainline's sequential allocation (52 in 6.12). */
#define FUSE_FSNOTIFY_MARK	18254
#define FUSE_FSNOTIFY_POLL	18255

#define FUSE_FSNOTIFY_VERSION	1
#define FUSE_FSNOTIFY_NAME_MAX	255
#define FUSE_FSNOTIFY_MAX_BATCH_SIZE	(1 << 20)

/* Event bits: the FS_* values of <linux/fsnotify_backend.h> (= IN_*, FAN_*). */
#define FUSE_FSNOTIFY_ACCESS		0x00000001
#define FUSE_FSNOTIFY_MODIFY		0x00000002
#define FUSE_FSNOTIFY_ATTRIB		0x00000004
#define FUSE_FSNOTIFY_CLOSE_WRITE	0x00000008
#define FUSE_FSNOTIFY_CLOSE_NOWRITE	0x00000010
#define FUSE_FSNOTIFY_OPEN		0x00000020
#define FUSE_FSNOTIFY_MOVED_FROM	0x00000040
#define FUSE_FSNOTIFY_MOVED_TO		0x00000080
#define FUSE_FSNOTIFY_CREATE		0x00000100
#define FUSE_FSNOTIFY_DELETE		0x00000200
#define FUSE_FSNOTIFY_DELETE_SELF	0x00000400
#define FUSE_FSNOTIFY_MOVE_SELF		0x00000800
#define FUSE_FSNOTIFY_EVENT_ON_CHILD	0x08000000
#define FUSE_FSNOTIFY_RENAME		0x10000000
#define FUSE_FSNOTIFY_ISDIR		0x40000000

/* fuse_fsnotify_mark_in.flags */
#define FUSE_FSNOTIFY_MARK_RESYNC	(1 << 0)
/* fuse_fsnotify_batch.flags */
#define FUSE_FSNOTIFY_BATCH_OVERFLOW	(1 << 0)

/* fuse_fsnotify_record.type */
#define FUSE_FSNOTIFY_RECORD_EVENT	1
#define FUSE_FSNOTIFY_RECORD_RENAME	2

/* FUSE_FSNOTIFY_MARK request: header + count entries; count 0 probes. */
struct fuse_fsnotify_mark_in {
	uint32_t	version;
	uint32_t	count;
	uint32_t	flags;
	uint32_t	reserved;
};

struct fuse_fsnotify_mark_entry {
	uint64_t	nodeid;
	uint32_t	mask;		/* 0 removes the remote watch */
	uint32_t	reserved;
};

/* FUSE_FSNOTIFY_MARK reply: header + one result per entry, in order. */
struct fuse_fsnotify_mark_out {
	uint32_t	version;
	uint32_t	count;
	uint32_t	supported;
	uint32_t	max_entries;
};

struct fuse_fsnotify_mark_result {
	uint32_t	mask;		/* subset of the requested mask */
	int32_t		error;		/* 0 or -errno */
};

/* FUSE_FSNOTIFY_POLL request; the reply is a batch. */
struct fuse_fsnotify_poll_in {
	uint32_t	version;
	uint32_t	max_size;
	uint32_t	timeout_ms;	/* 0: wait for events */
	uint32_t	reserved;
};

struct fuse_fsnotify_batch {
	uint32_t	version;
	uint32_t	flags;
	uint64_t	seq;		/* 1, 2, 3, ... per connection */
	uint32_t	count;		/* records that follow */
	uint32_t	length;		/* bytes of records that follow */
};

/* Every record starts with this; length is a multiple of 8. */
struct fuse_fsnotify_record {
	uint16_t	rtype;
	uint16_t	length;
	uint32_t	mask;
};

/* RECORD_EVENT: header, this, name[namelen], zero padding to 8. */
struct fuse_fsnotify_event {
	uint64_t	nodeid;
	uint64_t	parent;
	uint32_t	namelen;
	uint32_t	reserved;
};

/* RECORD_RENAME: header, this, old name, new name, zero padding to 8. */
struct fuse_fsnotify_rename {
	uint64_t	nodeid;
	uint64_t	old_parent;
	uint64_t	new_parent;
	uint16_t	old_namelen;
	uint16_t	new_namelen;
	uint32_t	reserved;
};

#endif /* _FUSE_FSNOTIFY_H */
