//! Departments of an organisation: where its people work and documents are routed.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::exchange::OrganisationId;
use crate::store::DbConnection;
use crate::store::schema::departments;
use crate::{Error, Result};

/// A stored department.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = departments)]
pub struct Department {
    /// Identifier.
    pub id: String,
    /// The organisation.
    pub organisation_id: OrganisationId,
    /// Its name, unique within the organisation.
    pub name: String,
    /// When it was created (UTC).
    pub created_at: NaiveDateTime,
}

/// Adds department `name` to `organisation`.
pub fn create_department(
    conn: &mut DbConnection,
    organisation: &OrganisationId,
    name: &str,
) -> Result<Department> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid("department", "give the department a name"));
    }
    crate::exchange::organisation(conn, organisation)?;
    if department(conn, organisation, name).is_ok() {
        return Err(Error::refused(
            "department_exists",
            format!("{organisation} has a department {name:?} already"),
        ));
    }
    let department = Department {
        id: super::users::random_id()?,
        organisation_id: organisation.clone(),
        name: name.to_string(),
        created_at: crate::time::to_db(crate::time::now()),
    };
    diesel::insert_into(departments::table)
        .values(&department)
        .execute(conn)?;
    Ok(department)
}

/// `organisation`'s department called `name`.
pub fn department(
    conn: &mut DbConnection,
    organisation: &OrganisationId,
    name: &str,
) -> Result<Department> {
    departments::table
        .filter(departments::organisation_id.eq(organisation))
        .filter(departments::name.eq(name.trim()))
        .select(Department::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("department", format!("{organisation} {name}")))
}

/// `organisation`'s departments by name.
pub fn list_departments(
    conn: &mut DbConnection,
    organisation: &OrganisationId,
) -> Result<Vec<Department>> {
    Ok(departments::table
        .filter(departments::organisation_id.eq(organisation))
        .order(departments::name.asc())
        .select(Department::as_select())
        .load(conn)?)
}
