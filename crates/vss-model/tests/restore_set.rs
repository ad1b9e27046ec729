//! Restore-set generation, table-driven (docs/vss-restore.md §3.2, §3.6, §3.7), on synthetic and real
//! documents.

mod common;

use vss_model::Guid;
use vss_model::bcd::BackupComponents;
use vss_model::restore_set::{
    CatalogEntry, Destination, Disposition, Environment, RestorePlan, RestoreSetError,
    RestoreSetInput, WriterProblem, generate, is_under, parse_catalog, split_path,
};
use vss_model::wmd::WriterMetadata;

const W_APP: &str = "11111111-1111-1111-1111-111111111111";
const I_APP: &str = "21111111-1111-1111-1111-111111111111";

/// A writer with a logical-path tree, mappings and a configurable method.
fn app_writer(method: Option<&str>, schema: u32, extra_locations: &str) -> String {
    let rm = method.map_or(String::new(), |m| {
        format!(r#"<RESTORE_METHOD method="{m}" writerRestore="always" rebootRequired="no"/>"#)
    });
    format!(
        r#"<WRITER_METADATA xmlns="x-schema:#VssWriterMetadataInfo" version="1.2" backupSchema="{schema}">
<IDENTIFICATION writerId="{W_APP}" instanceId="{{{I_APP}}}" friendlyName="App Writer" usage="USER_DATA" dataSource="TRANSACTION_DB" majorVersion="1" minorVersion="0"/>
{rm}
<BACKUP_LOCATIONS>
 <FILE_GROUP logicalPath="Server" componentName="Inst" selectable="yes" selectableForRestore="no" componentFlags="0">
   <FILE_LIST path="%AppRoot%\Inst\" filespec="*.cfg" recursive="no" filespecBackupType="3855"/>
 </FILE_GROUP>
 <DATABASE logicalPath="Server\Inst" componentName="db1" selectable="no" selectableForRestore="yes">
   <DATABASE_FILES path="%AppRoot%\Data\db1" filespec="db1.mdf" filespecBackupType="3855"/>
   <DATABASE_LOGFILES path="%AppRoot%\Data\db1\logs" filespec="edb*.log" recursive="yes"/>
 </DATABASE>
 <DATABASE logicalPath="Server\Inst" componentName="db2" selectable="no" selectableForRestore="no">
   <DATABASE_FILES path="%AppRoot%\Data\db2" filespec="*" recursive="yes"/>
 </DATABASE>
 <FILE_GROUP logicalPath="Server" componentName="Instx" selectable="yes">
   <FILE_LIST path="%AppRoot%\Instx" filespec="*.*" recursive="yes"/>
 </FILE_GROUP>
 <EXCLUDE_FILES path="%AppRoot%\Data" filespec="*.tmp" recursive="yes"/>
 {extra_locations}
</BACKUP_LOCATIONS></WRITER_METADATA>"#
    )
}

fn app_bcd(components: &str) -> String {
    format!(
        r#"<BACKUP_COMPONENTS xmlns="x-schema:#VssComponentMetadata" version="1.2" selectComponents="yes" backupType="full">
<WRITER_COMPONENTS instanceId="{I_APP}" writerId="{W_APP}" backupSchema="0">{components}</WRITER_COMPONENTS>
</BACKUP_COMPONENTS>"#
    )
}

const BOTH_SETS: &str = r#"<COMPONENT logicalPath="Server" componentName="Inst" componentType="filegroup"/><COMPONENT logicalPath="Server" componentName="Instx" componentType="filegroup"/>"#;

fn env() -> Environment {
    let mut e = Environment::new();
    e.set("AppRoot", r"D:\App");
    e
}

/// A compact description of a disposition, for tables.
fn describe(plan: &RestorePlan, d: &Disposition) -> String {
    match d {
        Disposition::Restore {
            component,
            destination,
            fallback,
            partial,
            ..
        } => {
            let mut s = format!("restore {}", plan.components[*component].component);
            match destination {
                Destination::Original => s.push_str(" original"),
                Destination::AlternateMapping(p) => {
                    s.push_str(" alt:");
                    s.push_str(p);
                }
                Destination::NewTarget(p) => {
                    s.push_str(" new:");
                    s.push_str(p);
                }
                Destination::Directed(d) => {
                    let (path, destination_ranges) = (&d.path, &d.destination_ranges);
                    s.push_str(" directed:");
                    s.push_str(path);
                    s.push('@');
                    s.push_str(destination_ranges);
                }
            }
            if let Some(f) = fallback {
                s.push_str(" fallback:");
                s.push_str(f);
            }
            if partial.is_some() {
                s.push_str(" partial");
            }
            s
        }
        Disposition::Traditional => "traditional".into(),
        Disposition::Excluded { exclusion } => {
            format!("excluded {}", plan.exclusions[*exclusion].writer)
        }
        Disposition::NotSelected { component, .. } => format!("not-selected {component}"),
        Disposition::WriterError { component } => {
            format!("error {}", plan.components[*component].component)
        }
    }
}

struct Case<'a> {
    wmds: Vec<String>,
    bcd: String,
    selection: &'a [&'a str],
    env: Environment,
    volumes: Vec<(Guid, String)>,
}

