//! Backup Components Document (BCD): model, reader, writer (docs/vss-restore.md §1.3).
//!
//! The backup-time part (`BACKUP_COMPONENTS`, `WRITER_COMPONENTS`, `COMPONENT`,
//! `BACKUP_METADATA`) uses the names of the real documents. The restore-time state that the
//! VSS API keeps in the same document (selected for restore, restore options, restore target,
//! new targets, directed targets, partial files, alternate mappings used, file restore status,
//! failure messages, restore subcomponents) has no public XML form (docs/vss-restore.md §1.3, §6 item 1), so
//! it is written under names of **our own**: one `REHYDRATE_RESTORE_STATE` child per
//! `COMPONENT`, holding `NEW_TARGET`, `DIRECTED_TARGET`, `PARTIAL_FILE`,
//! `ALTERNATE_MAPPING_USED` and `RESTORE_SUBCOMPONENT` children. vssapi.dll will not read
//! these; they are for this project's own restore journal and tests.

use serde::Serialize;

use crate::attrs::{Attrs, keep, leftovers, once, split_children};
use crate::encoding::decode_document;
use crate::enums::{BackupType, ComponentType, FileRestoreStatus, RestoreTarget};
use crate::error::ReadError;
use crate::flags::BackupSchema;
use crate::guid::Guid;
use crate::wmd::{WriteOptions, finish, full_path};
use crate::xml::{ElementWriter, Node, RawNode, parse_tree};

/// Root element name of a BCD.
pub const BCD_ROOT: &str = "BACKUP_COMPONENTS";
/// The default namespace real BCDs declare (docs/vss-restore.md §1.1).
pub const BCD_NAMESPACE: &str = "x-schema:#VssComponentMetadata";
/// *Ours*: element holding a component's restore-time state.
pub const RESTORE_STATE_ELEMENT: &str = "REHYDRATE_RESTORE_STATE";

/// A Backup Components Document (`BACKUP_COMPONENTS`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct BackupComponents {
    /// `@xmlns`.
    pub xmlns: Option<String>,
    /// `@version`.
    pub version: Option<String>,
    /// `@bootableSystemStateBackup`.
    pub bootable_system_state_backup: Option<bool>,
    /// `@selectComponents`.
    pub select_components: Option<bool>,
    /// `@backupType`.
    pub backup_type: Option<BackupType>,
    /// `@partialFileSupport`.
    pub partial_file_support: Option<bool>,
    /// `@snapshotSetId`.
    pub snapshot_set_id: Option<Guid>,
    /// `WRITER_COMPONENTS` children.
    pub writers: Vec<WriterComponents>,
    /// Unknown attributes.
    pub other_attributes: Vec<(String, String)>,
    /// Unknown children.
    pub other_children: Vec<RawNode>,
}

/// `WRITER_COMPONENTS`: the explicitly included components of one writer instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WriterComponents {
    /// `@instanceId`.
    pub instance_id: Option<Guid>,
    /// `@writerId`.
    pub writer_id: Guid,
    /// `@instanceName`.
    pub instance_name: Option<String>,
    /// `@backupSchema`.
    pub backup_schema: Option<BackupSchema>,
    /// `COMPONENT` children.
    pub components: Vec<BcdComponent>,
    /// Unknown attributes (a repeated `xmlns` lands here and is written back).
    pub other_attributes: Vec<(String, String)>,
    /// Unknown children.
    pub other_children: Vec<RawNode>,
}

/// `COMPONENT` of the BCD.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BcdComponent {
    /// `@logicalPath`.
    pub logical_path: Option<String>,
    /// `@componentName`.
    pub name: String,
    /// `@componentType`.
    pub component_type: Option<ComponentType>,
    /// `@backupStamp` (opaque, base64 for the SQL writer).
    pub backup_stamp: Option<String>,
    /// `BACKUP_METADATA`.
    pub backup_metadata: Option<BackupMetadata>,
    /// *Ours*: `REHYDRATE_RESTORE_STATE`.
    pub restore: Option<RestoreState>,
    /// Unknown attributes.
    pub other_attributes: Vec<(String, String)>,
    /// Unknown children.
    pub other_children: Vec<RawNode>,
}

impl BcdComponent {
    /// `logicalPath\componentName`.
    #[must_use]
    pub fn full_path(&self) -> String {
        full_path(self.logical_path.as_deref(), &self.name)
    }
}

