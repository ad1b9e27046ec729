//! Writer Metadata Document (WMD): model, reader, writer (docs/vss-restore.md §1.2).
//!
//! Element and attribute names come from the real documents in `fixtures/vss` unless
//! marked *ours*: those (`ALTERNATE_LOCATION_MAPPING`, `COMPONENT_DEPENDENCY`, the `service`
//! attribute of `RESTORE_METHOD`) are not attested in any public document and are this crate's
//! own spelling (docs/vss-restore.md §1.2 "Not seen in any public real document").

use serde::Serialize;

use crate::attrs::{Attrs, keep, leftovers, once, split_children};
use crate::encoding::decode_document;
use crate::enums::{DataSource, RestoreMethod, Usage, WriterRestore};
use crate::error::ReadError;
use crate::flags::{BackupSchema, ComponentFlags, FileSpecBackupType};
use crate::guid::Guid;
use crate::xml::{ElementWriter, Node, RawNode, parse_tree};

/// Root element name of a WMD.
pub const WMD_ROOT: &str = "WRITER_METADATA";
/// The default namespace real WMDs declare (docs/vss-restore.md §1.1).
pub const WMD_NAMESPACE: &str = "x-schema:#VssWriterMetadataInfo";

/// A Writer Metadata Document (`WRITER_METADATA`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct WriterMetadata {
    /// `@xmlns` (real documents: `x-schema:#VssWriterMetadataInfo`).
    pub xmlns: Option<String>,
    /// `@version` (real documents: `1.2`).
    pub version: Option<String>,
    /// `@backupSchema`, decoded (SQL writer: 881).
    pub backup_schema: Option<BackupSchema>,
    /// `IDENTIFICATION`. Optional only so that published fragments can be read; every real
    /// WMD has it.
    pub identification: Option<Identification>,
    /// `RESTORE_METHOD`; absent in writers that only exclude files (docs/vss-restore.md §1.2).
    pub restore_method: Option<RestoreMethodSpec>,
    /// `FILE_GROUP` and `DATABASE` components of `BACKUP_LOCATIONS`, in document order.
    pub components: Vec<Component>,
    /// `EXCLUDE_FILES` of `BACKUP_LOCATIONS`.
    pub excludes: Vec<FileSpec>,
    /// `EXCLUDE_FILES_FROM_SNAPSHOT` of `BACKUP_LOCATIONS`.
    pub excludes_from_snapshot: Vec<FileSpec>,
    /// *Ours*: `ALTERNATE_LOCATION_MAPPING` of `BACKUP_LOCATIONS` (writer-level mappings).
    pub alternate_mappings: Vec<AlternateMapping>,
    /// Unknown attributes of `BACKUP_LOCATIONS`.
    pub locations_other_attributes: Vec<(String, String)>,
    /// Unknown children of `BACKUP_LOCATIONS`.
    pub locations_other_children: Vec<RawNode>,
    /// Unknown attributes of the root.
    pub other_attributes: Vec<(String, String)>,
    /// Unknown children of the root.
    pub other_children: Vec<RawNode>,
}

/// `IDENTIFICATION`: who the writer is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identification {
    /// `@writerId` (writer class).
    pub writer_id: Guid,
    /// `@instanceId` (matches `WRITER_COMPONENTS/@instanceId` in the BCD).
    pub instance_id: Option<Guid>,
    /// `@instanceName` (SQL writer: `Microsoft SQL Server 2017:SQLWriter`).
    pub instance_name: Option<String>,
    /// `@friendlyName`.
    pub friendly_name: Option<String>,
    /// `@usage`.
    pub usage: Option<Usage>,
    /// `@dataSource`.
    pub data_source: Option<DataSource>,
    /// `@majorVersion`.
    pub major_version: Option<u32>,
    /// `@minorVersion`.
    pub minor_version: Option<u32>,
    /// Unknown attributes.
    pub other_attributes: Vec<(String, String)>,
    /// Unknown children.
    pub other_children: Vec<RawNode>,
}