impl Case<'_> {
    fn run(&self, catalog: &[&str]) -> Result<(RestorePlan, Vec<String>), RestoreSetError> {
        let writers: Vec<WriterMetadata> = self
            .wmds
            .iter()
            .map(|w| WriterMetadata::from_xml(w).unwrap())
            .collect();
        let bcd = BackupComponents::from_xml(&self.bcd).unwrap();
        let selection: Vec<String> = self.selection.iter().map(|s| (*s).to_owned()).collect();
        let input = RestoreSetInput {
            writers: &writers,
            bcd: &bcd,
            selection: &selection,
            env: &self.env,
            volumes: &self.volumes,
        };
        let entries: Vec<CatalogEntry<'_>> = catalog
            .iter()
            .map(|p| CatalogEntry {
                path: p,
                short_name: None,
            })
            .collect();
        let plan = generate(&input, &entries)?;
        let d = plan.files.iter().map(|d| describe(&plan, d)).collect();
        Ok((plan, d))
    }

    fn check(&self, table: &[(&str, &str)]) -> RestorePlan {
        let catalog: Vec<&str> = table.iter().map(|(p, _)| *p).collect();
        let (plan, got) = self.run(&catalog).unwrap();
        for ((path, want), got) in table.iter().zip(&got) {
            assert_eq!(got, want, "{path}");
        }
        // Every file has a human-readable reason.
        assert!(plan.files.iter().all(|d| !plan.reason(d).is_empty()));
        plan
    }
}

fn app_case<'a>(
    method: &str,
    schema: u32,
    extra: &str,
    bcd_components: &str,
    selection: &'a [&'a str],
) -> Case<'a> {
    Case {
        wmds: vec![app_writer(Some(method), schema, extra)],
        bcd: app_bcd(bcd_components),
        selection,
        env: env(),
        volumes: Vec::new(),
    }
}

#[test]
fn recursion_wildcards_env_excludes_and_component_sets() {
    let case = app_case("RESTORE_IF_CAN_BE_REPLACED", 0, "", BOTH_SETS, &[]);
    case.check(&[
        // Non-recursive *.cfg, trailing backslash on the spec path, any case.
        (r"D:\App\Inst\main.cfg", r"restore Server\Inst original"),
        (r"d:\app\inst\MAIN.CFG", r"restore Server\Inst original"),
        (r"D:\App\Inst\sub\deep.cfg", "traditional"),
        (r"D:\App\Inst\main.cfg.bak", "traditional"),
        // db1: literal file, recursive edb*.log; member of Server\Inst's set.
        (
            r"D:\App\Data\db1\db1.mdf",
            r"restore Server\Inst\db1 original",
        ),
        (r"D:\App\Data\db1\db1.ldf", "traditional"),
        (
            r"D:\App\Data\db1\logs\edb0001.log",
            r"restore Server\Inst\db1 original",
        ),
        (
            r"D:\App\Data\db1\logs\2024\edb.log",
            r"restore Server\Inst\db1 original",
        ),
        (r"D:\App\Data\db1\logs\edb.chk", "traditional"),
        // db2: recursive *, exclusion *.tmp overrides.
        (
            r"D:\App\Data\db2\x\y\z.bin",
            r"restore Server\Inst\db2 original",
        ),
        (r"D:\App\Data\db2\scratch.tmp", "excluded App Writer"),
        // Exclusions also apply to files no component claims.
        (r"D:\App\Data\loose.tmp", "excluded App Writer"),
        // Server\Instx is its own set (not under Server\Inst: segment-aware), *.* matches
        // names without a dot.
        (r"D:\App\Instx\README", r"restore Server\Instx original"),
        (r"D:\App\Instx\a\b.c.d", r"restore Server\Instx original"),
        // Forward slashes and \\?\ prefixes are normalised.
        ("D:/App/Inst/x.cfg", r"restore Server\Inst original"),
        (r"\\?\D:\App\Inst\y.cfg", r"restore Server\Inst original"),
        (r"E:\App\Inst\main.cfg", "traditional"),
    ]);
}

