/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Headers that bindgen turns into rust/bindings_generated.rs at build time.
 * Only what bindgen_parameters allowlists is generated; the rest comes from
 * the kernel crate's own bindings.
 */
#include <linux/fsnotify_backend.h>
#include <linux/inotify.h>
#include <uapi/linux/fanotify.h>
#include <linux/debugfs.h>
#include <linux/namei.h>
#include <uapi/linux/magic.h>
/* Flag macros bindgen cannot evaluate (BIT()), as the kernel crate does. */
const unsigned long FSN_SB_ACTIVE = SB_ACTIVE;

/* Private to fs/fuse; found through -I$(srctree)/fs/fuse (see Kbuild). */
#include "fuse_i.h"
