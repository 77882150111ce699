//! Trust lists of ETSI TS 119 612: the ministry's *Register of certificate service centres*
//! (ACC 1.2, 2.12) as verifiers read it (GOV 1.3), and the list this platform publishes about
//! its own CA.
//!
//! [`TrustList::parse`] reads a list with the crate's safe reader (no DTD, no entities) and
//! keeps what current trust needs: the sequence number, issue date, next update, and each
//! service's type, current status and digital identities. History (`ServiceHistory`) is not
//! read: only the current status decides. The list's signature is not checked here: it is an
//! ordinary enveloped XAdES signature that the platform's validator judges
//! (`mubadile_core::pki::trust_list`); [`TrustList::parse`] only makes sure that it signs the whole
//! list. [`publish`] writes an unsigned list for the XAdES signer to envelope.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SecondsFormat, Utc};

use crate::{XmlError, parse};
use mubadile_xml_tree::escape_text;
use mubadile_xml_tree::{Document, NodeId};

/// The namespace of TS 119 612 lists.
pub const TSL_NAMESPACE: &str = "http://uri.etsi.org/02231/v2#";
/// The service type of a CA issuing qualified (here: enhanced) certificates.
pub const CA_QC: &str = "http://uri.etsi.org/TrstSvc/Svctype/CA/QC";
/// The service type of a CA issuing other public-key certificates.
pub const CA_PKC: &str = "http://uri.etsi.org/TrstSvc/Svctype/CA/PKC";
/// The status of a service that is currently granted (TS 119 612 v2).
pub const GRANTED: &str = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted";

const XMLDSIG_NAMESPACE: &str = "http://www.w3.org/2000/09/xmldsig#";
const TSL_TAG: &str = "http://uri.etsi.org/19612/TSLTag";
const TSL_TYPE: &str = "http://uri.etsi.org/TrstSvc/TrustedList/TSLType/EUgeneric";

/// Statuses under which a service is trusted now: `granted` and `recognisedatnationallevel` of
/// TS 119 612 v2, and the v1 statuses of accreditation and supervision still found in lists.
/// Everything else (`withdrawn`, `deprecatedatnationallevel`, `accreditationceased`,
/// `accreditationrevoked`, `supervisionceased`, `supervisionrevoked`, …) is not.
const CURRENT_STATUSES: [&str; 6] = [
    GRANTED,
    "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/recognisedatnationallevel",
    "http://uri.etsi.org/TrstSvc/Svcstatus/accredited",
    "http://uri.etsi.org/TrstSvc/Svcstatus/undersupervision",
    "http://uri.etsi.org/TrstSvc/Svcstatus/supervisionincessation",
    "http://uri.etsi.org/TrstSvc/Svcstatus/setbynationallaw",
];

/// What a trust list says, as far as current trust needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustList {
    /// `TSLSequenceNumber`: grows with every new issue of the list.
    pub sequence: u64,
    /// `ListIssueDateTime`.
    pub issued: DateTime<Utc>,
    /// `NextUpdate/dateTime`; `None` for a closed list (the scheme has ended).
    pub next_update: Option<DateTime<Utc>>,
    /// The English (or first) name of the scheme operator.
    pub operator: String,
    /// Every service of every provider, in document order.
    pub services: Vec<TrustService>,
}

/// One `TSPService`, as its current `ServiceInformation` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustService {
    /// The provider's name (`TSPName`).
    pub provider: String,
    /// The service's name (`ServiceName`).
    pub name: String,
    /// `ServiceTypeIdentifier`, e.g. [`CA_QC`].
    pub service_type: String,
    /// `ServiceStatus`, e.g. [`GRANTED`].
    pub status: String,
    /// The DER certificates of `ServiceDigitalIdentity`.
    pub certificates: Vec<Vec<u8>>,
}

impl TrustService {
    /// True for a CA service (CA/QC or CA/PKC) whose current status is granted or accredited.
    pub fn is_trusted_ca(&self) -> bool {
        [CA_QC, CA_PKC].contains(&self.service_type.as_str())
            && CURRENT_STATUSES.contains(&self.status.as_str())
    }
}