#[test]
fn selection_of_sets_and_subcomponents() {
    let files: &[&str] = &[
        r"D:\App\Inst\main.cfg",
        r"D:\App\Data\db1\db1.mdf",
        r"D:\App\Data\db2\f",
        r"D:\App\Instx\a.b",
    ];
    let run = |sel: &[&str]| -> Vec<String> {
        let case = app_case("RESTORE_IF_CAN_BE_REPLACED", 0, "", BOTH_SETS, sel);
        case.run(files).unwrap().1
    };
    // A set selected by its logical path: db1 and db2 are in it, Instx is not.
    assert_eq!(
        run(&[r"Server\Inst"]),
        [
            r"restore Server\Inst original",
            r"restore Server\Inst\db1 original",
            r"restore Server\Inst\db2 original",
            r"not-selected Server\Instx",
        ]
    );
    // An ancestor path selects every backed-up component below it.
    assert_eq!(run(&["Server"])[3], r"restore Server\Instx original");
    // A subcomponent that is selectable for restore is restored alone.
    let sub = run(&[r"Server\Inst\db1"]);
    assert_eq!(sub[1], r"restore Server\Inst\db1 original");
    assert_eq!(sub[0], r"not-selected Server\Inst");
    assert_eq!(sub[2], r"not-selected Server\Inst\db2");
    // One that is not selectable for restore is a reported problem, not a guess.
    let case = app_case(
        "RESTORE_IF_CAN_BE_REPLACED",
        0,
        "",
        BOTH_SETS,
        &[r"Server\Inst\db2"],
    );
    let (plan, d) = case.run(files).unwrap();
    assert!(
        plan.components
            .iter()
            .any(|c| c.component == r"Server\Inst\db2"
                && c.problems == [WriterProblem::NotSelectableForRestore])
    );
    assert_eq!(d[2], r"not-selected Server\Inst\db2");
    // Nothing by that name.
    let case = app_case(
        "RESTORE_IF_CAN_BE_REPLACED",
        0,
        "",
        BOTH_SETS,
        &[r"Server\Ins"],
    );
    assert_eq!(
        case.run(files).unwrap_err(),
        RestoreSetError::SelectionNotFound {
            selection: r"Server\Ins".into()
        }
    );
    // Only Inst backed up: Instx files belong to a component not in the backup.
    let only = app_case(
        "RESTORE_IF_CAN_BE_REPLACED",
        0,
        "",
        r#"<COMPONENT logicalPath="Server" componentName="Inst" componentType="filegroup"/>"#,
        &[],
    );
    assert_eq!(only.run(files).unwrap().1[3], r"not-selected Server\Instx");
}

#[test]
fn segment_aware_ancestry() {
    assert!(is_under(r"a\b", "a"));
    assert!(is_under(r"A\B\c", r"a\b"));
    assert!(is_under("a", "a"));
    assert!(!is_under(r"a\bc", r"a\b"));
    assert!(!is_under(r"ab\c", "a"));
    assert!(is_under("anything", ""));
}

#[test]
fn environment_variables() {
    let mut e = Environment::new();
    e.set("SystemRoot", r"C:\Windows");
    assert_eq!(
        e.expand(r"%systemroot%\System32").unwrap(),
        r"C:\Windows\System32"
    );
    assert_eq!(e.expand(r"%SYSTEMROOT%\x").unwrap(), r"C:\Windows\x");
    assert_eq!(e.expand("100%% sure").unwrap(), "100% sure");
    assert_eq!(e.expand("50% off").unwrap(), "50% off");
    let err = e.expand(r"%ProgramData%\Microsoft").unwrap_err();
    assert_eq!(err.name, "ProgramData");
    // In generation the error names the variable and the writer.
    let mut case = app_case("RESTORE_IF_CAN_BE_REPLACED", 0, "", BOTH_SETS, &[]);
    case.env = Environment::new();
    let err = case.run(&[r"D:\x"]).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("%AppRoot%") && msg.contains("App Writer"),
        "{msg}"
    );
}

const MAPPINGS: &str = r#"<ALTERNATE_LOCATION_MAPPING path="%AppRoot%\Inst\" filespec="*.cfg" recursive="no" alternatePath="F:\Restored\Inst"/>
<ALTERNATE_LOCATION_MAPPING path="%AppRoot%\Data\db2" filespec="*" recursive="yes" alternatePath="F:\Restored\db2"/>"#;