/// `BACKUP_METADATA` (real documents carry `xmlns=""`, kept in `other_attributes`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct BackupMetadata {
    /// `@metadata` (opaque, base64 for the SQL writer).
    pub metadata: Option<String>,
    /// Unknown attributes.
    pub other_attributes: Vec<(String, String)>,
    /// Unknown children.
    pub other_children: Vec<RawNode>,
}

/// *Ours*: restore-time state of a component (`REHYDRATE_RESTORE_STATE`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct RestoreState {
    /// `@selectedForRestore` (SetSelectedForRestore).
    pub selected_for_restore: Option<bool>,
    /// `@additionalRestores` (SetAdditionalRestores).
    pub additional_restores: Option<bool>,
    /// `@restoreOptions` (SetRestoreOptions, docs/vss-restore.md §3.8).
    pub restore_options: Option<String>,
    /// `@restoreTarget` (set by writers in PreRestore).
    pub restore_target: Option<RestoreTarget>,
    /// `@fileRestoreStatus` (SetFileRestoreStatus).
    pub file_restore_status: Option<FileRestoreStatus>,
    /// `@preRestoreFailure` (GetPreRestoreFailureMsg).
    pub pre_restore_failure: Option<String>,
    /// `@postRestoreFailure` (GetPostRestoreFailureMsg).
    pub post_restore_failure: Option<String>,
    /// `NEW_TARGET` children (AddNewTarget).
    pub new_targets: Vec<NewTarget>,
    /// `DIRECTED_TARGET` children.
    pub directed_targets: Vec<DirectedTarget>,
    /// `PARTIAL_FILE` children (AddPartialFile).
    pub partial_files: Vec<PartialFile>,
    /// `ALTERNATE_MAPPING_USED` children (AddAlternativeLocationMapping).
    pub alternate_mappings_used: Vec<AlternateMappingUsed>,
    /// `RESTORE_SUBCOMPONENT` children (AddRestoreSubcomponent).
    pub subcomponents: Vec<RestoreSubcomponent>,
    /// Unknown attributes.
    pub other_attributes: Vec<(String, String)>,
    /// Unknown children.
    pub other_children: Vec<RawNode>,
}

/// *Ours*: `NEW_TARGET` — a requester-chosen new location for one file set [D-ANT].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewTarget {
    /// `@path` of the file set (exact, as in the WMD).
    pub path: String,
    /// `@filespec` of the file set.
    pub filespec: String,
    /// `@recursive` of the file set.
    pub recursive: Option<bool>,
    /// `@alternatePath`: the new location.
    pub alternate_path: String,
    /// Unknown attributes.
    pub other_attributes: Vec<(String, String)>,
    /// Unknown children.
    pub other_children: Vec<RawNode>,
}

/// *Ours*: `DIRECTED_TARGET` — a file-by-file remap with range lists [D-DT].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectedTarget {
    /// `@sourcePath`.
    pub source_path: String,
    /// `@sourceFilename`.
    pub source_filename: String,
    /// `@sourceRanges` (range string, see [`crate::ranges`]).
    pub source_ranges: String,
    /// `@destinationPath`.
    pub destination_path: String,
    /// `@destinationFilename`.
    pub destination_filename: String,
    /// `@destinationRanges`.
    pub destination_ranges: String,
    /// Unknown attributes.
    pub other_attributes: Vec<(String, String)>,
    /// Unknown children.
    pub other_children: Vec<RawNode>,
}

/// *Ours*: `PARTIAL_FILE` — only some ranges of a file were backed up [D-PF].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartialFile {
    /// `@path` (directory).
    pub path: String,
    /// `@filename`.
    pub filename: String,
    /// `@ranges`: a range list or the path of a ranges file (see [`crate::ranges`]).
    pub ranges: String,
    /// `@metadata` (opaque).
    pub metadata: Option<String>,
    /// Unknown attributes.
    pub other_attributes: Vec<(String, String)>,
    /// Unknown children.
    pub other_children: Vec<RawNode>,
}

/// *Ours*: `ALTERNATE_MAPPING_USED` — a file set restored to its alternate location [D-AALM].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlternateMappingUsed {
    /// `@path` of the file set.
    pub path: String,
    /// `@filespec` of the file set.
    pub filespec: String,
    /// `@recursive` of the file set.
    pub recursive: Option<bool>,
    /// `@destination`.
    pub destination: String,
    /// Unknown attributes.
    pub other_attributes: Vec<(String, String)>,
    /// Unknown children.
    pub other_children: Vec<RawNode>,
}

