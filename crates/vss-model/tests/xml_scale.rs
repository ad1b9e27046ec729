//! Documents of hostile size parse in time linear in their size: an element with 200,000
//! attributes (34 s when duplicate names were checked pairwise) and one with 1,000,000 in the
//! `xml_scale` bench. Duplicate attribute names are still refused.

use std::fmt::Write as _;
use vss_model::wmd::WriterMetadata;

/// A valid WMD whose root element carries `n` extra attributes.
fn wmd_with_attributes(n: usize) -> String {
    let mut extra = String::with_capacity(n * 16);
    for i in 0..n {
        let _ = write!(extra, " x{i}=\"{i}\"");
    }
    format!(
        r#"<WRITER_METADATA xmlns="x-schema:#VssWriterMetadataInfo" version="1.2"{extra}><IDENTIFICATION writerId="31111111-1111-1111-1111-111111111111" instanceId="41111111-1111-1111-1111-111111111111" friendlyName="W"/><RESTORE_METHOD method="RESTORE_IF_CAN_BE_REPLACED" writerRestore="never"/><BACKUP_LOCATIONS/></WRITER_METADATA>"#
    )
}

#[test]
fn an_element_with_200000_attributes_parses_and_keeps_them() {
    let doc = WriterMetadata::from_xml(&wmd_with_attributes(200_000)).unwrap();
    let kept = &doc.other_attributes;
    assert!(kept.len() >= 200_000, "{}", kept.len());
    assert!(kept.contains(&("x199999".to_owned(), "199999".to_owned())));
}

#[test]
fn duplicate_attribute_names_are_refused() {
    let text = wmd_with_attributes(3).replace(" x2=\"2\"", " x1=\"2\"");
    let e = WriterMetadata::from_xml(&text).unwrap_err().to_string();
    assert!(e.contains("duplicate attribute `x1`"), "{e}");
}