/// `RESTORE_METHOD`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreMethodSpec {
    /// `@method`.
    pub method: RestoreMethod,
    /// *Ours*: `@service`, the service to stop for STOP_RESTART_SERVICE / RESTORE_STOP_START.
    pub service: Option<String>,
    /// `@writerRestore`.
    pub writer_restore: WriterRestore,
    /// `@rebootRequired`.
    pub reboot_required: Option<bool>,
    /// Unknown attributes.
    pub other_attributes: Vec<(String, String)>,
    /// Unknown children.
    pub other_children: Vec<RawNode>,
}

/// Which element a component was written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ComponentKind {
    /// `FILE_GROUP`.
    FileGroup,
    /// `DATABASE`.
    Database,
}

impl ComponentKind {
    /// The element name.
    #[must_use]
    pub fn element(self) -> &'static str {
        match self {
            Self::FileGroup => "FILE_GROUP",
            Self::Database => "DATABASE",
        }
    }
}

/// A component (`FILE_GROUP` or `DATABASE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Component {
    /// Element kind.
    pub kind: ComponentKind,
    /// `@logicalPath` (absent = top level).
    pub logical_path: Option<String>,
    /// `@componentName`.
    pub name: String,
    /// `@caption` (may contain literal line breaks, e.g. the ASR writer's).
    pub caption: Option<String>,
    /// `@restoreMetadata`.
    pub restore_metadata: Option<bool>,
    /// `@notifyOnBackupComplete`.
    pub notify_on_backup_complete: Option<bool>,
    /// `@selectable` (selectable for backup).
    pub selectable: Option<bool>,
    /// `@selectableForRestore`.
    pub selectable_for_restore: Option<bool>,
    /// `@componentFlags`, decoded.
    pub flags: Option<ComponentFlags>,
    /// `FILE_LIST` / `DATABASE_FILES` / `DATABASE_LOGFILES` children.
    pub file_sets: Vec<FileSet>,
    /// *Ours*: `COMPONENT_DEPENDENCY` children.
    pub dependencies: Vec<Dependency>,
    /// Unknown attributes.
    pub other_attributes: Vec<(String, String)>,
    /// Unknown children.
    pub other_children: Vec<RawNode>,
}

impl Component {
    /// The component's full logical path: `logicalPath\componentName`, or the name alone at top
    /// level (docs/vss-restore.md §3.7).
    #[must_use]
    pub fn full_path(&self) -> String {
        full_path(self.logical_path.as_deref(), &self.name)
    }

    /// `selectable`, absent meaning no.
    #[must_use]
    pub fn is_selectable(&self) -> bool {
        self.selectable.unwrap_or(false)
    }

    /// `selectableForRestore`, absent meaning no (docs/vss-restore.md §3.7: default false).
    #[must_use]
    pub fn is_selectable_for_restore(&self) -> bool {
        self.selectable_for_restore.unwrap_or(false)
    }
}

/// `logicalPath\name`, or `name` when the logical path is absent or empty.
#[must_use]
pub fn full_path(logical_path: Option<&str>, name: &str) -> String {
    match logical_path {
        Some(lp) if !lp.is_empty() => format!("{}\\{}", lp.trim_end_matches('\\'), name),
        _ => name.to_owned(),
    }
}

/// Which element a file set was written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum FileSetKind {
    /// `FILE_LIST` (in a `FILE_GROUP`).
    FileList,
    /// `DATABASE_FILES` (in a `DATABASE`).
    DatabaseFiles,
    /// `DATABASE_LOGFILES` (in a `DATABASE`).
    DatabaseLogFiles,
}

impl FileSetKind {
    /// The element name.
    #[must_use]
    pub fn element(self) -> &'static str {
        match self {
            Self::FileList => "FILE_LIST",
            Self::DatabaseFiles => "DATABASE_FILES",
            Self::DatabaseLogFiles => "DATABASE_LOGFILES",
        }
    }
}