/// *Ours*: `RESTORE_SUBCOMPONENT` (AddRestoreSubcomponent) [D-ARS].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreSubcomponent {
    /// `@logicalPath`.
    pub logical_path: Option<String>,
    /// `@componentName`.
    pub component_name: String,
    /// `@repair`.
    pub repair: Option<bool>,
    /// Unknown attributes.
    pub other_attributes: Vec<(String, String)>,
    /// Unknown children.
    pub other_children: Vec<RawNode>,
}

impl BackupComponents {
    /// Reads a BCD from saved bytes (encoding sniffed, docs/vss-restore.md §1.4).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ReadError> {
        let (text, _) = decode_document(bytes)?;
        Self::from_xml(&text)
    }

    /// Reads a BCD from text.
    pub fn from_xml(text: &str) -> Result<Self, ReadError> {
        Self::from_node(parse_tree(text, BCD_ROOT)?)
    }

    pub(crate) fn from_node(mut root: Node) -> Result<Self, ReadError> {
        if root.name != BCD_ROOT {
            return Err(ReadError::WrongRoot {
                position: root.pos,
                found: crate::error::clip(&root.name),
                expected: BCD_ROOT,
            });
        }
        let mut a = Attrs::of(&mut root);
        let mut doc = Self {
            xmlns: a.take("xmlns"),
            version: a.take("version"),
            bootable_system_state_backup: a.bool("bootableSystemStateBackup")?,
            select_components: a.bool("selectComponents")?,
            backup_type: a.take("backupType").map(|s| BackupType::from_xml(&s)),
            partial_file_support: a.bool("partialFileSupport")?,
            snapshot_set_id: a.guid("snapshotSetId")?,
            ..Self::default()
        };
        doc.other_attributes = a.rest();
        let (children, mut other) = split_children(&mut root);
        for child in children {
            if child.name == "WRITER_COMPONENTS" {
                doc.writers.push(read_writer(child)?);
            } else {
                keep(&mut other, child);
            }
        }
        doc.other_children = other;
        Ok(doc)
    }

    /// Every (writer, component) pair, in document order.
    pub fn components(&self) -> impl Iterator<Item = (&WriterComponents, &BcdComponent)> {
        self.writers
            .iter()
            .flat_map(|w| w.components.iter().map(move |c| (w, c)))
    }

    /// Writes the document as XML text.
    #[must_use]
    pub fn to_xml(&self, options: WriteOptions) -> String {
        let mut root = ElementWriter::new(BCD_ROOT);
        root.opt("xmlns", self.xmlns.clone())
            .opt("version", self.version.clone())
            .opt_bool(
                "bootableSystemStateBackup",
                self.bootable_system_state_backup,
            )
            .opt_bool("selectComponents", self.select_components)
            .opt(
                "backupType",
                self.backup_type.as_ref().map(|b| b.as_xml().to_owned()),
            )
            .opt_bool("partialFileSupport", self.partial_file_support)
            .opt("snapshotSetId", self.snapshot_set_id.map(|g| g.to_string()))
            .extra(&self.other_attributes);
        for w in &self.writers {
            let mut we = ElementWriter::new("WRITER_COMPONENTS");
            we.opt("instanceId", w.instance_id.map(|g| g.to_string()))
                .attr("writerId", w.writer_id.to_string())
                .opt("instanceName", w.instance_name.clone())
                .opt(
                    "backupSchema",
                    w.backup_schema.map(|b| b.bits().to_string()),
                )
                .extra(&w.other_attributes);
            for c in &w.components {
                we.child(write_component(c));
            }
            we.raw_children(&w.other_children);
            root.child(we);
        }
        root.raw_children(&self.other_children);
        finish(&root, options)
    }
}

