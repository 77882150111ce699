//! A small world for exchange tests: the embedded CA on a test database, its CRLs and OCSP
//! served over real HTTP, the engine, organisations with seals and a person who signs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::sync::Arc;

use diesel::prelude::*;
use mubadile_plugin_api::{FormatPlugin, SignTarget};
use mubadile_plugin_cms::CmsPlugin;

use super::Exchange;
use super::directory::{NewOrganisation, OrganisationId, create_organisation};
use super::envelope::DataObject;
use super::requisites::OptionalRequisites;
use super::send::{Outgoing, SenderKind, SendingParty};
use crate::accounts::{Actor, NewUser, Role, Roles, create_user};
use crate::ca::authority::CertificateAuthority;
use crate::ca::keystore::KeyStore;
use crate::ca::lifecycle::{IssueRequest, KeySource};
use crate::ca::profiles::{Enrollment, PersonHolder};
use crate::config::Config;
use crate::crypto::{KeyAlgorithm, Signer};
use crate::signing::{SigningIdentity, sign};
use crate::store::DbPool;
use crate::store::schema::organisations;
use crate::validation::PlatformValidation;

/// Inserts a bare organisation (no seal) for tests of numbering and journals.
pub fn organisation_row(pool: &DbPool, id: &str) -> OrganisationId {
    let mut conn = pool.get().unwrap();
    diesel::insert_into(organisations::table)
        .values((
            organisations::id.eq(id),
            organisations::name.eq(format!("Organisation {id}")),
            organisations::tax_id.eq(format!(
                "{:010}",
                id.len() * 7919 + id.as_bytes()[0] as usize
            )),
            organisations::address.eq("Bakı"),
            organisations::email.eq(format!("{id}@example.gov.az")),
            organisations::created_at.eq(crate::time::to_db(crate::time::now())),
        ))
        .execute(&mut conn)
        .unwrap();
    OrganisationId(id.into())
}

/// The administrator who sets the world up.
pub fn administrator() -> Actor {
    Actor {
        id: "user:admin".into(),
        roles: Roles::new(vec![Role::SystemAdministrator, Role::CertificateOfficer]).unwrap(),
        organisation: None,
    }
}

/// A person of `organisation` with `roles`, as an actor.
pub fn person(
    pool: &DbPool,
    username: &str,
    organisation: &OrganisationId,
    roles: &[Role],
) -> Actor {
    let mut conn = pool.get().unwrap();
    let (user, _) = create_user(
        &mut conn,
        &NewUser {
            username: username.into(),
            display_name: username.into(),
            email: None,
            roles: roles.to_vec(),
            organisation: Some(organisation.clone()),
            department: None,
            fin: None,
        },
    )
    .unwrap();
    user.actor().unwrap()
}

/// The CA, the engine, three organisations and a signer of the first.
pub struct World {
    /// The engine.
    pub exchange: Exchange,
    /// Ministry of Justice: sends.
    pub justice: OrganisationId,
    /// Ministry of Finance: receives.
    pub finance: OrganisationId,
    /// Ministry of Health: neither sends nor receives; must see nothing.
    pub health: OrganisationId,
    /// Head of department at Justice, who signs letters.
    pub aygun: Person,
    /// Head of department at Finance, who signs receipts.
    pub leyla: Person,
    _dir: tempfile::TempDir,
}

/// Someone who signs, with a key the platform keeps for the test.
pub struct Person {
    signer: Arc<dyn Signer>,
    certificate: Vec<u8>,
    chain: Vec<Vec<u8>>,
}

impl Person {
    /// The holder's certificate (DER).
    pub fn certificate(&self) -> &[u8] {
        &self.certificate
    }

    /// A raw signature value over `data`, as the holder's own token would make it.
    pub fn sign_value(&self, data: &[u8]) -> Vec<u8> {
        self.signer.sign(data).unwrap()
    }

    /// A CAdES signature over `content`, attached or detached.
    pub fn sign(&self, content: &[u8], attached: bool) -> Vec<u8> {
        self.sign_as(&CmsPlugin, content, attached)
    }

    /// `pdf` signed as PAdES.
    pub fn sign_pdf(&self, pdf: &[u8]) -> Vec<u8> {
        self.sign_as(&mubadile_plugin_pdf::PdfPlugin, pdf, true)
    }

    fn sign_as(&self, plugin: &dyn FormatPlugin, content: &[u8], attached: bool) -> Vec<u8> {
        sign(
            plugin,
            SignTarget::New {
                content: content.to_vec(),
                attached,
            },
            SigningIdentity {
                signer: self.signer.as_ref(),
                certificate: &self.certificate,
                chain: &self.chain,
            },
            crate::time::now(),
        )
        .unwrap()
    }
}

