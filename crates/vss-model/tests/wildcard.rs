//! FindFirstFile wildcard semantics (docs/vss-restore.md §3.6), table-driven.

use vss_model::wildcard::Pattern;

#[test]
fn wildcard_table() {
    let table: &[(&str, &str, bool)] = &[
        ("*", "anything.txt", true),
        ("*", "noext", true),
        ("*.*", "noext", true),
        ("*.*", "a.b.c", true),
        ("*.xml", "Writer1.XML", true),
        ("*.xml", "writer1.xml.bak", false),
        ("*.xml", "xml", false),
        ("*.ost", "outlook.ost", true),
        ("Perfc???.dat", "PERFC009.DAT", true),
        ("Perfc???.dat", "perfc00a.dat", true),
        ("Perfc???.dat", "perfc1.dat", true), // DOS_QM: fewer characters before the dot
        ("Perfc???.dat", "perfc.dat", true),
        ("Perfc???.dat", "perfc0001.dat", false),
        ("Perfc???.dat", "perfd009.dat", false),
        ("Prfc????.dat", "prfc0009.dat", true),
        ("edb*.log", "edb.log", true),
        ("edb*.log", "edb00001.log", true),
        ("edb*.log", "EDBres00001.jrs", false),
        ("edb*.log", "edbtmp.log.old", false),
        ("edb.chk", "EDB.CHK", true),
        ("edb.chk", "edb.chk2", false),
        ("edb.*", "edb", true), // DOS_DOT matches the end of the name
        ("edb.*", "edb.chk", true),
        ("a?c", "abc", true),
        ("a?c", "a.c", false), // ? never consumes a dot
        ("a?c", "ac", false),
        ("*.", "README", true), // names without a dot
        ("*.", "readme.txt", false),
        ("default", "DEFAULT", true),
        ("default", "default.LOG", false),
        ("SAM", "sam", true),
        ("schema.dat", "Schema.DAT", true),
        (
            "classic_{12bbbd91-8e16-4c3f-9715-16e5c8299244}.settingcontent-ms",
            "Classic_{12BBBD91-8E16-4C3F-9715-16E5C8299244}.SettingContent-ms",
            true,
        ),
        (
            "hpe security policy tool 32.exe",
            "HPE Security Policy Tool 32.exe",
            true,
        ),
        ("*", "", false),
    ];
    for (pat, name, want) in table {
        assert_eq!(
            Pattern::new(pat).matches(name),
            *want,
            "{pat:?} vs {name:?}"
        );
    }
}

#[test]
fn literal_specs_are_recognised_for_indexing() {
    assert_eq!(Pattern::new("SAM").literal(), Some("sam"));
    assert_eq!(Pattern::new("*.xml").literal(), None);
    assert_eq!(Pattern::new("Perfc???.dat").literal(), None);
}