/// A file set of a component: path, filespec, recursive, backup type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileSet {
    /// Element kind.
    pub kind: FileSetKind,
    /// `@path` (may hold `%VARIABLES%`, a trailing backslash, a volume GUID path, or be
    /// volume-relative).
    pub path: String,
    /// `@filespec` (wildcards `*`, `?`).
    pub filespec: String,
    /// `@recursive`; absent means no (docs/vss-restore.md §1.2).
    pub recursive: Option<bool>,
    /// `@filespecBackupType`, decoded.
    pub backup_type: Option<FileSpecBackupType>,
    /// Unknown attributes (an `alternatePath`, whose name is unverified, lands here).
    pub other_attributes: Vec<(String, String)>,
    /// Unknown children.
    pub other_children: Vec<RawNode>,
}

impl FileSet {
    /// `recursive`, absent meaning no.
    #[must_use]
    pub fn is_recursive(&self) -> bool {
        self.recursive.unwrap_or(false)
    }
}

/// An exclusion (`EXCLUDE_FILES` / `EXCLUDE_FILES_FROM_SNAPSHOT`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileSpec {
    /// `@path`.
    pub path: String,
    /// `@filespec`.
    pub filespec: String,
    /// `@recursive`; absent means no.
    pub recursive: Option<bool>,
    /// Unknown attributes.
    pub other_attributes: Vec<(String, String)>,
    /// Unknown children.
    pub other_children: Vec<RawNode>,
}

impl FileSpec {
    /// `recursive`, absent meaning no.
    #[must_use]
    pub fn is_recursive(&self) -> bool {
        self.recursive.unwrap_or(false)
    }
}

/// *Ours*: a writer-level alternate location mapping (`ALTERNATE_LOCATION_MAPPING`), keyed by
/// an exact (path, filespec, recursive) match to a component file set (docs/vss-restore.md §3.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlternateMapping {
    /// `@path` of the file set it maps.
    pub path: String,
    /// `@filespec` of the file set it maps.
    pub filespec: String,
    /// `@recursive` of the file set it maps.
    pub recursive: Option<bool>,
    /// `@alternatePath`: where the files go instead.
    pub alternate_path: String,
    /// Unknown attributes.
    pub other_attributes: Vec<(String, String)>,
    /// Unknown children.
    pub other_children: Vec<RawNode>,
}

/// *Ours*: a component dependency (`COMPONENT_DEPENDENCY`, IVssWMDependency) [D-DEP].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dependency {
    /// `@writerId` of the writer owning the other component.
    pub writer_id: Guid,
    /// `@logicalPath` of the other component.
    pub logical_path: Option<String>,
    /// `@componentName` of the other component.
    pub component_name: String,
    /// Unknown attributes.
    pub other_attributes: Vec<(String, String)>,
    /// Unknown children.
    pub other_children: Vec<RawNode>,
}

/// Options for writing a document.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteOptions {
    /// Emit `<?xml version="1.0" encoding="UTF-8"?>` first.
    pub declaration: bool,
    /// Indent with two spaces (otherwise one line, as `SaveAsXML` produces).
    pub indent: bool,
}

pub(crate) fn finish(root: &ElementWriter, options: WriteOptions) -> String {
    let mut out = String::new();
    if options.declaration {
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
        out.push(if options.indent { '\n' } else { ' ' });
    }
    root.write(&mut out, options.indent.then_some(0));
    out
}