#[test]
fn alternate_location_mappings() {
    let sel: &[&str] = &[r"Server\Inst"];
    // TO_ALTERNATE_LOCATION: mapped sets go to the mapping (subdirectories kept); db1 has no
    // mapping, which is a writer error for db1 only.
    let case = app_case("RESTORE_TO_ALTERNATE_LOCATION", 0, MAPPINGS, BOTH_SETS, sel);
    let plan = case.check(&[
        (
            r"D:\App\Inst\main.cfg",
            r"restore Server\Inst alt:F:\Restored\Inst\main.cfg",
        ),
        (
            r"D:\App\Data\db2\sub\f.dat",
            r"restore Server\Inst\db2 alt:F:\Restored\db2\sub\f.dat",
        ),
        (r"D:\App\Data\db1\db1.mdf", r"error Server\Inst\db1"),
    ]);
    let db1 = plan
        .components
        .iter()
        .find(|c| c.component == r"Server\Inst\db1")
        .unwrap();
    assert_eq!(db1.problems.len(), 2);
    assert!(
        matches!(&db1.problems[0], WriterProblem::NoAlternateMapping { filespec, .. } if filespec == "db1.mdf")
    );
    // IF_CAN_REPLACE: original, mapping offered as fallback.
    let case = app_case("RESTORE_IF_CAN_BE_REPLACED", 0, MAPPINGS, BOTH_SETS, sel);
    case.check(&[
        (
            r"D:\App\Inst\main.cfg",
            r"restore Server\Inst original fallback:F:\Restored\Inst\main.cfg",
        ),
        (
            r"D:\App\Data\db1\db1.mdf",
            r"restore Server\Inst\db1 original",
        ),
    ]);
    // IF_NOT_THERE likewise.
    let case = app_case("RESTORE_IF_NONE_THERE", 0, MAPPINGS, BOTH_SETS, sel);
    case.check(&[(
        r"D:\App\Data\db2\f",
        r"restore Server\Inst\db2 original fallback:F:\Restored\db2\f",
    )]);
    // REPLACE_AT_REBOOT: mappings are not used.
    let case = app_case("REPLACE_AT_REBOOT", 0, MAPPINGS, BOTH_SETS, sel);
    case.check(&[(r"D:\App\Inst\main.cfg", r"restore Server\Inst original")]);
}

fn with_state(state: &str) -> String {
    format!(
        r#"<COMPONENT logicalPath="Server" componentName="Inst" componentType="filegroup"><REHYDRATE_RESTORE_STATE {state}</REHYDRATE_RESTORE_STATE></COMPONENT><COMPONENT logicalPath="Server" componentName="Instx" componentType="filegroup"/>"#
    )
}

