//! fuse-fsnotify-server (in progress).
mod core;
mod fanotify;
mod queue;
mod record;
mod translate;
mod watch;
fn main() {}
