//! Names, includes and types: AST → IR.