#[test]
fn restore_targets_from_the_restore_state() {
    let sel: &[&str] = &[r"Server\Inst"];
    // ALTERNATE target needs mappings for every file set.
    let case = app_case(
        "RESTORE_IF_CAN_BE_REPLACED",
        0,
        MAPPINGS,
        &with_state(r#"restoreTarget="ALTERNATE">"#),
        sel,
    );
    case.check(&[
        (
            r"D:\App\Inst\a.cfg",
            r"restore Server\Inst alt:F:\Restored\Inst\a.cfg",
        ),
        (r"D:\App\Data\db1\db1.mdf", r"error Server\Inst\db1"),
    ]);
    // ORIGINAL_LOCATION overrides TO_ALTERNATE_LOCATION.
    let case = app_case(
        "RESTORE_TO_ALTERNATE_LOCATION",
        0,
        "",
        &with_state(r#"restoreTarget="ORIGINAL_LOCATION">"#),
        sel,
    );
    case.check(&[(
        r"D:\App\Data\db1\db1.mdf",
        r"restore Server\Inst\db1 original",
    )]);
    // UNDEFINED target: writer error for the whole set.
    let case = app_case(
        "RESTORE_IF_CAN_BE_REPLACED",
        0,
        "",
        &with_state(r#"restoreTarget="UNDEFINED">"#),
        sel,
    );
    let plan = case.check(&[(r"D:\App\Inst\a.cfg", r"error Server\Inst")]);
    assert!(
        plan.components
            .iter()
            .all(|c| c.problems.contains(&WriterProblem::UndefinedTarget))
    );
    // DIRECTED: the named file is remapped with its ranges, others stay.
    let case = app_case(
        "RESTORE_IF_CAN_BE_REPLACED",
        0,
        "",
        &with_state(
            r#"restoreTarget="DIRECTED"><DIRECTED_TARGET sourcePath="D:\App\Data\db1" sourceFilename="DB1.MDF" sourceRanges="0:4096" destinationPath="G:\moved\" destinationFilename="db1-new.mdf" destinationRanges="0:4096"/>"#,
        ),
        sel,
    );
    case.check(&[
        (
            r"D:\App\Data\db1\db1.mdf",
            r"restore Server\Inst\db1 directed:G:\moved\db1-new.mdf@0:4096",
        ),
        (r"D:\App\Inst\a.cfg", r"restore Server\Inst original"),
    ]);
    let case = app_case(
        "RESTORE_IF_CAN_BE_REPLACED",
        0,
        "",
        &with_state(r#"restoreTarget="DIRECTED">"#),
        sel,
    );
    case.check(&[(r"D:\App\Inst\a.cfg", r"error Server\Inst")]);
    // Partial files: ranges attached; bad ranges are a writer error.
    let case = app_case(
        "RESTORE_IF_CAN_BE_REPLACED",
        0,
        "",
        &with_state(r#"><PARTIAL_FILE path="%AppRoot%\Data\db1" filename="db1.mdf" ranges="0x0:0x1000, 8192:4096"/>"#.replace("%AppRoot%", r"D:\App").as_str()),
        sel,
    );
    let plan = case.check(&[
        (
            r"D:\App\Data\db1\db1.mdf",
            r"restore Server\Inst\db1 original partial",
        ),
        (r"D:\App\Inst\a.cfg", r"restore Server\Inst original"),
    ]);
    assert!(
        matches!(&plan.files[0], Disposition::Restore { partial: Some(p), .. } if matches!(&**p, vss_model::ranges::PartialRanges::List(r) if r.len() == 2))
    );
    let case = app_case(
        "RESTORE_IF_CAN_BE_REPLACED",
        0,
        "",
        &with_state(
            r#"><PARTIAL_FILE path="D:\App\Data\db1" filename="db1.mdf" ranges="5:18446744073709551615"/>"#,
        ),
        sel,
    );
    case.check(&[(r"D:\App\Data\db1\db1.mdf", r"error Server\Inst\db1")]);
}

#[test]
fn new_targets() {
    let sel: &[&str] = &[r"Server\Inst"];
    let nt = r#"><NEW_TARGET path="%AppRoot%\Data\db2" filespec="*" recursive="yes" alternatePath="H:\NewHome"/>"#;
    // 0x100 = WRITER_SUPPORTS_NEW_TARGET.
    let case = app_case(
        "RESTORE_IF_CAN_BE_REPLACED",
        0x100,
        "",
        &with_state(nt),
        sel,
    );
    case.check(&[
        (
            r"D:\App\Data\db2\a\b.dat",
            r"restore Server\Inst\db2 new:H:\NewHome\a\b.dat",
        ),
        (
            r"D:\App\Data\db1\db1.mdf",
            r"restore Server\Inst\db1 original",
        ),
    ]);
    // Without the schema bit: writer error.
    let case = app_case("RESTORE_IF_CAN_BE_REPLACED", 0, "", &with_state(nt), sel);
    let plan = case.check(&[(r"D:\App\Data\db2\a\b.dat", r"error Server\Inst\db2")]);
    assert!(
        plan.components[0]
            .problems
            .contains(&WriterProblem::NewTargetNotSupported)
    );
    // A new target must name a file set exactly (path, filespec, recursive).
    let bad = r#"><NEW_TARGET path="%AppRoot%\Data\db2" filespec="*" recursive="no" alternatePath="H:\x"/>"#;
    let case = app_case(
        "RESTORE_IF_CAN_BE_REPLACED",
        0x100,
        "",
        &with_state(bad),
        sel,
    );
    let plan = case.check(&[(r"D:\App\Data\db2\f", r"error Server\Inst\db2")]);
    assert!(matches!(
        plan.components[0].problems[0],
        WriterProblem::NewTargetWithoutFileSet { .. }
    ));
}

#[test]
fn writer_errors_are_reported_per_component() {
    // No RESTORE_METHOD on a writer with components.
    let case = Case {
        wmds: vec![app_writer(None, 0, "")],
        bcd: app_bcd(BOTH_SETS),
        selection: &[],
        env: env(),
        volumes: Vec::new(),
    };
    let (plan, d) = case.run(&[r"D:\App\Inst\a.cfg", r"D:\other.txt"]).unwrap();
    assert_eq!(d, [r"error Server\Inst", "traditional"]);
    assert!(
        plan.components
            .iter()
            .all(|c| c.problems == [WriterProblem::UndefinedMethod])
    );
    // An unrecognised method is kept and reported.
    let case = app_case("RESTORE_SOMEHOW", 0, "", BOTH_SETS, &[]);
    let (plan, _) = case.run(&[r"D:\App\Inst\a.cfg"]).unwrap();
    assert_eq!(
        plan.components[0].problems,
        [WriterProblem::UnrecognisedMethod("RESTORE_SOMEHOW".into())]
    );
    // A BCD component the WMD lacks, and a BCD writer with no WMD.
    let bcd = format!(
        r#"<BACKUP_COMPONENTS><WRITER_COMPONENTS instanceId="{I_APP}" writerId="{W_APP}"><COMPONENT componentName="Ghost"/></WRITER_COMPONENTS><WRITER_COMPONENTS writerId="99999999-9999-9999-9999-999999999999"><COMPONENT componentName="Lost"/></WRITER_COMPONENTS></BACKUP_COMPONENTS>"#
    );
    let case = Case {
        wmds: vec![app_writer(Some("CUSTOM"), 0, "")],
        bcd,
        selection: &[],
        env: env(),
        volumes: Vec::new(),
    };
    let (plan, d) = case.run(&[r"D:\App\Inst\a.cfg"]).unwrap();
    assert_eq!(
        plan.components[0].problems,
        [WriterProblem::ComponentNotInMetadata]
    );
    assert_eq!(
        plan.components[1].problems,
        [WriterProblem::NoWriterMetadata]
    );
    assert_eq!(d, [r"not-selected Server\Inst"]);
}

/// A selection restricts the components whose writer has no metadata too: only a selected
/// one is reported (and fails), the others are not touched at all.
#[test]
fn selection_leaves_unselected_problem_components_alone() {
    let bcd = format!(
        r#"<BACKUP_COMPONENTS><WRITER_COMPONENTS instanceId="{I_APP}" writerId="{W_APP}"><COMPONENT logicalPath="Server" componentName="Inst"/></WRITER_COMPONENTS><WRITER_COMPONENTS writerId="99999999-9999-9999-9999-999999999999"><COMPONENT componentName="Lost"/></WRITER_COMPONENTS></BACKUP_COMPONENTS>"#
    );
    let case = |selection: &'static [&'static str]| Case {
        wmds: vec![app_writer(Some("RESTORE_IF_CAN_BE_REPLACED"), 0, "")],
        bcd: bcd.clone(),
        selection,
        env: env(),
        volumes: Vec::new(),
    };
    let (plan, _) = case(&[r"Server\Inst"])
        .run(&[r"D:\App\Inst\a.cfg"])
        .unwrap();
    assert!(
        plan.components
            .iter()
            .all(|c| !c.problems.contains(&WriterProblem::NoWriterMetadata)),
        "{:#?}",
        plan.components
    );
    let (plan, _) = case(&["Lost"]).run(&[r"D:\App\Inst\a.cfg"]).unwrap();
    assert_eq!(plan.components.len(), 1, "{:#?}", plan.components);
    assert_eq!(
        plan.components[0].problems,
        [WriterProblem::NoWriterMetadata]
    );
    let (plan, _) = case(&[]).run(&[r"D:\App\Inst\a.cfg"]).unwrap();
    assert!(
        plan.components
            .iter()
            .any(|c| c.problems.contains(&WriterProblem::NoWriterMetadata))
    );
}

/// A file set whose path, once expanded, climbs out of its folder or is a UNC path is a writer
/// error of its component (which then restores nothing and fails), never a silent no-op.
#[test]
fn file_sets_that_resolve_outside_a_local_volume_are_writer_errors() {
    for root in [r"D:\App\..\..\tmp", r"\\server\share\App", r"D:\App\.\x"] {
        let mut case = app_case("RESTORE_IF_CAN_BE_REPLACED", 0, "", BOTH_SETS, &[]);
        case.env = Environment::new();
        case.env.set("AppRoot", root);
        let (plan, _) = case.run(&[r"D:\App\Inst\a.cfg"]).unwrap();
        let bad: Vec<_> = plan
            .components
            .iter()
            .flat_map(|c| &c.problems)
            .filter(|p| matches!(p, WriterProblem::InvalidFileSetPath { .. }))
            .collect();
        assert!(!bad.is_empty(), "{root}: {:#?}", plan.components);
        assert!(
            bad[0].to_string().contains("not a path on a local volume"),
            "{}",
            bad[0]
        );
    }
    // The same writer with a sound root has no such problem.
    let (plan, _) = app_case("RESTORE_IF_CAN_BE_REPLACED", 0, "", BOTH_SETS, &[])
        .run(&[r"D:\App\Inst\a.cfg"])
        .unwrap();
    assert!(
        plan.components.iter().all(|c| c.problems.is_empty()),
        "{:#?}",
        plan.components
    );
}

/// A file set on a drive of which the catalog holds no file (a backup of one volume of a
/// component spanning two) is a writer error of its component, not a set that matched nothing.
#[test]
fn a_file_set_on_a_drive_the_catalog_lacks_is_a_writer_error() {
    let mut case = app_case("RESTORE_IF_CAN_BE_REPLACED", 0, "", BOTH_SETS, &[]);
    case.env = Environment::new();
    case.env.set("AppRoot", r"F:\App");
    let (plan, _) = case.run(&[r"D:\Other\x.cfg"]).unwrap();
    let absent: Vec<_> = plan
        .components
        .iter()
        .flat_map(|c| &c.problems)
        .filter(|p| matches!(p, WriterProblem::FileSetOnAbsentDrive { drive, .. } if drive == "F:"))
        .collect();
    assert!(!absent.is_empty(), "{:#?}", plan.components);
    assert!(
        absent[0]
            .to_string()
            .contains("is on drive F:, of which the backup being restored holds no file"),
        "{}",
        absent[0]
    );
}

#[test]
fn catalog_file_format_and_short_names() {
    let text = "# comment\r\nC:\\Data\\report.data\tREPORT~1.DAT\r\n\r\nC:\\Data\\b.dat\n";
    let cat = parse_catalog(text);
    assert_eq!(cat.len(), 2);
    assert_eq!(
        cat[0],
        CatalogEntry {
            path: r"C:\Data\report.data",
            short_name: Some("REPORT~1.DAT")
        }
    );
    assert_eq!(cat[1].short_name, None);
    // *.dat matches report.data through its short name (FindFirstFile semantics).
    let wmd = r#"<WRITER_METADATA><IDENTIFICATION writerId="31111111-1111-1111-1111-111111111111"/><RESTORE_METHOD method="RESTORE_IF_CAN_BE_REPLACED" writerRestore="never"/><BACKUP_LOCATIONS><FILE_GROUP componentName="D"><FILE_LIST path="C:\Data" filespec="*.dat"/></FILE_GROUP></BACKUP_LOCATIONS></WRITER_METADATA>"#;
    let bcd = r#"<BACKUP_COMPONENTS><WRITER_COMPONENTS writerId="31111111-1111-1111-1111-111111111111"><COMPONENT componentName="D"/></WRITER_COMPONENTS></BACKUP_COMPONENTS>"#;
    let writers = [WriterMetadata::from_xml(wmd).unwrap()];
    let bcd = BackupComponents::from_xml(bcd).unwrap();
    let env = Environment::new();
    let input = RestoreSetInput {
        writers: &writers,
        bcd: &bcd,
        selection: &[],
        env: &env,
        volumes: &[],
    };
    let plan = generate(&input, &cat).unwrap();
    assert!(
        plan.files
            .iter()
            .all(|d| matches!(d, Disposition::Restore { .. }))
    );
    // Without the short name, only the long name is tried.
    let long_only = [CatalogEntry {
        path: r"C:\Data\report.data",
        short_name: None,
    }];
    assert_eq!(
        generate(&input, &long_only).unwrap().files,
        [Disposition::Traditional]
    );
}

#[test]
fn path_splitting() {
    let s = split_path(r"\\?\Volume{C7463ABA-f40d-11e9-80c7-806e6f6e6963}\Boot\BCD");
    assert_eq!(s.volume, "volume{c7463aba-f40d-11e9-80c7-806e6f6e6963}");
    assert_eq!(s.segments, ["Boot", "BCD"]);
    let s = split_path(r"\System Volume Information\Heat\");
    assert_eq!((s.volume.as_str(), s.segments.len()), ("", 2));
    let s = split_path(r"C:\ProgramData\Microsoft\Network\Downloader\");
    assert_eq!((s.volume.as_str(), s.segments.len()), ("c:", 4));
    let s = split_path(r"\\server\Share\dir\f.txt");
    assert_eq!(
        (s.volume.as_str(), s.segments.as_slice()),
        (r"\\server\share", &["dir", "f.txt"][..])
    );
    let s = split_path(r"\\?\UNC\server\share\f");
    assert_eq!(s.volume, r"\\server\share");
}

// ---- real documents -------------------------------------------------------------------------

fn real_case(
    base: &std::path::Path,
    folder: &str,
    selection: &[String],
) -> (Vec<WriterMetadata>, BackupComponents) {
    let writers: Vec<WriterMetadata> = common::WMDS
        .iter()
        .filter(|(rel, _)| rel.contains(folder))
        .map(|(rel, _)| WriterMetadata::from_bytes(&common::read(base, rel)).unwrap())
        .collect();
    let bcd = BackupComponents::from_bytes(&common::read(
        base,
        &format!("kevingoode-vssbackup/{folder}/BCDocument.xml"),
    ))
    .unwrap();
    let _ = selection;
    (writers, bcd)
}

#[test]
fn real_backup_restore_set() {
    let base = common::realdata();
    let (writers, bcd) = real_case(&base, "with_sql", &[]);
    let env = Environment::windows_defaults("C:");
    // ASR's captions tell which volume GUID is C:.
    let volumes = vec![(
        "c7463abb-f40d-11e9-80c7-806e6f6e6963"
            .parse::<Guid>()
            .unwrap(),
        "C:".to_owned(),
    )];
    let table: &[(&str, &str)] = &[
        // Task Scheduler: %WinDir%\System32\Tasks, *, recursive.
        (
            r"C:\Windows\System32\Tasks\Microsoft\Windows\Defrag\ScheduledDefrag",
            "TasksStore",
        ),
        // VSS Metadata Store: *.xml recursive.
        (
            r"C:\Windows\Vss\Writers\Application\x.xml",
            "WriterMetadataStore",
        ),
        (r"C:\Windows\Vss\Writers\Application\x.txt", "traditional"),
        // Performance counters: Perfc???.dat, non-recursive.
        (r"C:\Windows\System32\PERFC009.DAT", "PerformanceCounters"),
        (r"C:\Windows\System32\perfc1.dat", "PerformanceCounters"),
        // ...non-recursive, and no System writer file set names it either.
        (r"C:\Windows\System32\en-US\perfc009.dat", "traditional"),
        // Registry: literal names; exclusions of the .LOG files.
        (r"C:\Windows\System32\config\SAM", "Registry"),
        (
            r"C:\Windows\System32\config\software.LOG",
            "excluded Registry Writer",
        ),
        // System writer: a literal FILE_LIST and a recursive %systemroot%\winsxs *.*.
        (
            r"C:\Program Files\Microsoft SQL Server\90\Shared\sqlwriter.exe",
            "Win32 Services Files",
        ),
        (r"C:\Windows\WinSxS\amd64_x\noextension", "System Files"),
        // WMI: REPLACE_AT_REBOOT, *.* recursive.
        (r"C:\Windows\System32\wbem\Repository\OBJECTS.DATA", "WMI"),
        // SQL writer component in this BCD.
        (
            r"C:\SQL_LOCAL_DBS\MSSQL14.MSSQLSERVER\MSSQL\DATA\local1.mdf",
            r"WIN2012-SQL17-2\local1",
        ),
        // SQL databases not in the BCD: claimed, not selected.
        (
            r"E:\MSSQL14.MSSQLSERVER\MSSQL\DATA\master.mdf",
            r"not-selected WIN2012-SQL17-2\master",
        ),
        // ASR's BCD component (volume GUID path) is not in this BCD: not selected, through
        // the volume map for the drive-letter form.
        (
            r"\\?\Volume{c7463aba-f40d-11e9-80c7-806e6f6e6963}\Boot\BCD",
            "not-selected BCD\\BCD",
        ),
        // BITS exclusion with a trailing backslash; volume-relative Heat exclusion on any volume.
        (
            r"C:\ProgramData\Microsoft\Network\Downloader\qmgr0.dat",
            "excluded BITS Writer",
        ),
        (
            r"C:\System Volume Information\Heat\x.y",
            "excluded Shadow Copy Optimization Writer",
        ),
        (
            r"F:\System Volume Information\Heat\deep\x",
            "excluded Shadow Copy Optimization Writer",
        ),
        (
            r"C:\Users\Administrator\AppData\Local\Microsoft\Outlook\a.ost",
            "excluded Shadow Copy Optimization Writer",
        ),
        (r"C:\Users\Administrator\Documents\notes.txt", "traditional"),
    ];
    let catalog: Vec<CatalogEntry<'_>> = table
        .iter()
        .map(|(p, _)| CatalogEntry {
            path: p,
            short_name: None,
        })
        .collect();
    let input = RestoreSetInput {
        writers: &writers,
        bcd: &bcd,
        selection: &[],
        env: &env,
        volumes: &volumes,
    };
    let plan = generate(&input, &catalog).unwrap();
    for ((path, want), d) in table.iter().zip(&plan.files) {
        let got = match d {
            Disposition::Restore {
                component,
                destination,
                ..
            } => {
                assert_eq!(destination, &Destination::Original, "{path}");
                plan.components[*component].component.clone()
            }
            other => describe(&plan, other),
        };
        assert_eq!(&got, want, "{path}");
    }
    // Every BCD component is found; none has problems (all have methods; NEVER writers are fine).
    assert_eq!(plan.components.len(), 9);
    assert!(
        plan.components.iter().all(|c| c.problems.is_empty()),
        "{:?}",
        plan.components
    );
    let sql = plan
        .components
        .iter()
        .find(|c| c.writer == "SqlServerWriter")
        .unwrap();
    assert_eq!(sql.method.as_xml(), "RESTORE_IF_CAN_BE_REPLACED");
    let wmi = plan
        .components
        .iter()
        .find(|c| c.writer == "WMI Writer")
        .unwrap();
    assert!(wmi.reboot_required);

    // Selecting ASR's BCD component by hand fails: it was not backed up.
    let sel = vec!["BCD\\BCD".to_owned()];
    let input = RestoreSetInput {
        selection: &sel,
        ..input
    };
    assert!(matches!(
        generate(&input, &catalog),
        Err(RestoreSetError::SelectionNotFound { .. })
    ));
    // Without the defaults, the real documents' variables are reported by name.
    let empty = Environment::new();
    let input = RestoreSetInput {
        selection: &[],
        env: &empty,
        ..input
    };
    let err = generate(&input, &catalog).unwrap_err();
    assert!(
        err.to_string().contains("unknown environment variable %"),
        "{err}"
    );
}
