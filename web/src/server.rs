//! `mubadile serve`: opens storage (creating and migrating it on first start), initialises the CA
//! hierarchy, prints a first administrator's one-time credentials once, starts the scheduled jobs
//! and serves HTTP.

use std::sync::Arc;

use actix_web::{App, HttpServer, middleware, web};
use anyhow::Context;
use mubadile_core::accounts::bootstrap_administrator;
use mubadile_core::accounts::second_factor::SecondFactorKey;
use mubadile_core::ca::authority::CertificateAuthority;
use mubadile_core::ca::keystore::KeyStore;
use mubadile_core::config::Config;
use mubadile_core::exchange::Exchange;
use mubadile_core::store::{open_pool, with_first_start_lock};

use crate::state::AppState;

/// Opens everything a command needs: storage and the CA.
pub fn open(
    config: &Config,
) -> anyhow::Result<(
    mubadile_core::store::DbPool,
    Arc<CertificateAuthority>,
    bool,
)> {
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;
    let pool = open_pool(&config.database_url(), config.storage.max_connections)?;
    // Nodes starting together on an empty database: one creates the hierarchy (and the key
    // store's passphrase file), the others wait and load it.
    let (ca, created) = with_first_start_lock(&pool, || {
        let keys = KeyStore::open(config)?;
        CertificateAuthority::open(config, pool.clone(), &keys)
    })?;
    Ok((pool, Arc::new(ca), created))
}

/// The largest JSON body accepted: documents travel base64-encoded inside JSON.
pub const JSON_LIMIT: usize = 64 << 20;

/// Runs the server until it is stopped.
pub fn serve(config: Config) -> anyhow::Result<()> {
    let (pool, ca, created) = open(&config)?;
    if created {
        tracing::info!("certificate authority hierarchy initialised");
    }
    let first_administrator = with_first_start_lock(&pool, || {
        let mut conn = pool.get()?;
        bootstrap_administrator(&mut conn)
    })?;
    if let Some((admin, password)) = first_administrator {
        // Printed once, never stored in clear: the hash alone is kept.
        println!(
            "First administrator created. Sign in once with these credentials and change the password:"
        );
        println!("  user:     {}", admin.username);
        println!("  password: {password}");
    }
    let listen = config.server.listen.clone();
    let listen_tls = config.server.tls_listen.clone();
    let hierarchy: Vec<Vec<u8>> = std::iter::once(&ca.root().der)
        .chain(ca.issuing().iter().map(|c| &c.der))
        .cloned()
        .collect();
    let validation = Arc::new(crate::plugins::platform_validation(&config, &hierarchy)?);
    let exchange = Arc::new(Exchange::new(pool.clone(), ca.clone(), validation.clone()));
    let node_certificate = match &config.server.tls_listen {
        Some(_) => Some(Arc::new(crate::tls::NodeCertificate::new(
            ca.clone(),
            config.server.tls_names.clone(),
        )?)),
        None => None,
    };
    let second_factor_key = Arc::new(with_first_start_lock(&pool, || {
        SecondFactorKey::open(&config)
    })?);
    let state = web::Data::new(AppState {
        config,
        pool,
        ca,
        validation,
        exchange,
        deliveries: Arc::new(tokio::sync::Notify::new()),
        second_factor_key,
        node_certificate,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let _scheduler = crate::jobs::start(state.clone().into_inner()).await?;
        crate::delivery::spawn(state.clone().into_inner());
        let tls = match (&listen_tls, &state.node_certificate) {
            (Some(address), Some(certificate)) => {
                let clients = Arc::new(crate::tls::ClientRoots::new(
                    &state.ca,
                    crate::federation::peer_roots(&state)?,
                )?);
                crate::federation::spawn_peer_reader(state.clone().into_inner(), clients.clone());
                Some((
                    address.clone(),
                    crate::tls::server_config(certificate.clone(), clients)?,
                ))
            }
            _ => None,
        };
        crate::federation::spawn_worker(state.clone().into_inner());
        let counters = web::Data::new(crate::observability::RequestCounters::default());
        let server =
            HttpServer::new(move || {
                App::new()
                    .app_data(state.clone())
                    .app_data(web::PayloadConfig::new(JSON_LIMIT))
                    .app_data(web::JsonConfig::default().limit(JSON_LIMIT).error_handler(
                        |err, _| {
                            crate::problem::Problem(mubadile_core::Error::invalid("JSON body", err))
                                .into()
                        },
                    ))
                    .wrap(middleware::Logger::new("%a \"%r\" %s %b %Dms"))
                    .app_data(counters.clone())
                    .wrap(middleware::from_fn(crate::observability::count_requests))
                    .configure(crate::observability::routes)
                    .configure(crate::pki::routes)
                    .configure(crate::api::routes)
                    .configure(crate::federation::routes)
                    .configure(crate::ui::routes)
            })
            .on_connect(crate::tls::keep_client_certificate)
            .bind(&listen)
            .with_context(|| format!("cannot listen on {listen}"))?;
        tracing::info!(%listen, "serving");
        println!("Mübadilə listening on http://{listen}");
        let server = match tls {
            Some((address, config)) => {
                let server = server
                    .bind_rustls_0_23(&address, config)
                    .with_context(|| format!("cannot listen on {address}"))?;
                tracing::info!(%address, "serving TLS");
                println!("Mübadilə listening on https://{address}");
                server
            }
            None => server,
        };
        server.run().await?;
        anyhow::Ok(())
    })
}
