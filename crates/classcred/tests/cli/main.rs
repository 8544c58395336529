//! The `classcred` binary as an operator uses it.

mod basics;
mod keys;
mod ledger;
mod serve;
mod support;
