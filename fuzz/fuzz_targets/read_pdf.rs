//! Any bytes given to the PDF plugin as a signed PDF: a clear error or evidence, never a panic
//! (issue 5: damaged PDFs give a clear error). Prefixing `%PDF-` takes the fuzzer past the header
//! check and into lopdf's parser, the /ByteRange checks and the revision classification; preparing
//! a signature over the same bytes goes through the update's own reader of the cross-reference
//! data and the objects it touches (`sparse`), which the certificate left empty stops after.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mubadile_plugin_api::{FormatPlugin, SignRequest, SignTarget};
use mubadile_plugin_pdf::PdfPlugin;

fuzz_target!(|data: &[u8]| {
    let _ = PdfPlugin.sniff(data);
    let _ = PdfPlugin.signatures(data, None);
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.extend_from_slice(data);
    let _ = PdfPlugin.signatures(&pdf, None);
    let request = SignRequest {
        target: SignTarget::New {
            content: pdf,
            attached: true,
        },
        signer_certificate: Vec::new(),
        chain: Vec::new(),
        signature_algorithm: Vec::new(),
        digest_algorithm: "2.16.840.1.101.3.4.2.1".into(),
        signing_time: 0,
        appearance: None,
        certify: None,
        field: None,
    };
    let _ = PdfPlugin.prepare(&request);
});
