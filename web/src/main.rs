//! The `mubadile` binary.

fn main() {}