impl TrustList {
    /// Reads a TS 119 612 list. Refuses anything that is not one, and a list whose signature
    /// does not cover the whole list (TS 119 612 5.7: an enveloped signature, last child of the
    /// root, whose reference is the whole document).
    pub fn parse(input: &[u8]) -> Result<TrustList, XmlError> {
        let document = parse(input)?;
        let root = document.root();
        if document.local_name(root) != Some("TrustServiceStatusList")
            || document.namespace(root) != Some(TSL_NAMESPACE)
        {
            return Err(invalid(format!(
                "the document element is {:?}, not TrustServiceStatusList in {TSL_NAMESPACE}",
                document.name(root).unwrap_or_default()
            )));
        }
        check_signature_covers_list(&document, root)?;
        let scheme = required(&document, root, "SchemeInformation")?;
        let sequence_text = document.text(required(&document, scheme, "TSLSequenceNumber")?);
        let sequence = sequence_text.trim().parse().map_err(|_| {
            invalid(format!(
                "TSLSequenceNumber {sequence_text:?} is not a whole number"
            ))
        })?;
        let issued = date_time(&document, required(&document, scheme, "ListIssueDateTime")?)?;
        let next_update = match child(&document, scheme, "NextUpdate")
            .and_then(|n| child(&document, n, "dateTime"))
        {
            Some(node) => Some(date_time(&document, node)?),
            None => None,
        };
        let operator = name(&document, child(&document, scheme, "SchemeOperatorName"));
        let mut services = Vec::new();
        for provider in child(&document, root, "TrustServiceProviderList")
            .into_iter()
            .flat_map(|list| children(&document, list, "TrustServiceProvider"))
        {
            let provider_name = name(
                &document,
                child(&document, provider, "TSPInformation")
                    .and_then(|i| child(&document, i, "TSPName")),
            );
            for service in child(&document, provider, "TSPServices")
                .into_iter()
                .flat_map(|s| children(&document, s, "TSPService"))
            {
                services.push(read_service(&document, service, &provider_name)?);
            }
        }
        Ok(TrustList {
            sequence,
            issued,
            next_update,
            operator,
            services,
        })
    }

    /// The certificates of the CA services trusted now: the anchors a verifier that accepts
    /// the list adds (GOV 1.3). Withdrawn services give none, whatever their history.
    pub fn current_anchors(&self) -> Vec<Vec<u8>> {
        let mut anchors: Vec<Vec<u8>> = Vec::new();
        for certificate in self
            .services
            .iter()
            .filter(|s| s.is_trusted_ca())
            .flat_map(|s| s.certificates.iter())
        {
            if !anchors.contains(certificate) {
                anchors.push(certificate.clone());
            }
        }
        anchors
    }
}

/// What a published list carries about its operator and issue.
#[derive(Debug, Clone)]
pub struct Publication<'a> {
    /// The scheme operator and the provider: the platform's CA.
    pub operator: &'a str,
    /// `TSLSequenceNumber`.
    pub sequence: u64,
    /// `ListIssueDateTime`.
    pub issued: DateTime<Utc>,
    /// `NextUpdate`.
    pub next_update: DateTime<Utc>,
    /// The CA certificates (DER), each listed as a CA/QC service with status granted.
    pub certificates: &'a [(String, Vec<u8>)],
}

