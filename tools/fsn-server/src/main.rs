//! fuse-fsnotify-server (skeleton; see lib modules).
mod fanotify;
fn main() {}
