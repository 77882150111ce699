//! Any bytes given to the PDF plugin as a signed PDF: a clear error or evidence, never a panic
//! (issue 5: damaged PDFs give a clear error). Prefixing `%PDF-` takes the fuzzer past the header
//! check and into lopdf's parser, the /ByteRange checks and the revision classification.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mubadile_plugin_api::FormatPlugin;
use mubadile_plugin_pdf::PdfPlugin;

fuzz_target!(|data: &[u8]| {
    let _ = PdfPlugin.sniff(data);
    let _ = PdfPlugin.signatures(data, None);
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.extend_from_slice(data);
    let _ = PdfPlugin.signatures(&pdf, None);
});