/// An unsigned TS 119 612 list (`Id="TrustServiceStatusList"`), ready to be signed enveloped
/// by the XAdES signer; each `(name, certificate)` becomes one granted CA/QC service.
pub fn publish(publication: &Publication<'_>) -> Vec<u8> {
    let operator = escape_text(publication.operator);
    let issued = publication
        .issued
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut services = String::new();
    for (name, der) in publication.certificates {
        services.push_str(&format!(
            "<tsl:TSPService><tsl:ServiceInformation>\
             <tsl:ServiceTypeIdentifier>{CA_QC}</tsl:ServiceTypeIdentifier>\
             <tsl:ServiceName><tsl:Name xml:lang=\"en\">{}</tsl:Name></tsl:ServiceName>\
             <tsl:ServiceDigitalIdentity><tsl:DigitalId><tsl:X509Certificate>{}</tsl:X509Certificate></tsl:DigitalId></tsl:ServiceDigitalIdentity>\
             <tsl:ServiceStatus>{GRANTED}</tsl:ServiceStatus>\
             <tsl:StatusStartingTime>{issued}</tsl:StatusStartingTime>\
             </tsl:ServiceInformation></tsl:TSPService>",
            escape_text(name),
            STANDARD.encode(der),
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <tsl:TrustServiceStatusList xmlns:tsl=\"{TSL_NAMESPACE}\" Id=\"TrustServiceStatusList\" TSLTag=\"{TSL_TAG}\">\
         <tsl:SchemeInformation>\
         <tsl:TSLVersionIdentifier>5</tsl:TSLVersionIdentifier>\
         <tsl:TSLSequenceNumber>{}</tsl:TSLSequenceNumber>\
         <tsl:TSLType>{TSL_TYPE}</tsl:TSLType>\
         <tsl:SchemeOperatorName><tsl:Name xml:lang=\"en\">{operator}</tsl:Name></tsl:SchemeOperatorName>\
         <tsl:ListIssueDateTime>{issued}</tsl:ListIssueDateTime>\
         <tsl:NextUpdate><tsl:dateTime>{}</tsl:dateTime></tsl:NextUpdate>\
         </tsl:SchemeInformation>\
         <tsl:TrustServiceProviderList><tsl:TrustServiceProvider>\
         <tsl:TSPInformation><tsl:TSPName><tsl:Name xml:lang=\"en\">{operator}</tsl:Name></tsl:TSPName></tsl:TSPInformation>\
         <tsl:TSPServices>{services}</tsl:TSPServices>\
         </tsl:TrustServiceProvider></tsl:TrustServiceProviderList>\
         </tsl:TrustServiceStatusList>\n",
        publication.sequence,
        publication
            .next_update
            .to_rfc3339_opts(SecondsFormat::Secs, true),
    )
    .into_bytes()
}

fn read_service(
    document: &Document<'_>,
    service: NodeId,
    provider: &str,
) -> Result<TrustService, XmlError> {
    // Only the current ServiceInformation: ServiceHistory is a sibling and never read.
    let information = required(document, service, "ServiceInformation")?;
    let mut certificates = Vec::new();
    for digital_id in child(document, information, "ServiceDigitalIdentity")
        .into_iter()
        .flat_map(|i| children(document, i, "DigitalId"))
    {
        for node in children(document, digital_id, "X509Certificate") {
            let text: String = document
                .text(node)
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            certificates.push(STANDARD.decode(text).map_err(|e| {
                invalid(format!(
                    "an X509Certificate of provider {provider:?} is not base64: {e}"
                ))
            })?);
        }
    }
    Ok(TrustService {
        provider: provider.to_owned(),
        name: name(document, child(document, information, "ServiceName")),
        service_type: document
            .text(required(document, information, "ServiceTypeIdentifier")?)
            .trim()
            .to_owned(),
        status: document
            .text(required(document, information, "ServiceStatus")?)
            .trim()
            .to_owned(),
        certificates,
    })
}

/// TS 119 612 5.7.1: one `ds:Signature`, the root's last child, whose data reference is
/// `URI=""` or the root's own Id; otherwise parts of the list could change unnoticed.
fn check_signature_covers_list(document: &Document<'_>, root: NodeId) -> Result<(), XmlError> {
    let signatures: Vec<NodeId> = document
        .descendants(root)
        .filter(|&n| is(document, n, XMLDSIG_NAMESPACE, "Signature"))
        .collect();
    let last = document.child_elements(root).last();
    let [signature] = signatures.as_slice() else {
        return Err(invalid(format!(
            "it carries {} XML signatures; a trust list carries exactly one, enveloped",
            signatures.len()
        )));
    };
    if last != Some(*signature) {
        return Err(invalid(
            "its signature is not the last child of TrustServiceStatusList (TS 119 612 5.7.1)",
        ));
    }
    let root_id = document.attribute(root, "", "Id");
    let covers = document
        .descendants(*signature)
        .filter(|&n| is(document, n, XMLDSIG_NAMESPACE, "Reference"))
        .filter_map(|n| document.attribute(n, "", "URI"))
        .any(|uri| {
            uri.is_empty()
                || root_id
                    .as_deref()
                    .is_some_and(|id| uri.strip_prefix('#') == Some(id))
        });
    if covers {
        Ok(())
    } else {
        Err(invalid(
            "its signature does not reference the whole list (URI=\"\" or the root's Id)",
        ))
    }
}

fn is(document: &Document<'_>, node: NodeId, namespace: &str, local: &str) -> bool {
    document.local_name(node) == Some(local) && document.namespace(node) == Some(namespace)
}

fn children<'d>(
    document: &'d Document<'_>,
    node: NodeId,
    local: &'static str,
) -> impl Iterator<Item = NodeId> + 'd {
    document
        .child_elements(node)
        .filter(move |&n| is(document, n, TSL_NAMESPACE, local))
}

fn child(document: &Document<'_>, node: NodeId, local: &'static str) -> Option<NodeId> {
    children(document, node, local).next()
}

fn required(
    document: &Document<'_>,
    node: NodeId,
    local: &'static str,
) -> Result<NodeId, XmlError> {
    child(document, node, local).ok_or_else(|| {
        invalid(format!(
            "{} has no {local} element",
            document.local_name(node).unwrap_or_default()
        ))
    })
}

