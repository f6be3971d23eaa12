//! trybuild cases live in ui/; the driver is tests/ui.rs.
