//! Decimal bit masks of the documents, decoded into typed flag sets.
//!
//! Bit values are those of the public Windows SDK enums (`vss.h` / `vswriter.h`, documented on
//! learn.microsoft.com: VSS_BACKUP_SCHEMA [D-BS], VSS_COMPONENT_FLAGS [D-CF],
//! VSS_FILE_SPEC_BACKUP_TYPE [D-FSBT]). Unknown bits are kept, never dropped.

use std::fmt;

macro_rules! flag_set {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$fmeta:meta])* $flag:ident = $value:expr, $text:literal; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name(pub u32);

        impl $name {
            $( $(#[$fmeta])* pub const $flag: Self = Self($value); )*

            /// Every named flag with its SDK spelling.
            pub const NAMED: &'static [(Self, &'static str)] = &[ $( (Self::$flag, $text), )* ];

            /// The raw mask.
            #[must_use]
            pub const fn bits(self) -> u32 {
                self.0
            }

            /// Both sets of bits.
            #[must_use]
            pub const fn union(self, other: Self) -> Self {
                Self(self.0 | other.0)
            }

            /// Whether every bit of `other` is set.
            #[must_use]
            pub const fn contains(self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }

            /// Names of the single-bit flags that are set, in bit order.
            #[must_use]
            pub fn names(self) -> Vec<&'static str> {
                Self::NAMED
                    .iter()
                    .filter(|(f, _)| f.0.count_ones() == 1 && self.contains(*f))
                    .map(|(_, n)| *n)
                    .collect()
            }

            /// Bits that no named flag covers.
            #[must_use]
            pub fn unknown_bits(self) -> u32 {
                let known = Self::NAMED.iter().fold(0, |acc, (f, _)| acc | f.0);
                self.0 & !known
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({} = {:?}", stringify!($name), self.0, self.names())?;
                if self.unknown_bits() != 0 {
                    write!(f, " + unknown {:#x}", self.unknown_bits())?;
                }
                f.write_str(")")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut names = self.names().join("|");
                if self.unknown_bits() != 0 {
                    if !names.is_empty() {
                        names.push('|');
                    }
                    names.push_str(&format!("{:#x}", self.unknown_bits()));
                }
                if names.is_empty() {
                    names.push_str("none");
                }
                write!(f, "{} ({})", self.0, names)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeStruct;
                let mut st = s.serialize_struct(stringify!($name), 3)?;
                st.serialize_field("value", &self.0)?;
                st.serialize_field("flags", &self.names())?;
                st.serialize_field("unknown_bits", &self.unknown_bits())?;
                st.end()
            }
        }
    };
}

flag_set! {
    /// `backupSchema` (VSS_BACKUP_SCHEMA): what backup kinds a writer supports [D-BS].
    BackupSchema {
        /// VSS_BS_DIFFERENTIAL
        DIFFERENTIAL = 0x0001, "DIFFERENTIAL";
        /// VSS_BS_INCREMENTAL
        INCREMENTAL = 0x0002, "INCREMENTAL";
        /// VSS_BS_EXCLUSIVE_INCREMENTAL_DIFFERENTIAL
        EXCLUSIVE_INCREMENTAL_DIFFERENTIAL = 0x0004, "EXCLUSIVE_INCREMENTAL_DIFFERENTIAL";
        /// VSS_BS_LOG
        LOG = 0x0008, "LOG";
        /// VSS_BS_COPY
        COPY = 0x0010, "COPY";
        /// VSS_BS_TIMESTAMPED
        TIMESTAMPED = 0x0020, "TIMESTAMPED";
        /// VSS_BS_LAST_MODIFY
        LAST_MODIFY = 0x0040, "LAST_MODIFY";
        /// VSS_BS_LSN
        LSN = 0x0080, "LSN";
        /// VSS_BS_WRITER_SUPPORTS_NEW_TARGET
        WRITER_SUPPORTS_NEW_TARGET = 0x0100, "WRITER_SUPPORTS_NEW_TARGET";
        /// VSS_BS_WRITER_SUPPORTS_RESTORE_WITH_MOVE
        WRITER_SUPPORTS_RESTORE_WITH_MOVE = 0x0200, "WRITER_SUPPORTS_RESTORE_WITH_MOVE";
        /// VSS_BS_INDEPENDENT_SYSTEM_STATE
        INDEPENDENT_SYSTEM_STATE = 0x0400, "INDEPENDENT_SYSTEM_STATE";
        /// VSS_BS_ROLLFORWARD_RESTORE
        ROLLFORWARD_RESTORE = 0x1000, "ROLLFORWARD_RESTORE";
        /// VSS_BS_RESTORE_RENAME
        RESTORE_RENAME = 0x2000, "RESTORE_RENAME";
        /// VSS_BS_AUTHORITATIVE_RESTORE
        AUTHORITATIVE_RESTORE = 0x4000, "AUTHORITATIVE_RESTORE";
        /// VSS_BS_WRITER_SUPPORTS_PARALLEL_RESTORES
        WRITER_SUPPORTS_PARALLEL_RESTORES = 0x8000, "WRITER_SUPPORTS_PARALLEL_RESTORES";
    }
}