/// The English name among a multilingual name's `Name` elements, else the first.
fn name(document: &Document<'_>, names: Option<NodeId>) -> String {
    let all: Vec<NodeId> = names
        .into_iter()
        .flat_map(|n| children(document, n, "Name"))
        .collect();
    all.iter()
        .find(|&&n| {
            document
                .attribute(n, crate::XML_NAMESPACE, "lang")
                .is_some_and(|l| l == "en")
        })
        .or(all.first())
        .map(|&n| document.text(n).trim().to_owned())
        .unwrap_or_default()
}

fn date_time(document: &Document<'_>, node: NodeId) -> Result<DateTime<Utc>, XmlError> {
    let text = document.text(node);
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            invalid(format!(
                "{} {text:?} is not an xsd:dateTime with a time zone: {e}",
                document.local_name(node).unwrap_or_default()
            ))
        })
}

fn invalid(message: impl Into<String>) -> XmlError {
    XmlError::TrustList(message.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNATURE: &str = "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo><ds:Reference URI=\"\"/></ds:SignedInfo></ds:Signature>";

    fn service(status: &str, der: &[u8], history: &str) -> String {
        format!(
            "<tsl:TSPService><tsl:ServiceInformation>\
             <tsl:ServiceTypeIdentifier>{CA_QC}</tsl:ServiceTypeIdentifier>\
             <tsl:ServiceName><tsl:Name xml:lang=\"az\">Xidmət</tsl:Name><tsl:Name xml:lang=\"en\">Service</tsl:Name></tsl:ServiceName>\
             <tsl:ServiceDigitalIdentity><tsl:DigitalId><tsl:X509Certificate>{}</tsl:X509Certificate></tsl:DigitalId></tsl:ServiceDigitalIdentity>\
             <tsl:ServiceStatus>{status}</tsl:ServiceStatus></tsl:ServiceInformation>{history}</tsl:TSPService>",
            STANDARD.encode(der)
        )
    }

    fn list(services: &str, signature: &str) -> Vec<u8> {
        let unsigned = String::from_utf8(publish(&Publication {
            operator: "Nazirlik & Co",
            sequence: 7,
            issued: DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default(),
            next_update: DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
            certificates: &[],
        }))
        .unwrap();
        unsigned
            .replace(
                "<tsl:TSPServices></tsl:TSPServices>",
                &format!("<tsl:TSPServices>{services}</tsl:TSPServices>"),
            )
            .replace(
                "</tsl:TrustServiceStatusList>",
                &format!("{signature}</tsl:TrustServiceStatusList>"),
            )
            .into_bytes()
    }

    #[test]
    fn acc_1_2_granted_and_accredited_cas_are_anchors_withdrawn_ones_are_not() {
        let withdrawn = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/withdrawn";
        // The withdrawn service was granted once: its history must not bring it back.
        let history = format!(
            "<tsl:ServiceHistory><tsl:ServiceHistoryInstance><tsl:ServiceStatus>{GRANTED}</tsl:ServiceStatus></tsl:ServiceHistoryInstance></tsl:ServiceHistory>"
        );
        let services = [
            service(GRANTED, b"granted", ""),
            service(
                "http://uri.etsi.org/TrstSvc/Svcstatus/accredited",
                b"v1",
                "",
            ),
            service(withdrawn, b"withdrawn", &history),
        ]
        .concat();
        let parsed = TrustList::parse(&list(&services, SIGNATURE)).unwrap();
        assert_eq!(parsed.sequence, 7);
        assert_eq!(parsed.operator, "Nazirlik & Co");
        assert_eq!(parsed.services.len(), 3);
        assert_eq!(parsed.services[0].name, "Service");
        assert_eq!(
            parsed.next_update,
            DateTime::from_timestamp(1_800_000_000, 0)
        );
        assert_eq!(
            parsed.current_anchors(),
            vec![b"granted".to_vec(), b"v1".to_vec()]
        );
    }

    #[test]
    fn a_list_whose_signature_covers_only_a_part_is_refused() {
        let partial = SIGNATURE.replace("URI=\"\"", "URI=\"#SchemeInformation\"");
        let err = TrustList::parse(&list("", &partial)).unwrap_err();
        assert!(err.to_string().contains("whole list"), "{err}");
        let err = TrustList::parse(&list("", "")).unwrap_err();
        assert!(err.to_string().contains("0 XML signatures"), "{err}");
    }

    #[test]
    fn other_documents_and_bad_numbers_are_refused_with_what_is_wrong() {
        let err = TrustList::parse(b"<a/>").unwrap_err();
        assert!(err.to_string().contains("TrustServiceStatusList"), "{err}");
        let bad = String::from_utf8(list("", SIGNATURE))
            .unwrap()
            .replace(">7<", ">seven<");
        let err = TrustList::parse(bad.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("\"seven\""), "{err}");
    }
}