impl WriterMetadata {
    /// Reads a WMD from saved bytes (encoding sniffed, docs/vss-restore.md §1.4).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ReadError> {
        let (text, _) = decode_document(bytes)?;
        Self::from_xml(&text)
    }

    /// Reads a WMD from text.
    pub fn from_xml(text: &str) -> Result<Self, ReadError> {
        let root = parse_tree(text, WMD_ROOT)?;
        Self::from_node(root)
    }

    pub(crate) fn from_node(mut root: Node) -> Result<Self, ReadError> {
        if root.name != WMD_ROOT {
            return Err(ReadError::WrongRoot {
                position: root.pos,
                found: crate::error::clip(&root.name),
                expected: WMD_ROOT,
            });
        }
        let mut a = Attrs::of(&mut root);
        let mut doc = Self {
            xmlns: a.take("xmlns"),
            version: a.take("version"),
            backup_schema: a.u32("backupSchema")?.map(BackupSchema),
            ..Self::default()
        };
        doc.other_attributes = a.rest();
        let (children, mut other) = split_children(&mut root);
        let mut locations_seen = false;
        for child in children {
            match child.name.as_str() {
                "IDENTIFICATION" => {
                    let id = read_identification(child.clone())?;
                    once(&mut doc.identification, id, &child)?;
                }
                "RESTORE_METHOD" => {
                    let rm = read_restore_method(child.clone())?;
                    once(&mut doc.restore_method, rm, &child)?;
                }
                "BACKUP_LOCATIONS" => {
                    if locations_seen {
                        return Err(ReadError::Duplicate {
                            position: child.pos,
                            element: child.name,
                        });
                    }
                    locations_seen = true;
                    read_locations(child, &mut doc)?;
                }
                _ => keep(&mut other, child),
            }
        }
        doc.other_children = other;
        Ok(doc)
    }

    /// The writer's friendly name, or its writer id when it has none.
    #[must_use]
    pub fn display_name(&self) -> String {
        match &self.identification {
            Some(Identification {
                friendly_name: Some(n),
                ..
            }) => n.clone(),
            Some(id) => id.writer_id.to_string(),
            None => "(unidentified writer)".to_owned(),
        }
    }

    /// The restore method, [`RestoreMethod::Undefined`] when `RESTORE_METHOD` is absent.
    #[must_use]
    pub fn method(&self) -> RestoreMethod {
        self.restore_method
            .as_ref()
            .map_or(RestoreMethod::Undefined, |r| r.method.clone())
    }

    /// Every file set of every component.
    pub fn file_sets(&self) -> impl Iterator<Item = (&Component, &FileSet)> {
        self.components
            .iter()
            .flat_map(|c| c.file_sets.iter().map(move |f| (c, f)))
    }

    /// Writes the document as XML text.
    #[must_use]
    pub fn to_xml(&self, options: WriteOptions) -> String {
        finish(&self.to_writer(), options)
    }

    fn to_writer(&self) -> ElementWriter {
        let mut root = ElementWriter::new(WMD_ROOT);
        root.opt("xmlns", self.xmlns.clone())
            .opt("version", self.version.clone())
            .opt(
                "backupSchema",
                self.backup_schema.map(|b| b.bits().to_string()),
            )
            .extra(&self.other_attributes);
        if let Some(id) = &self.identification {
            let mut e = ElementWriter::new("IDENTIFICATION");
            e.attr("writerId", id.writer_id.to_string())
                .opt("instanceId", id.instance_id.map(|g| g.to_string()))
                .opt("instanceName", id.instance_name.clone())
                .opt("friendlyName", id.friendly_name.clone())
                .opt("usage", id.usage.as_ref().map(|u| u.as_xml().to_owned()))
                .opt(
                    "dataSource",
                    id.data_source.as_ref().map(|d| d.as_xml().to_owned()),
                )
                .opt("majorVersion", id.major_version.map(|v| v.to_string()))
                .opt("minorVersion", id.minor_version.map(|v| v.to_string()))
                .extra(&id.other_attributes)
                .raw_children(&id.other_children);
            root.child(e);
        }
        if let Some(rm) = &self.restore_method {
            let mut e = ElementWriter::new("RESTORE_METHOD");
            e.attr("method", rm.method.as_xml())
                .opt("service", rm.service.clone())
                .attr("writerRestore", rm.writer_restore.as_xml())
                .opt_bool("rebootRequired", rm.reboot_required)
                .extra(&rm.other_attributes)
                .raw_children(&rm.other_children);
            root.child(e);
        }
        let mut loc = ElementWriter::new("BACKUP_LOCATIONS");
        loc.extra(&self.locations_other_attributes);
        for c in &self.components {
            let mut e = ElementWriter::new(c.kind.element());
            e.opt("logicalPath", c.logical_path.clone())
                .attr("componentName", c.name.clone())
                .opt("caption", c.caption.clone())
                .opt_bool("restoreMetadata", c.restore_metadata)
                .opt_bool("notifyOnBackupComplete", c.notify_on_backup_complete)
                .opt_bool("selectable", c.selectable)
                .opt_bool("selectableForRestore", c.selectable_for_restore)
                .opt("componentFlags", c.flags.map(|f| f.bits().to_string()))
                .extra(&c.other_attributes);
            for f in &c.file_sets {
                let mut fe = ElementWriter::new(f.kind.element());
                fe.attr("path", f.path.clone())
                    .attr("filespec", f.filespec.clone())
                    .opt_bool("recursive", f.recursive)
                    .opt(
                        "filespecBackupType",
                        f.backup_type.map(|b| b.bits().to_string()),
                    )
                    .extra(&f.other_attributes)
                    .raw_children(&f.other_children);
                e.child(fe);
            }
            for d in &c.dependencies {
                let mut de = ElementWriter::new("COMPONENT_DEPENDENCY");
                de.attr("writerId", d.writer_id.to_string())
                    .opt("logicalPath", d.logical_path.clone())
                    .attr("componentName", d.component_name.clone())
                    .extra(&d.other_attributes)
                    .raw_children(&d.other_children);
                e.child(de);
            }
            e.raw_children(&c.other_children);
            loc.child(e);
        }
        for (name, list) in [
            ("EXCLUDE_FILES", &self.excludes),
            ("EXCLUDE_FILES_FROM_SNAPSHOT", &self.excludes_from_snapshot),
        ] {
            for x in list {
                let mut e = ElementWriter::new(name);
                e.attr("path", x.path.clone())
                    .attr("filespec", x.filespec.clone())
                    .opt_bool("recursive", x.recursive)
                    .extra(&x.other_attributes)
                    .raw_children(&x.other_children);
                loc.child(e);
            }
        }
        for m in &self.alternate_mappings {
            let mut e = ElementWriter::new("ALTERNATE_LOCATION_MAPPING");
            e.attr("path", m.path.clone())
                .attr("filespec", m.filespec.clone())
                .opt_bool("recursive", m.recursive)
                .attr("alternatePath", m.alternate_path.clone())
                .extra(&m.other_attributes)
                .raw_children(&m.other_children);
            loc.child(e);
        }
        loc.raw_children(&self.locations_other_children);
        root.child(loc);
        root.raw_children(&self.other_children);
        root
    }
}

