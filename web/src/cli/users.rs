//! `mubadile users …`.

use anyhow::Context;
use clap::Subcommand;
use mubadile_core::accounts::{NewUser, Role, change_password, create_user, list_users, set_fin};
use mubadile_core::config::Config;
use mubadile_core::exchange::OrganisationId;
use mubadile_core::store::open_pool;

use super::Officer;

#[derive(Subcommand)]
pub enum UsersCommand {
    /// Create a user; prints a one-time password (CSP 13.3 separation is enforced).
    Add {
        #[command(flatten)]
        officer: Officer,
        /// Sign-in name.
        username: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// E-mail address.
        #[arg(long)]
        email: Option<String>,
        /// Roles: registration_officer, certificate_officer, security_officer,
        /// system_administrator (the platform's); clerk, signer, registrar, archivist,
        /// organisation_administrator (held within --organisation).
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// The organisation the user works for (required for the exchange roles).
        #[arg(long)]
        organisation: Option<String>,
        /// The department within it (create it with `mubadile org department`).
        #[arg(long)]
        department: Option<String>,
        /// The person's FIN, as the ID card prints it (GOV 3.2): as a signer they sign drafts
        /// only with certificates issued to it.
        #[arg(long)]
        fin: Option<String>,
    },
    /// Record a person's FIN (GOV 3.2), binding them to the signature certificates issued to
    /// it; `--clear` removes it.
    Fin {
        #[command(flatten)]
        officer: Officer,
        /// Sign-in name.
        username: String,
        /// The FIN: 7 capital Latin letters and digits.
        #[arg(required_unless_present = "clear")]
        fin: Option<String>,
        /// Remove the recorded FIN.
        #[arg(long, conflicts_with = "fin")]
        clear: bool,
    },
    /// Replace your password (the one-time password first): the current one is read from
    /// MUBADILE_PASSWORD, the new one (at least 12 characters) from MUBADILE_NEW_PASSWORD.
    Passwd {
        /// Your user name.
        #[arg(long, env = "MUBADILE_USER")]
        user: String,
    },
    /// List users and their roles.
    List {
        #[command(flatten)]
        officer: Officer,
    },
}

pub fn run(config: Config, command: UsersCommand) -> anyhow::Result<()> {
    let pool = open_pool(&config.database_url(), 2)?;
    match command {
        UsersCommand::Add {
            officer,
            username,
            name,
            email,
            roles,
            organisation,
            department,
            fin,
        } => {
            officer
                .actor(&pool)?
                .require(&[Role::SystemAdministrator])?;
            let roles = roles
                .iter()
                .map(|r| r.parse())
                .collect::<Result<Vec<Role>, _>>()?;
            let mut conn = pool.get()?;
            let (user, password) = create_user(
                &mut conn,
                &NewUser {
                    username,
                    display_name: name,
                    email,
                    roles,
                    organisation: organisation
                        .as_deref()
                        .map(OrganisationId::parse)
                        .transpose()?,
                    department,
                    fin,
                },
            )?;
            println!("created {} ({})", user.username, user.roles);
            println!("one-time password: {password}");
        }
        UsersCommand::Fin {
            officer,
            username,
            fin,
            clear: _,
        } => {
            officer
                .actor(&pool)?
                .require(&[Role::SystemAdministrator])?;
            let user = set_fin(&mut *pool.get()?, &username, fin.as_deref())?;
            match user.fin {
                Some(fin) => println!("FIN of {username} recorded: {fin}"),
                None => println!("FIN of {username} removed"),
            }
        }
        UsersCommand::Passwd { user } => {
            let current = std::env::var("MUBADILE_PASSWORD")
                .context("set MUBADILE_PASSWORD to your current password")?;
            let new = std::env::var("MUBADILE_NEW_PASSWORD")
                .context("set MUBADILE_NEW_PASSWORD to the new password")?;
            let mut conn = pool.get()?;
            change_password(&mut conn, &user, &current, &new)?;
            println!("password of {user} changed");
        }
        UsersCommand::List { officer } => {
            officer
                .actor(&pool)?
                .require(&[Role::SystemAdministrator, Role::SecurityOfficer])?;
            let mut conn = pool.get()?;
            for user in list_users(&mut conn)? {
                println!(
                    "{}\t{}\t{}\t{}",
                    user.username,
                    user.display_name,
                    user.roles,
                    user.fin.as_deref().unwrap_or("-")
                );
            }
        }
    }
    Ok(())
}
