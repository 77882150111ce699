//! People and systems that act on the platform: users, their roles, and how they prove who they
//! are.

mod api_clients;
mod departments;
mod roles;
pub mod second_factor;
mod sessions;
mod users;

pub use api_clients::{
    ApiClient, ClientKind, TOKEN_PREFIX, authenticate_client, authenticate_client_certificate,
    bind_client_certificate, create_client, revoke_client,
};
pub use departments::{Department, create_department, department, list_departments};
pub use roles::{Actor, Role, Roles};
pub use sessions::{
    ABSOLUTE_TIMEOUT_HOURS, FAILURES_PER_ACCOUNT, FAILURES_PER_ADDRESS, IDLE_TIMEOUT_MINUTES,
    Session, THROTTLE_WINDOW_MINUTES, clear_ended, close_every_session, close_session, language,
    open_session, session, set_language, sign_in,
};
pub use users::{
    NewUser, User, UserId, authenticate, bootstrap_administrator, change_password, create_user,
    find_user, list_users, set_fin,
};