fn read_identification(mut node: Node) -> Result<Identification, ReadError> {
    let mut a = Attrs::of(&mut node);
    let writer_id = a.guid_required("writerId")?;
    let instance_id = a.guid("instanceId")?;
    let instance_name = a.take("instanceName");
    let friendly_name = a.take("friendlyName");
    let usage = a.take("usage").map(|s| Usage::from_xml(&s));
    let data_source = a.take("dataSource").map(|s| DataSource::from_xml(&s));
    let major_version = a.u32("majorVersion")?;
    let minor_version = a.u32("minorVersion")?;
    let other_attributes = a.rest();
    let (children, mut other) = split_children(&mut node);
    for c in children {
        keep(&mut other, c);
    }
    Ok(Identification {
        writer_id,
        instance_id,
        instance_name,
        friendly_name,
        usage,
        data_source,
        major_version,
        minor_version,
        other_attributes,
        other_children: other,
    })
}

fn read_restore_method(mut node: Node) -> Result<RestoreMethodSpec, ReadError> {
    let mut a = Attrs::of(&mut node);
    let method = RestoreMethod::from_xml(&a.required("method")?);
    let service = a.take("service");
    let writer_restore = WriterRestore::from_xml(&a.required("writerRestore")?);
    let reboot_required = a.bool("rebootRequired")?;
    let other_attributes = a.rest();
    let (children, mut other) = split_children(&mut node);
    for c in children {
        keep(&mut other, c);
    }
    Ok(RestoreMethodSpec {
        method,
        service,
        writer_restore,
        reboot_required,
        other_attributes,
        other_children: other,
    })
}