fn write_component(c: &BcdComponent) -> ElementWriter {
    let mut e = ElementWriter::new("COMPONENT");
    e.opt("logicalPath", c.logical_path.clone())
        .attr("componentName", c.name.clone())
        .opt(
            "componentType",
            c.component_type.as_ref().map(|t| t.as_xml().to_owned()),
        )
        .opt("backupStamp", c.backup_stamp.clone())
        .extra(&c.other_attributes);
    if let Some(m) = &c.backup_metadata {
        let mut me = ElementWriter::new("BACKUP_METADATA");
        me.extra(&m.other_attributes)
            .opt("metadata", m.metadata.clone())
            .raw_children(&m.other_children);
        e.child(me);
    }
    if let Some(r) = &c.restore {
        let mut re = ElementWriter::new(RESTORE_STATE_ELEMENT);
        re.opt_bool("selectedForRestore", r.selected_for_restore)
            .opt_bool("additionalRestores", r.additional_restores)
            .opt("restoreOptions", r.restore_options.clone())
            .opt(
                "restoreTarget",
                r.restore_target.as_ref().map(|t| t.as_xml().to_owned()),
            )
            .opt(
                "fileRestoreStatus",
                r.file_restore_status
                    .as_ref()
                    .map(|t| t.as_xml().to_owned()),
            )
            .opt("preRestoreFailure", r.pre_restore_failure.clone())
            .opt("postRestoreFailure", r.post_restore_failure.clone())
            .extra(&r.other_attributes);
        for t in &r.new_targets {
            let mut x = ElementWriter::new("NEW_TARGET");
            x.attr("path", t.path.clone())
                .attr("filespec", t.filespec.clone())
                .opt_bool("recursive", t.recursive)
                .attr("alternatePath", t.alternate_path.clone())
                .extra(&t.other_attributes)
                .raw_children(&t.other_children);
            re.child(x);
        }
        for t in &r.directed_targets {
            let mut x = ElementWriter::new("DIRECTED_TARGET");
            x.attr("sourcePath", t.source_path.clone())
                .attr("sourceFilename", t.source_filename.clone())
                .attr("sourceRanges", t.source_ranges.clone())
                .attr("destinationPath", t.destination_path.clone())
                .attr("destinationFilename", t.destination_filename.clone())
                .attr("destinationRanges", t.destination_ranges.clone())
                .extra(&t.other_attributes)
                .raw_children(&t.other_children);
            re.child(x);
        }
        for p in &r.partial_files {
            let mut x = ElementWriter::new("PARTIAL_FILE");
            x.attr("path", p.path.clone())
                .attr("filename", p.filename.clone())
                .attr("ranges", p.ranges.clone())
                .opt("metadata", p.metadata.clone())
                .extra(&p.other_attributes)
                .raw_children(&p.other_children);
            re.child(x);
        }
        for m in &r.alternate_mappings_used {
            let mut x = ElementWriter::new("ALTERNATE_MAPPING_USED");
            x.attr("path", m.path.clone())
                .attr("filespec", m.filespec.clone())
                .opt_bool("recursive", m.recursive)
                .attr("destination", m.destination.clone())
                .extra(&m.other_attributes)
                .raw_children(&m.other_children);
            re.child(x);
        }
        for s in &r.subcomponents {
            let mut x = ElementWriter::new("RESTORE_SUBCOMPONENT");
            x.opt("logicalPath", s.logical_path.clone())
                .attr("componentName", s.component_name.clone())
                .opt_bool("repair", s.repair)
                .extra(&s.other_attributes)
                .raw_children(&s.other_children);
            re.child(x);
        }
        re.raw_children(&r.other_children);
        e.child(re);
    }
    e.raw_children(&c.other_children);
    e
}

fn read_writer(mut node: Node) -> Result<WriterComponents, ReadError> {
    let mut a = Attrs::of(&mut node);
    let instance_id = a.guid("instanceId")?;
    let writer_id = a.guid_required("writerId")?;
    let instance_name = a.take("instanceName");
    let backup_schema = a.u32("backupSchema")?.map(BackupSchema);
    let other_attributes = a.rest();
    let (children, mut other) = split_children(&mut node);
    let mut components = Vec::new();
    for child in children {
        if child.name == "COMPONENT" {
            components.push(read_component(child)?);
        } else {
            keep(&mut other, child);
        }
    }
    Ok(WriterComponents {
        instance_id,
        writer_id,
        instance_name,
        backup_schema,
        components,
        other_attributes,
        other_children: other,
    })
}

