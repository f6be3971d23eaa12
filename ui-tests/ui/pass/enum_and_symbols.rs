//! #[kernel_enum] and kernel_symbols! under strict lints.
#![deny(warnings, missing_docs, unsafe_code)]

mod bindings {
    use ktype_runtime::kernel_enum;

    /// Page flag bit numbers.
    #[kernel_enum(module = "vmlinux", name = "pageflags")]
    pub enum PageFlags {
        /// Locked.
        PG_locked,
        /// On an LRU list.
        PG_lru,
        /// Only with CONFIG_MEMORY_FAILURE.
        #[kernel(optional)]
        PG_hwpoison,
        /// Renamed variant.
        #[kernel(name = "PG_head")]
        Head,
        /// Alternatives.
        #[kernel(any("PG_foo", "PG_bar"))]
        Foo,
    }

    /// Constants of anonymous enums; derives already written are kept.
    #[kernel_enum(anonymous)]
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub enum Consts {
        /// `MAX_NR_ZONES`.
        #[kernel(name = "MAX_NR_ZONES")]
        MaxNrZones,
    }

    /// Any name, alternatives for the enum type.
    #[kernel_enum(any("zone_type", "zone_type_old"))]
    pub enum ZoneType {
        /// DMA zone.
        ZONE_DMA,
    }

    ktype_runtime::kernel_symbols! {
        /// The first task.
        pub static INIT_TASK = "init_task";
        /// Start of the kernel text, maybe hidden.
        #[kernel(optional)]
        pub static STEXT = "_stext";
        #[kernel(module = "qemu_fw_cfg")]
        static FW_CFG_SEL = any("fw_cfg_sel_ko", "other");
    }

    /// Uses the private symbol.
    pub fn fw_cfg_names() -> &'static [&'static str] {
        FW_CFG_SEL.names
    }
}

use bindings::{Consts, PageFlags, ZoneType, INIT_TASK, STEXT};

fn main() {
    assert_eq!(PageFlags::ALL.len(), 5);
    assert!(PageFlags::PG_lru.try_value().is_err());
    assert_eq!(PageFlags::from_value(0), None);
    assert!(!PageFlags::Head.is_present());
    assert_eq!(Consts::MaxNrZones, Consts::MaxNrZones);
    assert!(Consts::descriptor().names.is_empty());
    assert_eq!(ZoneType::descriptor().names, ["zone_type", "zone_type_old"]);
    assert!(INIT_TASK.try_address().is_err());
    assert!(STEXT.optional);
    assert_eq!(bindings::fw_cfg_names(), ["fw_cfg_sel_ko", "other"]);
}