fn read_locations(mut node: Node, doc: &mut WriterMetadata) -> Result<(), ReadError> {
    doc.locations_other_attributes = std::mem::take(&mut node.attrs);
    let (children, mut other) = split_children(&mut node);
    for child in children {
        match child.name.as_str() {
            "FILE_GROUP" => doc
                .components
                .push(read_component(child, ComponentKind::FileGroup)?),
            "DATABASE" => doc
                .components
                .push(read_component(child, ComponentKind::Database)?),
            "EXCLUDE_FILES" => doc.excludes.push(read_filespec(child)?),
            "EXCLUDE_FILES_FROM_SNAPSHOT" => doc.excludes_from_snapshot.push(read_filespec(child)?),
            "ALTERNATE_LOCATION_MAPPING" => doc.alternate_mappings.push(read_mapping(child)?),
            _ => keep(&mut other, child),
        }
    }
    doc.locations_other_children = other;
    Ok(())
}

fn read_component(mut node: Node, kind: ComponentKind) -> Result<Component, ReadError> {
    let mut a = Attrs::of(&mut node);
    let logical_path = a.take("logicalPath");
    let name = a.required("componentName")?;
    let caption = a.take("caption");
    let restore_metadata = a.bool("restoreMetadata")?;
    let notify_on_backup_complete = a.bool("notifyOnBackupComplete")?;
    let selectable = a.bool("selectable")?;
    let selectable_for_restore = a.bool("selectableForRestore")?;
    let flags = a.u32("componentFlags")?.map(ComponentFlags);
    let other_attributes = a.rest();
    let (children, mut other) = split_children(&mut node);
    let mut file_sets = Vec::new();
    let mut dependencies = Vec::new();
    for child in children {
        let set_kind = match child.name.as_str() {
            "FILE_LIST" => Some(FileSetKind::FileList),
            "DATABASE_FILES" => Some(FileSetKind::DatabaseFiles),
            "DATABASE_LOGFILES" => Some(FileSetKind::DatabaseLogFiles),
            _ => None,
        };
        if let Some(k) = set_kind {
            file_sets.push(read_file_set(child, k)?);
        } else if child.name == "COMPONENT_DEPENDENCY" {
            dependencies.push(read_dependency(child)?);
        } else {
            keep(&mut other, child);
        }
    }
    Ok(Component {
        kind,
        logical_path,
        name,
        caption,
        restore_metadata,
        notify_on_backup_complete,
        selectable,
        selectable_for_restore,
        flags,
        file_sets,
        dependencies,
        other_attributes,
        other_children: other,
    })
}

fn read_file_set(mut node: Node, kind: FileSetKind) -> Result<FileSet, ReadError> {
    let mut a = Attrs::of(&mut node);
    let path = a.required("path")?;
    let filespec = a.required("filespec")?;
    let recursive = a.bool("recursive")?;
    let backup_type = a.u32("filespecBackupType")?.map(FileSpecBackupType);
    Ok(FileSet {
        kind,
        path,
        filespec,
        recursive,
        backup_type,
        other_attributes: a.rest(),
        other_children: leftovers(node),
    })
}

fn read_filespec(mut node: Node) -> Result<FileSpec, ReadError> {
    let mut a = Attrs::of(&mut node);
    let path = a.required("path")?;
    let filespec = a.required("filespec")?;
    let recursive = a.bool("recursive")?;
    Ok(FileSpec {
        path,
        filespec,
        recursive,
        other_attributes: a.rest(),
        other_children: leftovers(node),
    })
}

fn read_mapping(mut node: Node) -> Result<AlternateMapping, ReadError> {
    let mut a = Attrs::of(&mut node);
    let path = a.required("path")?;
    let filespec = a.required("filespec")?;
    let recursive = a.bool("recursive")?;
    let alternate_path = a.required("alternatePath")?;
    Ok(AlternateMapping {
        path,
        filespec,
        recursive,
        alternate_path,
        other_attributes: a.rest(),
        other_children: leftovers(node),
    })
}

fn read_dependency(mut node: Node) -> Result<Dependency, ReadError> {
    let mut a = Attrs::of(&mut node);
    let writer_id = a.guid_required("writerId")?;
    let logical_path = a.take("logicalPath");
    let component_name = a.required("componentName")?;
    Ok(Dependency {
        writer_id,
        logical_path,
        component_name,
        other_attributes: a.rest(),
        other_children: leftovers(node),
    })
}
