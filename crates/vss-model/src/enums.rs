//! String-valued enums of the documents (docs/vss-restore.md §1.2 table "Enumerated string
//! values").
//!
//! Each has an `Unrecognised` variant that keeps the text, so a value this crate does not know
//! survives a round trip and is reported rather than guessed. Spellings marked *ours* are not
//! attested in any public document; they are this crate's choice (see the README).

use std::fmt;

macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A spelling this crate does not know, kept verbatim.
            Unrecognised(String),
        }

        impl $name {
            /// Every known variant with its XML spelling.
            pub const KNOWN: &'static [&'static str] = &[ $( $text, )* ];

            /// Reads an XML spelling (exact match; anything else is kept as `Unrecognised`).
            #[must_use]
            pub fn from_xml(s: &str) -> Self {
                match s {
                    $( $text => Self::$variant, )*
                    other => Self::Unrecognised(other.to_owned()),
                }
            }

            /// The XML spelling.
            #[must_use]
            pub fn as_xml(&self) -> &str {
                match self {
                    $( Self::$variant => $text, )*
                    Self::Unrecognised(s) => s,
                }
            }

            /// Whether the value is one this crate knows.
            #[must_use]
            pub fn is_recognised(&self) -> bool {
                !matches!(self, Self::Unrecognised(_))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_xml())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_xml())
            }
        }
    };
}

text_enum! {
    /// `RESTORE_METHOD/@method` (VSS_RESTOREMETHOD_ENUM) [D-RM].
    RestoreMethod {
        /// VSS_RME_UNDEFINED — spelling *ours*; also what a missing `RESTORE_METHOD` means.
        Undefined => "UNDEFINED",
        /// VSS_RME_RESTORE_IF_NOT_THERE (spelling from the SDK test writer, docs/vss-restore.md
        /// confidence M).
        RestoreIfNotThere => "RESTORE_IF_NONE_THERE",
        /// VSS_RME_RESTORE_IF_CAN_REPLACE (real SQL/ASR WMDs).
        RestoreIfCanReplace => "RESTORE_IF_CAN_BE_REPLACED",
        /// VSS_RME_STOP_RESTORE_START (SDK test writer, conf. M).
        StopRestoreStart => "STOP_RESTART_SERVICE",
        /// VSS_RME_RESTORE_TO_ALTERNATE_LOCATION (SDK test writer, conf. M).
        RestoreToAlternateLocation => "RESTORE_TO_ALTERNATE_LOCATION",
        /// VSS_RME_RESTORE_AT_REBOOT (real WMI WMD).
        RestoreAtReboot => "REPLACE_AT_REBOOT",
        /// VSS_RME_RESTORE_AT_REBOOT_IF_CANNOT_REPLACE (real WMDs).
        RestoreAtRebootIfCannotReplace => "REPLACE_AT_REBOOT_IF_CANNOT_REPLACE",
        /// VSS_RME_CUSTOM (SDK test writer, conf. M).
        Custom => "CUSTOM",
        /// VSS_RME_RESTORE_STOP_START — not attested anywhere public; spelling *ours*.
        RestoreStopStart => "RESTORE_STOP_START",
    }
}

text_enum! {
    /// `RESTORE_METHOD/@writerRestore` (VSS_WRITERRESTORE_ENUM) [D-WRE].
    WriterRestore {
        /// VSS_WRE_UNDEFINED — spelling *ours*.
        Undefined => "undefined",
        /// VSS_WRE_NEVER.
        Never => "never",
        /// VSS_WRE_IF_REPLACE_FAILS (SDK test writer, conf. M).
        IfReplaceFails => "ifReplaceFails",
        /// VSS_WRE_ALWAYS.
        Always => "always",
    }
}

text_enum! {
    /// `IDENTIFICATION/@usage` (VSS_USAGE_TYPE).
    Usage {
        /// VSS_UT_BOOTABLESYSTEMSTATE.
        BootableSystemState => "BOOTABLE_SYSTEM_STATE",
        /// VSS_UT_SYSTEMSERVICE.
        SystemService => "SYSTEM_SERVICE",
        /// VSS_UT_USERDATA.
        UserData => "USER_DATA",
        /// VSS_UT_OTHER (conf. M).
        Other => "OTHER",
    }
}

text_enum! {
    /// `IDENTIFICATION/@dataSource` (VSS_SOURCE_TYPE).
    DataSource {
        /// VSS_ST_TRANSACTEDDB.
        TransactedDb => "TRANSACTION_DB",
        /// VSS_ST_NONTRANSACTEDDB — unverified spelling, *ours* (docs/vss-restore.md confidence L).
        NonTransactedDb => "NONTRANSACTION_DB",
        /// VSS_ST_OTHER.
        Other => "OTHER",
    }
}

text_enum! {
    /// `COMPONENT/@componentType` in the BCD (VSS_COMPONENT_TYPE).
    ComponentType {
        /// VSS_CT_FILEGROUP.
        FileGroup => "filegroup",
        /// VSS_CT_DATABASE (conf. M).
        Database => "database",
    }
}

text_enum! {
    /// `BACKUP_COMPONENTS/@backupType` (VSS_BACKUP_TYPE). Only `full` is attested; the others
    /// are *ours* (lower case by analogy).
    BackupType {
        /// VSS_BT_FULL.
        Full => "full",
        /// VSS_BT_INCREMENTAL (*ours*).
        Incremental => "incremental",
        /// VSS_BT_DIFFERENTIAL (*ours*).
        Differential => "differential",
        /// VSS_BT_LOG (*ours*).
        Log => "log",
        /// VSS_BT_COPY (*ours*).
        Copy => "copy",
        /// VSS_BT_OTHER (*ours*).
        Other => "other",
    }
}

text_enum! {
    /// Restore target of a component (VSS_RESTORE_TARGET) [D-RT]. All spellings *ours*.
    RestoreTarget {
        /// VSS_RT_UNDEFINED.
        Undefined => "UNDEFINED",
        /// VSS_RT_ORIGINAL: obey the writer's restore method.
        Original => "ORIGINAL",
        /// VSS_RT_ALTERNATE: restore to the alternate location mappings.
        Alternate => "ALTERNATE",
        /// VSS_RT_DIRECTED: follow the directed targets.
        Directed => "DIRECTED",
        /// VSS_RT_ORIGINAL_LOCATION: backup-time location even for TO_ALTERNATE_LOCATION.
        OriginalLocation => "ORIGINAL_LOCATION",
    }
}

text_enum! {
    /// File restore status of a component (VSS_FILE_RESTORE_STATUS) [D-RS]. Spellings *ours*.
    FileRestoreStatus {
        /// VSS_RS_UNDEFINED.
        Undefined => "UNDEFINED",
        /// VSS_RS_NONE: failed cleanly, nothing written.
        None => "NONE",
        /// VSS_RS_ALL: every file restored.
        All => "ALL",
        /// VSS_RS_FAILED: some files written; component inconsistent.
        Failed => "FAILED",
    }
}
