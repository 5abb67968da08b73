//! nbio under mio's crate name.
//!
//! This crate contains no code of its own: it re-exports [`nbio`] so that a
//! `[patch.crates-io]` entry can put nbio in place of mio across a whole
//! dependency tree:
//!
//! ```toml
//! [patch.crates-io]
//! mio = { path = "path/to/nbio/compat/mio" }
//! ```
//!
//! Its features are mio's (`os-poll`, `os-ext`, `net`, `log`), each mapped
//! to nbio's feature of the same name. See nbio's README, "Coming from mio".

#![no_std]

#[doc(inline)]
pub use nbio::*;
