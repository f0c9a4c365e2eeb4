//! The subcommands of the `shadernet` binary, one file each, and the error
//! classification every one of them shares.

pub mod bench;
pub mod common;
pub mod eval;
pub mod infer;
pub mod info;
pub mod profile;
pub mod train;
