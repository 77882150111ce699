//! The web UI over plain HTTP, as a browser without JavaScript drives it: signing in with the
//! sign-in form's CSRF token, then the session cookie and the session's CSRF token on every
//! form. The cookies are `Secure`, so they are sent by hand rather than by a cookie jar.

use super::Server;

/// An HTTP client that shows redirects instead of following them.
pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().redirects(0).build()
}

/// Signs in through the UI of `server`; returns the session cookie's value.
pub fn sign_in(server: &Server, user: &str, password: &str) -> String {
    let page = agent().get(&server.url("/ui/sign-in")).call().unwrap();
    let anonymous = cookie(&page, "mbd_csrf");
    let csrf = hidden_csrf(&page.into_string().unwrap());
    let answer = agent()
        .post(&server.url("/ui/sign-in"))
        .set("Cookie", &format!("mbd_csrf={anonymous}"))
        .send_form(&[("csrf", &csrf), ("username", user), ("password", password)])
        .unwrap();
    assert_eq!(answer.status(), 303);
    // People of an organisation start at the inbox, CA officers at the CA's pages.
    let start = answer.header("Location").unwrap_or_default();
    assert!(
        ["/ui/inbox", "/ui/ca"].contains(&start),
        "{user} sent to {start}"
    );
    cookie(&answer, "mbd_session")
}

/// GET a UI page with the session cookie; status and body.
pub fn ui_get(server: &Server, path: &str, session: &str) -> (u16, String) {
    let answer = agent()
        .get(&server.url(path))
        .set("Cookie", &format!("mbd_session={session}"))
        .call()
        .unwrap();
    (answer.status(), answer.into_string().unwrap())
}

/// The value of the cookie `name` that `response` sets.
pub fn cookie(response: &ureq::Response, name: &str) -> String {
    response
        .all("Set-Cookie")
        .into_iter()
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie"))
        .to_string()
}

/// The CSRF token a page's forms carry.
pub fn hidden_csrf(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no CSRF token in {page}"))
        .to_string()
}

/// A `multipart/form-data` body of text fields, as a browser sends a form with files left
/// empty; returns its content type and bytes.
pub fn multipart(fields: &[(&str, &str)]) -> (String, Vec<u8>) {
    let boundary = "mubadile-form-boundary-7MA4YWxkTrZu0gW";
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}