/// A person of `organisation` (VÖEN `tax_id`) with a signature certificate of `ca`.
fn issue_person(
    ca: &CertificateAuthority,
    given: &str,
    fin: &str,
    organisation: &str,
    tax_id: &str,
) -> Person {
    let admin = administrator();
    let issued = ca
        .issue(
            &admin,
            &IssueRequest {
                ca: None,
                enrollment: Enrollment::PersonSignature(PersonHolder {
                    given_name: given.into(),
                    surname: "Məmmədova".into(),
                    pseudonym: None,
                    fin: fin.into(),
                    organisation: organisation.into(),
                    organisation_id: Some(tax_id.into()),
                    department: None,
                    position: "Şöbə müdiri".into(),
                    email: format!("{}@example.gov.az", fin.to_lowercase()),
                }),
                key: KeySource::Platform {
                    name: format!("person-{}", fin.to_lowercase()),
                    algorithm: KeyAlgorithm::EcdsaP256,
                },
                public_consent: false,
            },
        )
        .unwrap();
    Person {
        signer: ca.platform_key(issued.key_ref.as_deref().unwrap()).unwrap(),
        certificate: issued.certificate,
        chain: issued.chain,
    }
}

impl World {
    /// Sets the world up on `pool`.
    pub fn new(pool: &DbPool) -> World {
        let dir = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Default::default()
        };
        config.server.public_url = format!("http://{}", listener.local_addr().unwrap());
        let keys = KeyStore::open(&config).unwrap();
        let (ca, _) = CertificateAuthority::open(&config, pool.clone(), &keys).unwrap();
        let ca = Arc::new(ca);
        crate::testkit::PkiResponder::start(listener, ca.clone());
        let mut conn = pool.get().unwrap();
        let hierarchy = crate::ca::authority::hierarchy_certificates(&mut conn).unwrap();
        drop(conn);
        let validation = Arc::new(
            PlatformValidation::new(
                &config,
                vec![
                    Arc::new(CmsPlugin),
                    Arc::new(mubadile_plugin_pdf::PdfPlugin),
                    Arc::new(mubadile_plugin_xml::XmlPlugin),
                ],
                &hierarchy,
            )
            .unwrap(),
        );
        let admin = administrator();
        let join = |id: &str, name: &str, tax_id: &str| {
            create_organisation(
                &ca,
                &admin,
                &NewOrganisation {
                    id: id.into(),
                    name: name.into(),
                    tax_id: tax_id.into(),
                    address: "Bakı şəhəri".into(),
                    phone: None,
                    email: format!("info@{id}.gov.az"),
                },
            )
            .unwrap()
            .id
        };
        let justice = join("min-justice", "Ədliyyə Nazirliyi", "1400000001");
        let finance = join("min-finance", "Maliyyə Nazirliyi", "1400000002");
        let health = join("min-health", "Səhiyyə Nazirliyi", "1400000003");
        let aygun = issue_person(&ca, "Aygün", "5ZK7QW2", "Ədliyyə Nazirliyi", "1400000001");
        let leyla = issue_person(&ca, "Leyla", "6AB2CD3", "Maliyyə Nazirliyi", "1400000002");
        World {
            exchange: Exchange::new(pool.clone(), ca, validation),
            justice,
            finance,
            health,
            aygun,
            leyla,
            _dir: dir,
        }
    }

    /// Another person with a signature certificate of this world's CA, of `organisation`
    /// (VÖEN `tax_id`): given name `given`, FIN `fin`.
    pub fn person(&self, given: &str, fin: &str, organisation: &str, tax_id: &str) -> Person {
        issue_person(&self.exchange.ca, given, fin, organisation, tax_id)
    }

    /// The Ministry of Justice's automated system.
    pub fn party(&self) -> SendingParty {
        SendingParty {
            organisation: self.justice.clone(),
            actor: "client:test".into(),
            kind: SenderKind::AutomatedSystem,
        }
    }

    /// A letter from Justice to Finance with `content`, signed.
    pub fn letter(&self, message_id: &str, content: &[u8]) -> Outgoing {
        Outgoing {
            message_id: message_id.into(),
            kind: "letter".into(),
            title: "İllik hesabat haqqında".into(),
            category: None,
            addressees: vec![self.finance.clone()],
            registration_number: None,
            optional: OptionalRequisites {
                executor: Some("Aygün Məmmədova".into()),
                ..Default::default()
            },
            document: DataObject {
                name: "məktub.p7s".into(),
                media_type: "application/pkcs7-mime".into(),
                content: self.aygun.sign(content, true),
            },
            attachments: vec![DataObject {
                name: "hesabat.csv".into(),
                media_type: "text/csv".into(),
                content: b"il,mebleg\n2026,100\n".to_vec(),
            }],
            receipt_term_hours: None,
        }
    }
}