fn read_component(mut node: Node) -> Result<BcdComponent, ReadError> {
    let mut a = Attrs::of(&mut node);
    let logical_path = a.take("logicalPath");
    let name = a.required("componentName")?;
    let component_type = a.take("componentType").map(|s| ComponentType::from_xml(&s));
    let backup_stamp = a.take("backupStamp");
    let other_attributes = a.rest();
    let (children, mut other) = split_children(&mut node);
    let mut backup_metadata = None;
    let mut restore = None;
    for child in children {
        match child.name.as_str() {
            "BACKUP_METADATA" => {
                let pos_node = Node {
                    name: child.name.clone(),
                    pos: child.pos,
                    attrs: Vec::new(),
                    children: Vec::new(),
                };
                let m = read_metadata(child);
                once(&mut backup_metadata, m, &pos_node)?;
            }
            RESTORE_STATE_ELEMENT => {
                let pos_node = Node {
                    name: child.name.clone(),
                    pos: child.pos,
                    attrs: Vec::new(),
                    children: Vec::new(),
                };
                let r = read_restore_state(child)?;
                once(&mut restore, r, &pos_node)?;
            }
            _ => keep(&mut other, child),
        }
    }
    Ok(BcdComponent {
        logical_path,
        name,
        component_type,
        backup_stamp,
        backup_metadata,
        restore,
        other_attributes,
        other_children: other,
    })
}

fn read_metadata(mut node: Node) -> BackupMetadata {
    let mut a = Attrs::of(&mut node);
    let metadata = a.take("metadata");
    let other_attributes = a.rest();
    let (children, mut other) = split_children(&mut node);
    for c in children {
        keep(&mut other, c);
    }
    BackupMetadata {
        metadata,
        other_attributes,
        other_children: other,
    }
}

fn read_restore_state(mut node: Node) -> Result<RestoreState, ReadError> {
    let mut a = Attrs::of(&mut node);
    let mut r = RestoreState {
        selected_for_restore: a.bool("selectedForRestore")?,
        additional_restores: a.bool("additionalRestores")?,
        restore_options: a.take("restoreOptions"),
        restore_target: a.take("restoreTarget").map(|s| RestoreTarget::from_xml(&s)),
        file_restore_status: a
            .take("fileRestoreStatus")
            .map(|s| FileRestoreStatus::from_xml(&s)),
        pre_restore_failure: a.take("preRestoreFailure"),
        post_restore_failure: a.take("postRestoreFailure"),
        ..RestoreState::default()
    };
    r.other_attributes = a.rest();
    let (children, mut other) = split_children(&mut node);
    for mut child in children {
        match child.name.as_str() {
            "NEW_TARGET" => {
                let mut a = Attrs::of(&mut child);
                r.new_targets.push(NewTarget {
                    path: a.required("path")?,
                    filespec: a.required("filespec")?,
                    recursive: a.bool("recursive")?,
                    alternate_path: a.required("alternatePath")?,
                    other_attributes: a.rest(),
                    other_children: leftovers(child),
                });
            }
            "DIRECTED_TARGET" => {
                let mut a = Attrs::of(&mut child);
                r.directed_targets.push(DirectedTarget {
                    source_path: a.required("sourcePath")?,
                    source_filename: a.required("sourceFilename")?,
                    source_ranges: a.required("sourceRanges")?,
                    destination_path: a.required("destinationPath")?,
                    destination_filename: a.required("destinationFilename")?,
                    destination_ranges: a.required("destinationRanges")?,
                    other_attributes: a.rest(),
                    other_children: leftovers(child),
                });
            }
            "PARTIAL_FILE" => {
                let mut a = Attrs::of(&mut child);
                r.partial_files.push(PartialFile {
                    path: a.required("path")?,
                    filename: a.required("filename")?,
                    ranges: a.required("ranges")?,
                    metadata: a.take("metadata"),
                    other_attributes: a.rest(),
                    other_children: leftovers(child),
                });
            }
            "ALTERNATE_MAPPING_USED" => {
                let mut a = Attrs::of(&mut child);
                r.alternate_mappings_used.push(AlternateMappingUsed {
                    path: a.required("path")?,
                    filespec: a.required("filespec")?,
                    recursive: a.bool("recursive")?,
                    destination: a.required("destination")?,
                    other_attributes: a.rest(),
                    other_children: leftovers(child),
                });
            }
            "RESTORE_SUBCOMPONENT" => {
                let mut a = Attrs::of(&mut child);
                r.subcomponents.push(RestoreSubcomponent {
                    logical_path: a.take("logicalPath"),
                    component_name: a.required("componentName")?,
                    repair: a.bool("repair")?,
                    other_attributes: a.rest(),
                    other_children: leftovers(child),
                });
            }
            _ => keep(&mut other, child),
        }
    }
    r.other_children = other;
    Ok(r)
}
