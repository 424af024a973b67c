//! Unit tests of the checker and lowering.
