//! The embedded certificate authority (CSP, GOV, SVC in RULES.md).