flag_set! {
    /// `componentFlags` (VSS_COMPONENT_FLAGS) [D-CF].
    ComponentFlags {
        /// VSS_CF_BACKUP_RECOVERY
        BACKUP_RECOVERY = 0x1, "BACKUP_RECOVERY";
        /// VSS_CF_APP_ROLLBACK_RECOVERY
        APP_ROLLBACK_RECOVERY = 0x2, "APP_ROLLBACK_RECOVERY";
        /// VSS_CF_NOT_SYSTEM_STATE
        NOT_SYSTEM_STATE = 0x4, "NOT_SYSTEM_STATE";
    }
}

flag_set! {
    /// `filespecBackupType` (VSS_FILE_SPEC_BACKUP_TYPE) [D-FSBT]. 3855 = 0xF0F is the default.
    FileSpecBackupType {
        /// VSS_FSBT_FULL_BACKUP_REQUIRED
        FULL_BACKUP_REQUIRED = 0x0001, "FULL_BACKUP_REQUIRED";
        /// VSS_FSBT_DIFFERENTIAL_BACKUP_REQUIRED
        DIFFERENTIAL_BACKUP_REQUIRED = 0x0002, "DIFFERENTIAL_BACKUP_REQUIRED";
        /// VSS_FSBT_INCREMENTAL_BACKUP_REQUIRED
        INCREMENTAL_BACKUP_REQUIRED = 0x0004, "INCREMENTAL_BACKUP_REQUIRED";
        /// VSS_FSBT_LOG_BACKUP_REQUIRED
        LOG_BACKUP_REQUIRED = 0x0008, "LOG_BACKUP_REQUIRED";
        /// VSS_FSBT_FULL_SNAPSHOT_REQUIRED
        FULL_SNAPSHOT_REQUIRED = 0x0100, "FULL_SNAPSHOT_REQUIRED";
        /// VSS_FSBT_DIFFERENTIAL_SNAPSHOT_REQUIRED
        DIFFERENTIAL_SNAPSHOT_REQUIRED = 0x0200, "DIFFERENTIAL_SNAPSHOT_REQUIRED";
        /// VSS_FSBT_INCREMENTAL_SNAPSHOT_REQUIRED
        INCREMENTAL_SNAPSHOT_REQUIRED = 0x0400, "INCREMENTAL_SNAPSHOT_REQUIRED";
        /// VSS_FSBT_LOG_SNAPSHOT_REQUIRED
        LOG_SNAPSHOT_REQUIRED = 0x0800, "LOG_SNAPSHOT_REQUIRED";
        /// VSS_FSBT_CREATED_DURING_BACKUP
        CREATED_DURING_BACKUP = 0x0001_0000, "CREATED_DURING_BACKUP";
        /// VSS_FSBT_ALL_BACKUP_REQUIRED (the four backup bits)
        ALL_BACKUP_REQUIRED = 0x000F, "ALL_BACKUP_REQUIRED";
        /// VSS_FSBT_ALL_SNAPSHOT_REQUIRED (the four snapshot bits)
        ALL_SNAPSHOT_REQUIRED = 0x0F00, "ALL_SNAPSHOT_REQUIRED";
    }
}
