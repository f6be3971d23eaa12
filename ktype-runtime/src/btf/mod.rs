//! BTF (placeholder)
